#pragma once
// TrafficGenerator: a TLM-2.0 AT initiator that replays requests into a memory, for `tacsim memtest` and the
// DRAM testbenches. Requests come from a source one at a time (a pattern, or a trace read as it goes), so
// that memory does not grow with their number. Request i is sent no earlier than its cycle (of the
// generator's clock), after request i-1's END_REQ (the AT request-exclusion rule), at most requests_per_cycle
// BEGIN_REQs per cycle and with at most max_outstanding requests in flight. It answers BEGIN_RESP with
// TLM_COMPLETED. With data checks on, every read that no write overlapped while it was in flight must return
// what the completed writes left there (the memory starts zeroed); reads racing a write to the same 64-byte
// line are counted, not checked. With checks off it keeps no data: no shadow of the memory, no per-request
// buffers. Payloads are its own, reused, and name their slot: nothing is allocated or looked up per request.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>
#include <tlm>

#include "modules/common/at_initiator.h"
#include "modules/common/backing_store.h"
#include "modules/common/clock.h"
#include "modules/common/rng.h"
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
  double read_ratio = 1.0;  // each request is a read with this probability
  std::uint64_t seed = 1;
};

// The requests of a pattern over [0, capacity), made one at a time, all issued as early as the memory accepts
// them (cycle 0). stream: consecutive addresses; strided: request i at i * stride (mod capacity); random:
// uniform, request-aligned. The constructor throws InputError naming the memtest.* key for an impossible one.
class PatternSource {
 public:
  PatternSource(const TrafficPattern& pattern, std::uint64_t capacity_bytes, std::uint32_t burst_bytes);
  bool next(TrafficRequest& r);
  std::uint64_t count() const { return count_; }

 private:
  TrafficPattern p_;
  std::uint64_t capacity_;
  std::uint64_t count_;
  std::uint64_t slots_;  // request-aligned positions
  std::uint64_t i_ = 0;
  Rng rng_;
};

class TrafficGenerator : public sc_core::sc_module, public tlm::tlm_mm_interface, public StatsProvider {
 public:
  tlm_utils::simple_initiator_socket<TrafficGenerator> initiator_socket;

  // The next request into its argument; false when there are no more.
  using Source = std::function<bool(TrafficRequest&)>;

  SC_HAS_PROCESS(TrafficGenerator);
  TrafficGenerator(const sc_core::sc_module_name& name, const ClockDomain& clock, Source source,
                   std::uint32_t max_outstanding, std::uint32_t requests_per_cycle = 1,
                   bool check_data = true);
  ~TrafficGenerator() override;

  bool done() const { return exhausted_ && completed_ == issued_; }
  std::uint64_t completed() const { return completed_; }
  const sc_core::sc_event& finished() const { return finished_event_; }
  Cycle last_response() const { return last_response_; }
  std::uint64_t requests() const { return issued_; }
  std::uint64_t data_errors() const { return data_errors_; }
  const StatsGroup& stats() const override { return stats_; }

  void free(tlm::tlm_generic_payload* p) override;  // tlm_mm_interface: a payload's last reference is gone

 private:
  // A payload that knows its slot.
  struct SlotPayload : tlm::tlm_generic_payload {
    SlotPayload(tlm::tlm_mm_interface* mm, std::uint32_t slot) : tlm::tlm_generic_payload(mm), slot(slot) {}
    std::uint32_t slot;
  };
  struct Slot {
    std::unique_ptr<SlotPayload> payload;
    TrafficRequest request;
    std::vector<std::uint8_t> data;    // check_data: the bytes written or read
    std::vector<std::uint8_t> expect;  // check_data, reads: what the completed writes left, at issue
    std::size_t listed = 0;            // check_data: its place in reads_ or writes_
    bool checkable = true;
  };

  tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase, sc_core::sc_time& t);
  void issue();
  bool rearm_at(Cycle c);  // next_trigger() for the start of cycle c; false when it has begun already
  std::uint32_t take_slot();
  void prepare_checks(std::uint32_t s, std::uint64_t index);
  void finish(tlm::tlm_generic_payload& p);
  void unlist(std::vector<std::uint32_t>& list, std::uint32_t s);

  const ClockDomain& clock_;
  Source source_;
  std::uint32_t max_outstanding_;
  std::uint32_t requests_per_cycle_;
  bool check_data_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::uint8_t> scratch_;          // !check_data: the data buffer every payload shares
  std::vector<std::uint32_t> reads_, writes_;  // check_data: slots of the reads and writes in flight
  BackingStore committed_;                     // check_data: the bytes of completed writes
  TrafficRequest pending_;                     // the next request to send, once have_pending_
  bool have_pending_ = false;
  bool exhausted_ = false;
  enum class Stage { kCycle, kSlot, kEdge };  // where issue() waits for the pending request
  Stage stage_ = Stage::kCycle;
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
