#include "sim/top.h"

#include <cmath>

#include "modules/dram/dram.h"
#include "modules/memory/fixed_latency_memory.h"

namespace tacsim::sim {

namespace {
std::unique_ptr<sc_core::sc_module> make_memory(const SimConfig& cfg) {
  if (cfg.memory.model == "dram") return std::make_unique<dram::Dram>("memory", cfg.dram);
  return std::make_unique<memory::FixedLatencyMemory>("memory", cfg.fixed_memory);
}
}  // namespace

workloads::EngineShape engine_shape(const SimConfig& cfg) {
  workloads::EngineShape e;
  e.pe_array = cfg.pe_array;
  e.act_half_bytes = cfg.act_buffer.half_bytes();
  e.weight_half_bytes = cfg.weight_buffer.half_bytes();
  e.out_half_bytes = cfg.out_buffer.half_bytes();
  e.hp_datapath = cfg.hp_datapath;
  e.tilings = workloads::TilingPolicy::parse(cfg.pe_array_mapper, "pe_array.mapper");
  const double accel_hz = cfg.accel.clock_mhz * 1e6;
  e.memory = {cfg.memory_sustained_bytes_per_s() / accel_hz,
              static_cast<Cycle>(std::ceil(cfg.memory_read_latency_ns() * 1e-9 * accel_hz)),
              static_cast<Cycle>(std::ceil(cfg.memory_write_latency_ns() * 1e-9 * accel_hz)),
              cfg.memory.model == "dram" ? cfg.dram.burst_bytes() : 1};
  return e;
}

Top::Top(const sc_core::sc_module_name& name, const SimConfig& cfg)
    : sc_module(name),
      clock(cfg.accel.clock_mhz),
      memory_module(make_memory(cfg)),
      memory(dynamic_cast<memory::MemoryDevice&>(*memory_module)),
      dma("dma", cfg.dma, clock),
      act_buffer("act_buffer", cfg.act_buffer, clock),
      weight_buffer("weight_buffer", cfg.weight_buffer, clock),
      out_buffer("out_buffer", cfg.out_buffer, clock),
      pe_array("pe_array", cfg.pe_array, clock, act_buffer, weight_buffer, out_buffer),
      hp_datapath("hp_datapath", cfg.hp_datapath, clock, act_buffer, weight_buffer, out_buffer),
      sfu("sfu", cfg.sfu, clock, dma),
      topk_unit("topk_unit", cfg.topk_unit, clock, dma),
      controller("controller", clock, dma, act_buffer, weight_buffer, out_buffer, pe_array, hp_datapath),
      on_chip_store(memory.store().capacity()) {
  dma.initiator_socket.bind(memory.target());
  controller.set_on_chip_store(&on_chip_store);
  sfu.set_on_chip_store(&on_chip_store);
  topk_unit.set_on_chip_store(&on_chip_store);
  SC_THREAD(driver_thread);
}

void Top::set_compute_values(bool on) {
  pe_array.set_compute_values(on);
  hp_datapath.set_compute_values(on);
  sfu.set_compute_values(on);
  topk_unit.set_compute_values(on);
}

void Top::driver_thread() {
  try {
    if (driver_) driver_();
  } catch (...) {
    error_ = std::current_exception();
  }
  sc_core::sc_stop();
}

}  // namespace tacsim::sim
