#include "modules/scheduler/padded_policy.h"

#include <algorithm>

namespace tacsim::scheduler {

std::optional<BatchChoice> PaddedPolicy::form(const std::deque<Request>& queue, Cycle now,
                                              Cycle& wake) const {
  const Cycle deadline = queue.front().arrival + limits_.batch_timeout;
  if (queue.size() < limits_.batch_size && now < deadline) {
    wake = deadline;
    return std::nullopt;
  }
  BatchChoice c;
  const std::size_t n = std::min<std::size_t>(queue.size(), limits_.batch_size);
  for (std::size_t i = 0; i < n; ++i) {
    c.members.push_back(i);
    c.padded_length = std::max(c.padded_length, queue[i].length);
  }
  return c;
}

std::size_t PaddedPolicy::pick(const std::vector<ReadyTask>& ready, Cycle) const {
  return pick_oldest(ready);
}

}  // namespace tacsim::scheduler
