#include "sim/top.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <sysc/kernel/sc_spawn.h>

#include "modules/dram/address_map.h"
#include "modules/dram/dram.h"
#include "modules/memory/fixed_latency_memory.h"

namespace tacsim::sim {

namespace {
std::unique_ptr<sc_core::sc_module> make_memory(const SimConfig& cfg) {
  if (cfg.memory.model == "dram") return std::make_unique<dram::Dram>("memory", cfg.dram);
  return std::make_unique<memory::FixedLatencyMemory>("memory", cfg.fixed_memory);
}
}  // namespace

workloads::EngineShape engine_shape(const SimConfig& cfg, const engine::Params& e) {
  workloads::EngineShape s;
  s.pe_array = e.pe_array;
  s.act_half_bytes = e.act_buffer.half_bytes();
  s.weight_half_bytes = e.weight_buffer.half_bytes();
  s.out_half_bytes = e.out_buffer.half_bytes();
  s.hp_datapath = e.hp_datapath;
  s.tilings = workloads::TilingPolicy::parse(e.pe_array_mapper, "pe_array.mapper");
  // The whole shared memory, as one engine alone would see it.
  const double accel_hz = cfg.accel.clock_mhz * 1e6;
  s.memory = {};
  s.memory.bytes_per_cycle = cfg.memory_sustained_bytes_per_s() / accel_hz;
  s.memory.latency_cycles = static_cast<Cycle>(std::ceil(cfg.memory_read_latency_ns() * 1e-9 * accel_hz));
  s.memory.write_latency_cycles =
      static_cast<Cycle>(std::ceil(cfg.memory_write_latency_ns() * 1e-9 * accel_hz));
  s.memory.burst_bytes = cfg.memory.model == "dram" ? cfg.dram.burst_bytes() : 1;
  if (cfg.memory.model == "dram") {
    const dram::Params& d = cfg.dram;
    s.memory.channels = d.channels;
    s.memory.act_cycles =
        std::max(double(d.tRRD_S_cycles), double(d.tFAW_cycles) / 4) * (cfg.accel.clock_mhz / d.clock_mhz);
    auto map = std::make_shared<const dram::AddressMap>(d);
    s.memory.locate = [map, d](std::uint64_t a) {
      const dram::Location l = map->decode(a % map->capacity_bytes());
      const std::uint64_t bank =
          (std::uint64_t{l.rank} * d.bankgroups + l.bankgroup) * d.banks_per_group + l.bank;
      return std::make_pair(l.channel, bank * d.rows + l.row);
    };
    // The first address whose channel or DRAM row differs from address 0's bounds the granule (the maps are
    // bit fields).
    std::uint64_t g = s.memory.burst_bytes;
    while (g < map->capacity_bytes() && s.memory.locate(g) == s.memory.locate(0)) g *= 2;
    s.memory.granule_bytes = g;
  }
  return s;
}

Top::Top(const sc_core::sc_module_name& name, const SimConfig& cfg)
    : sc_module(name),
      clock(cfg.accel.clock_mhz),
      memory_module(make_memory(cfg)),
      memory(dynamic_cast<memory::MemoryDevice&>(*memory_module)),
      interconnect("interconnect", cfg.interconnect, clock, cfg.engines.size()) {
  for (std::size_t i = 0; i < cfg.engines.size(); ++i) {
    engines.push_back(std::make_unique<engine::Engine>(("engine" + std::to_string(i)).c_str(), cfg.engines[i],
                                                       clock, memory.store().capacity()));
    engines.back()->dma.initiator_socket.bind(interconnect.target_socket);
  }
  interconnect.initiator_socket.bind(memory.target());
  for (std::size_t i = 0; i < engines.size(); ++i) {
    sc_core::sc_spawn_options o;
    sc_core::sc_spawn([this, i] { driver_thread(i); }, ("driver" + std::to_string(i)).c_str(), &o);
  }
  drivers_running_ = engines.size();
}

void Top::set_compute_values(bool on) {
  for (auto& e : engines) e->set_compute_values(on);
}

void Top::driver_thread(std::size_t engine) {
  try {
    if (driver_ && !error_) driver_(engine);
  } catch (...) {
    // The first error stops the simulation; the other drivers never run again.
    if (!error_) {
      error_ = std::current_exception();
      sc_core::sc_stop();
    }
    return;
  }
  if (--drivers_running_ == 0 && !error_) sc_core::sc_stop();
}

}  // namespace tacsim::sim
