#pragma once
// The timing of FixedLatencyMemory: a stand-in for DRAM with one shared data bus. A read of B bytes accepted
// at cycle a starts its transfer at max(a + latency_cycles, bus free), a posted write at max(a, bus free);
// either holds the bus for ceil(B / bytes_per_cycle) cycles; its response is due the cycle the transfer ends.
// At most queue_depth transactions are in flight (accepted, response not yet sent); beyond that the request
// phase waits.
#include <cstdint>
#include <deque>
#include <string>

#include "modules/common/types.h"

namespace tacsim::memory {

// The defaults are the default DRAM (one HBM2 stack, modules/dram/presets/hbm2.ini) without what makes DRAM
// DRAM: no banks, rows, refresh or scheduling, so a run on it shows what the accelerator would do if memory
// never stood in the way, at HBM2's peak bandwidth and unloaded latency.
struct Params {
  double clock_mhz = 1000.0;
  // A read to an idle HBM2 bank: tRCD + CL + one BL4 burst = 14 + 14 + 2 cycles at 1 GHz (hbm2.ini).
  std::uint32_t latency_cycles = 30;
  // HBM2's peak: 8 channels x 128 bits x 2 Gb/s per pin = 256 GB/s = 256 bytes per 1 GHz cycle (JESD235).
  std::uint32_t bytes_per_cycle = 256;
  // Enough to cover bandwidth x latency (256 B x 30 cycles = 7.5 KiB, 120 64-byte requests) twice over, so
  // the queue never limits bandwidth.
  std::uint32_t queue_depth = 256;
  std::uint32_t capacity_mib = 1024;
  // As the DRAM controller's write buffer posts writes; false gives writes the read latency too.
  bool posted_writes = true;

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
