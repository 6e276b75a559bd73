#pragma once
// Top: owns every module of the accelerator, built from one resolved SimConfig, and binds their sockets.
// Member names equal SystemC names, so stats keys, VCD scopes and log lines agree ("accel.pe_array").
#include <exception>
#include <functional>
#include <memory>

#include <systemc>

#include "modules/buffer/buffer.h"
#include "modules/common/clock.h"
#include "modules/control/controller.h"
#include "modules/dma/dma.h"
#include "modules/hp/hp_datapath.h"
#include "modules/memory/memory_device.h"
#include "modules/pe_array/pe_array.h"
#include "modules/sfu/sfu.h"
#include "modules/sfu/topk_unit.h"
#include "sim/config.h"
#include "workloads/mapper.h"

namespace tacsim::sim {

// The engine Top builds from cfg, as a mapper sees it.
workloads::EngineShape engine_shape(const SimConfig& cfg);

class Top : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Top);
  Top(const sc_core::sc_module_name& name, const SimConfig& cfg);

  ClockDomain clock;
  // The SystemC object "memory": a dram::Dram or a memory::FixedLatencyMemory, as memory.model says.
  std::unique_ptr<sc_core::sc_module> memory_module;
  memory::MemoryDevice& memory;
  dma::Dma dma;
  buffer::Buffer act_buffer;
  buffer::Buffer weight_buffer;
  buffer::Buffer out_buffer;
  pe_array::PeArray pe_array;
  hp::HpDatapath hp_datapath;
  sfu::Sfu sfu;
  sfu::TopkUnit topk_unit;
  control::Controller controller;
  // The values of blocks kept on chip (STA's attention scores and probabilities), addressed like memory.
  BackingStore on_chip_store;

  // Values through the datapaths (PE array, HP datapath, SFU); timing does not depend on them.
  void set_compute_values(bool on);

  // What runs once the simulation starts (programs for the controller, SFU operations), in a thread of its
  // own; the simulation stops when it returns. Set before sc_start().
  void set_driver(std::function<void()> driver) { driver_ = std::move(driver); }
  // After sc_start(): rethrows what the driver threw (an InputError for a GEMM that cannot be mapped, say),
  // which stopped the simulation.
  void rethrow_driver_error() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void driver_thread();
  std::function<void()> driver_;
  std::exception_ptr error_;
};

}  // namespace tacsim::sim
