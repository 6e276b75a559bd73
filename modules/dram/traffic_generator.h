#pragma once
// TrafficGenerator: a TLM-2.0 AT initiator that replays a list of requests into a memory, for `tacsim memtest`
// and the DRAM testbenches. Request i is sent no earlier than its cycle (of the generator's clock), after
// request i-1's END_REQ (the AT request-exclusion rule), at most requests_per_cycle BEGIN_REQs per cycle and
// with at most max_outstanding requests in flight. It answers BEGIN_RESP with TLM_COMPLETED and checks the data of every
// read that no write overlapped while it was in flight: it must equal what the completed writes left there
// (the memory starts zeroed). Reads racing a write to the same 64-byte line are counted, not checked.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "modules/common/at_initiator.h"
#include "modules/common/clock.h"
#include "modules/common/payload_pool.h"
#include "modules/common/stats.h"

namespace tacsim::dram {

struct TrafficRequest {
  std::uint64_t address = 0;
  std::uint32_t bytes = 0;
  bool is_write = false;
  Cycle cycle = 0;  // earliest issue cycle
};

struct TrafficPattern {
  std::string pattern = "stream";   // stream | random | strided
  std::uint64_t bytes = 1 << 20;    // total bytes requested
  std::uint32_t request_bytes = 0;  // 0: 4 KiB for stream (as the DMA moves blocks), one burst otherwise
  std::uint64_t stride_bytes = 4096;
  double read_ratio = 1.0;          // each request is a read with this probability
  std::uint64_t seed = 1;
};

// Requests for a pattern over [0, capacity): all issued as early as the memory accepts them (cycle 0).
// stream: consecutive addresses; strided: request i at i * stride (mod capacity); random: uniform,
// request-aligned. Throws InputError naming the memtest.* key for an impossible pattern.
std::vector<TrafficRequest> make_pattern(const TrafficPattern& p, std::uint64_t capacity_bytes,
                                         std::uint32_t burst_bytes);

class TrafficGenerator : public sc_core::sc_module, public StatsProvider {
 public:
  tlm_utils::simple_initiator_socket<TrafficGenerator> initiator_socket;

  SC_HAS_PROCESS(TrafficGenerator);
  TrafficGenerator(const sc_core::sc_module_name& name, const ClockDomain& clock,
                   std::vector<TrafficRequest> requests, std::uint32_t max_outstanding,
                   std::uint32_t requests_per_cycle = 1);

  bool done() const { return completed_ == requests_.size(); }
  std::size_t completed() const { return completed_; }
  const sc_core::sc_event& finished() const { return finished_event_; }
  Cycle last_response() const { return last_response_; }
  std::uint64_t data_errors() const { return data_errors_; }
  const StatsGroup& stats() const override { return stats_; }

 private:
  tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase, sc_core::sc_time& t);
  void issue();
  bool rearm_at(Cycle c);  // next_trigger() for the start of cycle c; false when it has begun already
  void finish(tlm::tlm_generic_payload& p);

  const ClockDomain& clock_;
  std::vector<TrafficRequest> requests_;
  std::uint32_t max_outstanding_;
  std::uint32_t requests_per_cycle_;
  PayloadPool pool_;
  struct InFlight {
    std::size_t index;
    std::vector<std::uint8_t> data;
    std::vector<std::uint8_t> expect;  // reads: the bytes the completed writes left, at issue
    bool checkable = true;
  };
  static std::uint64_t first_line(const TrafficRequest& r) { return r.address / 64; }
  static std::uint64_t last_line(const TrafficRequest& r) { return (r.address + r.bytes - 1) / 64; }
  std::unordered_map<tlm::tlm_generic_payload*, InFlight> in_flight_;
  std::unordered_map<std::uint64_t, std::uint8_t> committed_;        // bytes of completed writes
  std::unordered_map<std::uint64_t, std::uint32_t> writes_in_flight_;  // per 64-byte line
  enum class Stage { kCycle, kSlot, kEdge };  // where issue() waits for request next_request_
  Stage stage_ = Stage::kCycle;
  std::size_t next_request_ = 0;
  Cycle next_free_ = 0;  // the first cycle with a BEGIN_REQ slot left
  Cycle slot_cycle_ = 0;
  std::uint32_t used_ = 0;  // BEGIN_REQs sent in slot_cycle_
  std::uint64_t completed_ = 0, issued_ = 0, data_errors_ = 0, reads_checked_ = 0, reads_racing_ = 0,
                stall_cycles_ = 0;
  Cycle last_response_ = 0;
  sc_core::sc_event work_event_, finished_event_;
  AtInitiator protocol_;
  StatsGroup stats_;
};

}  // namespace tacsim::dram
