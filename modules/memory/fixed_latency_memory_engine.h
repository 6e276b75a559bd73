#pragma once
// The timing of FixedLatencyMemory: a stand-in for DRAM with one shared data bus. A transaction of B bytes
// accepted at cycle a starts its transfer at max(a + latency_cycles, bus free) and holds the bus for
// ceil(B / bytes_per_cycle) cycles; its response is due the cycle the transfer ends. At most queue_depth
// transactions are in flight (accepted, response not yet sent); beyond that the request phase waits.
#include <cstdint>
#include <deque>
#include <string>

#include "modules/common/types.h"

namespace tacsim::memory {

struct Params {
  double clock_mhz = 1000.0;
  std::uint32_t latency_cycles = 100;    // ~100 ns loaded DRAM latency at 1 GHz, an order-of-magnitude stand-in
  std::uint32_t bytes_per_cycle = 64;    // 64 GB/s at 1 GHz: about two DDR4-3200 channels (2 x 25.6 GB/s)
  std::uint32_t queue_depth = 32;        // transactions in flight
  std::uint32_t capacity_mib = 1024;

  std::string validate() const;
  std::uint64_t capacity_bytes() const { return std::uint64_t{capacity_mib} << 20; }
};

class FixedLatencyMemoryEngine {
 public:
  struct Counters {
    std::uint64_t reads = 0;
    std::uint64_t writes = 0;
    std::uint64_t read_bytes = 0;
    std::uint64_t write_bytes = 0;
    std::uint64_t bus_busy_cycles = 0;
    std::uint64_t full_queue_rejects = 0;  // BEGIN_REQs that had to wait for space
  };

  explicit FixedLatencyMemoryEngine(const Params& p) : p_(p) {}

  bool can_accept() const { return in_flight_.size() < p_.queue_depth; }
  // Accepts a transaction at cycle `now` (requires can_accept()); returns the cycle its response is due.
  Cycle accept(Cycle now, std::uint32_t bytes, bool is_write);
  // The response at the head of the queue has been sent: frees its slot.
  void retire();
  Cycle head_due() const { return in_flight_.empty() ? kNever : in_flight_.front(); }
  std::size_t in_flight() const { return in_flight_.size(); }
  void count_reject() { ++c_.full_queue_rejects; }

  const Counters& counters() const { return c_; }

 private:
  Params p_;
  Cycle bus_free_ = 0;
  std::deque<Cycle> in_flight_;  // due cycles, nondecreasing: the bus serves in arrival order
  Counters c_;
};

}  // namespace tacsim::memory
