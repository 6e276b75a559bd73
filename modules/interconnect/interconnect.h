#pragma once
// Interconnect: the TLM-2.0 router between the engines' DMAs (initiators, one binding of target_socket each,
// in binding order) and the shared memory (initiator_socket). Approximately timed, 4-phase:
// - BEGIN_REQ from initiator i waits for the memory's request channel; InterconnectEngine decides who goes
//   next (round robin, one grant per cycle, interconnect_engine.h). The memory's END_REQ goes back to the
//   initiator granted, and frees the channel for the next.
// - BEGIN_RESP from the memory goes back to the initiator that sent the transaction (the router remembers
//   each payload's initiator until its response), latency_cycles later.
// With latency 0 and one request waiting (always so with one initiator, which never sends a BEGIN_REQ before
// its END_REQ), a request passes through inside the initiator's call and its answer is the memory's: one
// engine behind the interconnect times exactly as one bound straight to the memory.
// Peers send phases at the time they happen: annotated delays must be zero.
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>
#include <tlm>

#include "modules/common/clock.h"
#include "modules/common/stats.h"
#include "modules/common/waves.h"
#include "modules/interconnect/interconnect_engine.h"

namespace tacsim::interconnect {

class Interconnect : public sc_core::sc_module, public StatsProvider {
 public:
  tlm_utils::multi_passthrough_target_socket<Interconnect> target_socket;  // bound once per initiator
  tlm_utils::simple_initiator_socket<Interconnect> initiator_socket;       // to the memory

  SC_HAS_PROCESS(Interconnect);
  // `initiators`: how many times target_socket will be bound (checked at the end of elaboration).
  Interconnect(const sc_core::sc_module_name& name, const Params& params, const ClockDomain& clock,
               std::size_t initiators);

  const InterconnectEngine& engine() const { return engine_; }
  // Bytes initiator i asked for, in the memory's granules (what the memory moved, unless it served some from
  // a write buffer).
  std::uint64_t bytes(std::size_t i) const { return engine_.counters()[i].bytes; }
  const StatsGroup& stats() const override { return stats_; }
  // Waveforms: `grant`, the initiator granted the memory's request channel in a cycle (x in cycles without a
  // grant), and `initiator<i>_waiting`, 1 while initiator i's request waits for its grant.
  void attach_waves(waves::Recorder& recorder);

 private:
  void end_of_elaboration() override;
  tlm::tlm_sync_enum nb_transport_fw(int id, tlm::tlm_generic_payload& p, tlm::tlm_phase& phase,
                                     sc_core::sc_time& t);
  tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase, sc_core::sc_time& t);
  // Sends granted initiator i's request to the memory; returns the memory's answer (phase updated).
  tlm::tlm_sync_enum forward(std::size_t i, tlm::tlm_phase& phase);
  void arbitrate();
  void deliver();
  std::size_t initiator_of(tlm::tlm_generic_payload& p);
  // The memory's response to initiator i, counted.
  tlm::tlm_sync_enum respond(std::size_t i, tlm::tlm_generic_payload& p);
  void check_delay(const sc_core::sc_time& t) const;
  // Counts a completed transaction's bytes for initiator i (a 2-D block row by row).
  void count(std::size_t i, const tlm::tlm_generic_payload& p);

  Params params_;
  const ClockDomain& clock_;
  InterconnectEngine engine_;
  std::vector<tlm::tlm_generic_payload*> request_;  // per initiator: its BEGIN_REQ not yet granted, or sent
  std::size_t granted_ = 0;                         // whose request holds the channel, while busy
  // Transactions sent to the memory and not yet answered: payload and initiator. A short scan: at most the
  // initiators' outstanding transactions.
  std::vector<std::pair<tlm::tlm_generic_payload*, std::size_t>> in_flight_;
  // latency_cycles > 0: responses taken from the memory, due at a cycle, in order.
  struct Response {
    Cycle due;
    std::size_t initiator;
    tlm::tlm_generic_payload* payload;
  };
  std::deque<Response> responses_;
  sc_core::sc_event arbitrate_event_, deliver_event_;
  waves::Signal grant_wave_;
  std::vector<waves::Signal> waiting_waves_;
  StatsGroup stats_;
};

}  // namespace tacsim::interconnect
