#include "modules/interconnect/interconnect_engine.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace tacsim::interconnect {

std::string Params::validate() const {
  if (latency_cycles > 1000000)
    return fmt::format("latency_cycles: must be at most 1000000, got {}", latency_cycles);
  if (granule_bytes == 0 || (granule_bytes & (granule_bytes - 1)) != 0)
    return fmt::format("granule_bytes: must be a power of two, got {}", granule_bytes);
  return "";
}

InterconnectEngine::InterconnectEngine(std::size_t initiators, const Params& params)
    : params_(params), waiting_(initiators), counters_(initiators) {
  if (initiators == 0) throw std::invalid_argument("InterconnectEngine: no initiators");
  last_ = initiators - 1;  // so that the first round starts at initiator 0
}

void InterconnectEngine::request(std::size_t i, Cycle now) {
  if (waiting_.at(i)) throw std::logic_error(fmt::format("interconnect: initiator {} asked twice", i));
  waiting_[i] = now + params_.latency_cycles;
}

std::optional<std::size_t> InterconnectEngine::grant(Cycle now) {
  if (busy_ || (any_granted_ && last_grant_cycle_ >= now)) return std::nullopt;
  const std::size_t n = waiting_.size();
  for (std::size_t k = 1; k <= n; ++k) {
    const std::size_t i = (last_ + k) % n;
    if (!waiting_[i] || *waiting_[i] > now) continue;
    InitiatorCounters& c = counters_[i];
    const Cycle wait = now - *waiting_[i];
    c.grants += 1;
    c.wait_cycles += wait;
    c.max_wait_cycles = std::max(c.max_wait_cycles, wait);
    waiting_[i].reset();
    last_ = i;
    any_granted_ = true;
    last_grant_cycle_ = now;
    busy_ = true;
    return i;
  }
  return std::nullopt;
}

Cycle InterconnectEngine::next_grant_cycle(Cycle now) const {
  if (busy_) return kNever;
  Cycle first = kNever;
  for (const auto& w : waiting_)
    if (w) first = std::min(first, *w);
  if (first == kNever) return kNever;
  first = std::max(first, now);
  if (any_granted_) first = std::max(first, last_grant_cycle_ + 1);
  return first;
}

void InterconnectEngine::completed(std::size_t i, std::uint64_t address, std::uint32_t row_bytes,
                                   std::uint32_t rows, std::uint64_t stride) {
  if (row_bytes == 0) return;
  const std::uint64_t g = params_.granule_bytes;
  std::uint64_t next = 0;  // the first granule the previous row did not take
  for (std::uint32_t r = 0; r < rows; ++r) {
    const std::uint64_t row = address + std::uint64_t{r} * stride;
    const std::uint64_t first = std::max(row / g, next), last = (row + row_bytes - 1) / g;
    if (last >= first) counters_.at(i).bytes += (last - first + 1) * g;
    next = last + 1;
  }
}

}  // namespace tacsim::interconnect
