#pragma once
// Dram: the DRAM model behind a TLM-2.0 approximately-timed target socket. The 4-phase protocol at the
// socket, the timing in dram::Engine: its process (a method) wakes only at a lower bound on the next
// completion, at the next cycle a waiting request can be taken, or when a phase arrives that moves either
// earlier (an accepted BEGIN_REQ that brings no earlier completion does not wake it).
//
// Cycle rules at the boundary (deterministic whatever the order of processes within a time step):
// - a BEGIN_REQ seen in DRAM cycle t enters the controller at cycle t + 1 (the controller registers it);
//   END_REQ is returned at once when the controller's front end takes it, else sent later, when it does;
//   the data moves then (writes are posted, reads see every write taken before them);
// - a read whose last data beat ends before cycle t, or a write that is in the write buffer since cycle t -
// 1,
//   gets its BEGIN_RESP at the start of cycle t (the engine's `finish`); responses wait for END_RESP (or
//   TLM_COMPLETED) one at a time.
// Peers send phases at the time they happen: annotated delays must be zero.
#include <deque>
#include <vector>

#include <tlm_utils/simple_target_socket.h>
#include <systemc>
#include <tlm>

#include "modules/common/at_target.h"
#include "modules/common/backing_store.h"
#include "modules/common/clock.h"
#include "modules/common/stats.h"
#include "modules/common/waves.h"
#include "modules/dram/dram_engine.h"
#include "modules/memory/memory_device.h"

namespace tacsim::dram {

class Dram : public sc_core::sc_module, public StatsProvider, public memory::MemoryDevice {
 public:
  tlm_utils::simple_target_socket<Dram> target_socket;

  SC_HAS_PROCESS(Dram);
  Dram(const sc_core::sc_module_name& name, const Params& params);

  tlm::tlm_target_socket<>& target() override { return target_socket; }
  BackingStore& store() override { return store_; }
  std::uint64_t bytes_transferred() const override;
  const StatsGroup& stats() const override { return stats_; }
  const Engine& engine() const { return engine_; }
  Engine& engine() { return engine_; }
  const ClockDomain& clock() const { return clock_; }
  // The cycle the last response was due: the end of the traffic, for bandwidth figures.
  Cycle last_finish() const { return last_finish_; }
  // Waveforms, per channel: the command on each command bus in the DRAM cycle it issues (`cmd`; with separate
  // row and column buses `row_cmd` and `col_cmd`), and the bank it addressed last (`<bus>_bank`); on request,
  // each bank's open row (`bank<b>.open_row`: from its ACT; x from its PRE, or from the RDA/WRA whose
  // auto-precharge closes it).
  void attach_waves(waves::Recorder& recorder);

 private:
  tlm::tlm_sync_enum nb_transport_fw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase, sc_core::sc_time& t);
  bool offer(tlm::tlm_generic_payload& p, Cycle at);
  void run();
  void send_responses();
  void trace_command(const Command& c);

  Params params_;
  ClockDomain clock_;
  Engine engine_;
  BackingStore store_;
  std::vector<Completion> completions_;          // take_completions() buffer, reused
  tlm::tlm_generic_payload* waiting_ = nullptr;  // BEGIN_REQ the front end could not take yet
  Cycle retry_at_ = 0;  // while waiting_: the engine's bound on the first cycle to offer it again
  std::deque<tlm::tlm_generic_payload*> responses_;  // done, BEGIN_RESP not yet sent
  Cycle last_finish_ = 0;
  // The cycle run() is due next (kNever: only on wake_), or 0 while it runs or waits for a clock edge and
  // will decide afresh.
  Cycle sleeping_until_ = 0;
  sc_core::sc_event wake_;
  AtTarget protocol_;
  struct BusWaves {
    waves::Signal cmd, bank;
  };
  std::vector<BusWaves> bus_waves_;            // channel c's only or row bus at 2c, its column bus at 2c + 1
  std::vector<waves::Signal> open_row_waves_;  // channel c's bank b at c * banks + b
  StatsGroup stats_;
};

}  // namespace tacsim::dram
