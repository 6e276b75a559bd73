#pragma once
// FixedLatencyMemory: a TLM-2.0 approximately-timed target with a fixed access latency and one shared data
// bus of fixed width (timing in FixedLatencyMemoryEngine). It stands in for DRAM until the DRAM model
// replaces it, and speaks the same 4-phase protocol: END_REQ when a queue slot is free (back-pressure
// otherwise), BEGIN_RESP when the data has crossed the bus, the next BEGIN_RESP only after END_RESP (or
// TLM_COMPLETED). Peers send every phase at the time it happens: annotated delays must be zero.
#include <deque>

#include <tlm_utils/simple_target_socket.h>
#include <systemc>
#include <tlm>

#include "modules/common/at_target.h"
#include "modules/common/backing_store.h"
#include "modules/common/clock.h"
#include "modules/common/stats.h"
#include "modules/memory/fixed_latency_memory_engine.h"
#include "modules/memory/memory_device.h"

namespace tacsim::memory {

class FixedLatencyMemory : public sc_core::sc_module, public StatsProvider, public MemoryDevice {
 public:
  tlm_utils::simple_target_socket<FixedLatencyMemory> target_socket;

  SC_HAS_PROCESS(FixedLatencyMemory);
  FixedLatencyMemory(const sc_core::sc_module_name& name, const Params& params);

  tlm::tlm_target_socket<>& target() override { return target_socket; }
  // Host-side access for loading operands before a run and reading results after it (no timing).
  BackingStore& store() override { return store_; }
  std::uint64_t bytes_transferred() const override {
    return engine_.counters().read_bytes + engine_.counters().write_bytes;
  }
  const StatsGroup& stats() const override { return stats_; }
  const FixedLatencyMemoryEngine& engine() const { return engine_; }

 private:
  tlm::tlm_sync_enum nb_transport_fw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase, sc_core::sc_time& t);
  void accept(tlm::tlm_generic_payload& p);
  void respond_thread();

  Params params_;
  ClockDomain clock_;
  FixedLatencyMemoryEngine engine_;
  BackingStore store_;
  std::deque<tlm::tlm_generic_payload*> in_flight_;  // accepted, in due order
  tlm::tlm_generic_payload* waiting_ = nullptr;      // a BEGIN_REQ held back by a full queue
  sc_core::sc_event work_event_;
  AtTarget protocol_;
  StatsGroup stats_;
};

}  // namespace tacsim::memory
