#pragma once
// Dma: a TLM-2.0 approximately-timed initiator that moves 2-D blocks between memory and on-chip buffers, a
// tile's rows in one transaction where they fit (block_transfer.h).
// It issues at most one BEGIN_REQ per cycle, waits for END_REQ before the next (the AT request-exclusion
// rule), keeps up to max_outstanding transactions in flight, and answers each BEGIN_RESP with TLM_COMPLETED.
// A move's completion callback runs in the simulation context at the cycle its last response arrived, inside
// the memory's process (a method): it may notify events, never wait.
#include <utility>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>
#include <tlm>

#include "modules/common/at_initiator.h"
#include "modules/common/block_transfer.h"
#include "modules/common/clock.h"
#include "modules/common/payload_pool.h"
#include "modules/common/stats.h"
#include "modules/common/waves.h"
#include "modules/dma/dma_engine.h"

namespace tacsim::dma {

class Dma : public sc_core::sc_module, public StatsProvider {
 public:
  tlm_utils::simple_initiator_socket<Dma> initiator_socket;

  SC_HAS_PROCESS(Dma);
  Dma(const sc_core::sc_module_name& name, const Params& params, const ClockDomain& clock);

  void submit(Move m);
  const StatsGroup& stats() const override { return stats_; }
  const DmaEngine& engine() const { return engine_; }
  // Waveforms: `outstanding`, the transactions in flight.
  void attach_waves(waves::Recorder& recorder);

 private:
  tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase, sc_core::sc_time& t);
  void issue();
  void finish(tlm::tlm_generic_payload& p);

  Params params_;
  const ClockDomain& clock_;
  DmaEngine engine_;
  PayloadPool pool_;
  // At most max_outstanding entries: a short scan beats hashing and allocating a node per transaction.
  std::vector<std::pair<tlm::tlm_generic_payload*, Transaction>> in_flight_;
  Cycle next_issue_ = 0;
  sc_core::sc_event work_event_;
  AtInitiator protocol_;
  waves::Signal outstanding_wave_;
  StatsGroup stats_;
};

}  // namespace tacsim::dma
