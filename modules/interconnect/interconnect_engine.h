#pragma once
// The interconnect's arbitration, without SystemC: several initiators (the engines' DMAs) share one memory's
// request channel. Plain C++: it takes the current cycle and answers who may send a request now, and when to
// ask next.
//
// Contract:
// - Each initiator has at most one request waiting (the TLM-2.0 AT request-exclusion rule: an initiator sends
//   no BEGIN_REQ before the END_REQ of its previous one). request(i, now) makes it eligible at now + latency.
// - The channel carries one request at a time: from a grant until channel_freed() (the memory's END_REQ), and
//   at most one grant per cycle (the channel's address phase), so requests reach the memory serialised.
// - grant(now) picks among the eligible initiators in round-robin order, starting after the one granted last:
//   with N initiators always asking, each is granted once in every N grants, so none starves; an initiator
//   eligible alone is granted at once.
// - A request's wait is its grant cycle less the cycle it became eligible (the latency is not a wait).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modules/common/types.h"

namespace tacsim::interconnect {

struct Params {
  // Cycles a request spends crossing the interconnect to the memory, and a response back (0: a wire).
  std::uint32_t latency_cycles = 0;
  // The memory moves whole granules (a DRAM burst): a transaction's bytes are counted over the granules it
  // touches, so per-initiator bytes add up to what the memory would move for them (less what a DRAM serves
  // from its write buffer). 1: exactly the bytes asked for.
  std::uint32_t granule_bytes = 1;

  std::string validate() const;
};

class InterconnectEngine {
 public:
  struct InitiatorCounters {
    std::uint64_t grants = 0;
    std::uint64_t wait_cycles = 0;      // summed over its requests
    std::uint64_t max_wait_cycles = 0;  // the longest one
    std::uint64_t bytes = 0;            // the granules it asked for, in bytes
  };

  InterconnectEngine(std::size_t initiators, const Params& params);

  std::size_t initiators() const { return waiting_.size(); }
  // Initiator i's request arrives at cycle `now`.
  void request(std::size_t i, Cycle now);
  // The initiator whose request goes to the memory at `now`, if any may (the channel is free, no grant yet
  // this cycle, someone eligible). `now` never decreases.
  std::optional<std::size_t> grant(Cycle now);
  // The memory took the granted request (END_REQ): the channel is free for the next grant.
  void channel_freed() { busy_ = false; }
  bool channel_busy() const { return busy_; }
  // The first cycle at or after `now` at which grant() may grant, or kNever when no request waits or the
  // channel is busy (channel_freed() changes that).
  Cycle next_grant_cycle(Cycle now) const;
  bool waiting(std::size_t i) const { return waiting_[i].has_value(); }

  // A transaction of initiator i completed: `rows` rows of `row_bytes` each, `stride` bytes apart from
  // `address` (one row: a plain range). Rows ascend, so a granule two rows share is counted once, as the
  // memory moves it once.
  void completed(std::size_t i, std::uint64_t address, std::uint32_t row_bytes, std::uint32_t rows = 1,
                 std::uint64_t stride = 0);

  const std::vector<InitiatorCounters>& counters() const { return counters_; }

 private:
  Params params_;
  std::vector<std::optional<Cycle>> waiting_;  // per initiator: the cycle its request becomes eligible
  std::size_t last_ = 0;                       // the initiator granted last (round-robin starts after it)
  bool any_granted_ = false;
  bool busy_ = false;
  Cycle last_grant_cycle_ = 0;
  std::vector<InitiatorCounters> counters_;
};

}  // namespace tacsim::interconnect
