#include "modules/scheduler/length_aware_policy.h"

#include <algorithm>
#include <numeric>
#include <tuple>

namespace tacsim::scheduler {

std::optional<BatchChoice> LengthAwarePolicy::form(const std::deque<Request>& queue, Cycle, Cycle&) const {
  BatchChoice c;
  c.members.push_back(0);
  std::uint64_t budget =
      limits_.max_batch_tokens > queue[0].length ? limits_.max_batch_tokens - queue[0].length : 0;
  std::vector<std::size_t> by_length(queue.size() - 1);
  std::iota(by_length.begin(), by_length.end(), std::size_t{1});
  std::stable_sort(by_length.begin(), by_length.end(),
                   [&](std::size_t a, std::size_t b) { return queue[a].length > queue[b].length; });
  for (std::size_t i : by_length) {
    if (budget == 0) break;
    if (queue[i].length > budget) continue;
    c.members.push_back(i);
    budget -= queue[i].length;
  }
  std::sort(c.members.begin(), c.members.end());
  return c;
}

std::size_t LengthAwarePolicy::pick(const std::vector<ReadyTask>& ready, Cycle) const {
  std::uint64_t oldest_ready = ready[0].ready_seq;
  for (const ReadyTask& r : ready) oldest_ready = std::min(oldest_ready, r.ready_seq);
  std::size_t best = ready.size();
  for (std::size_t i = 0; i < ready.size(); ++i) {
    const ReadyTask& a = ready[i];
    if (a.admitted_seq > oldest_ready) continue;  // admitted after the longest waiter became ready
    if (best == ready.size()) {
      best = i;
      continue;
    }
    const ReadyTask& b = ready[best];
    if (std::make_tuple(-a.rank, a.arrival, a.batch, a.task) <
        std::make_tuple(-b.rank, b.arrival, b.batch, b.task))
      best = i;
  }
  return best;
}

}  // namespace tacsim::scheduler
