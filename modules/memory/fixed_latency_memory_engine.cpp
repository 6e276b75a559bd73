#include "modules/memory/fixed_latency_memory_engine.h"

#include <fmt/format.h>
#include <algorithm>

#include "modules/common/clock_rate.h"

namespace tacsim::memory {

std::string Params::validate() const {
  if (const std::string e = clock_mhz_error(clock_mhz); !e.empty()) return "clock_mhz: " + e;
  if (bytes_per_cycle == 0) return "bytes_per_cycle: must be at least 1, got 0";
  if (queue_depth == 0) return "queue_depth: must be at least 1, got 0";
  if (capacity_mib == 0) return "capacity_mib: must be at least 1, got 0";
  return "";
}

Cycle FixedLatencyMemoryEngine::accept(Cycle now, std::uint32_t bytes, bool is_write) {
  const Cycle transfer = (bytes + p_.bytes_per_cycle - 1) / p_.bytes_per_cycle;
  // Writes are posted, as the DRAM controller's write buffer posts them: acknowledged once their data is
  // across, without the access latency a read waits for.
  const Cycle start = std::max(now + (is_write && p_.posted_writes ? 0 : p_.latency_cycles), bus_free_);
  bus_free_ = start + transfer;
  in_flight_.push_back(bus_free_);
  c_.bus_busy_cycles += transfer;
  if (is_write) {
    ++c_.writes;
    c_.write_bytes += bytes;
  } else {
    ++c_.reads;
    c_.read_bytes += bytes;
  }
  return bus_free_;
}

void FixedLatencyMemoryEngine::retire() {
  in_flight_.pop_front();
}

}  // namespace tacsim::memory
