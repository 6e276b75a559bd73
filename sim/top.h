#pragma once
// Top: the accelerator, built from one resolved SimConfig: `accel.engines` engines (engine::Engine, named
// engine0, engine1, ...), the shared memory and the interconnect between them, each engine's DMA bound to one
// of the interconnect's target bindings. Member names equal SystemC names, so stats keys, VCD scopes and log
// lines agree ("accel.engine0.pe_array", "accel.memory", "accel.interconnect").
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <vector>

#include <systemc>

#include "modules/common/clock.h"
#include "modules/engine/engine.h"
#include "modules/interconnect/interconnect.h"
#include "modules/memory/memory_device.h"
#include "sim/config.h"
#include "workloads/mapper.h"

namespace tacsim::sim {

// Engine e of those Top builds from cfg, as a mapper sees it.
workloads::EngineShape engine_shape(const SimConfig& cfg, const engine::Params& e);

class Top : public sc_core::sc_module {
 public:
  Top(const sc_core::sc_module_name& name, const SimConfig& cfg);

  ClockDomain clock;
  // The SystemC object "memory": a dram::Dram or a memory::FixedLatencyMemory, as memory.model says.
  std::unique_ptr<sc_core::sc_module> memory_module;
  memory::MemoryDevice& memory;
  interconnect::Interconnect interconnect;
  std::vector<std::unique_ptr<engine::Engine>> engines;  // engines[i] is "engine<i>"

  engine::Engine& engine(std::size_t i) { return *engines.at(i); }

  // Values through every engine's datapaths; timing does not depend on them.
  void set_compute_values(bool on);

  // What each engine runs once the simulation starts, in a thread of its own: driver(i) for engine i. The
  // simulation stops when every driver has returned, or when one throws. Set before sc_start().
  void set_driver(std::function<void(std::size_t engine)> driver) { driver_ = std::move(driver); }
  // After sc_start(): rethrows what a driver threw (an InputError for a GEMM that cannot be mapped, say),
  // which stopped the simulation.
  void rethrow_driver_error() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void driver_thread(std::size_t engine);
  std::function<void(std::size_t)> driver_;
  std::exception_ptr error_;
  std::size_t drivers_running_ = 0;
};

}  // namespace tacsim::sim
