#include "modules/scheduler/in_order_policy.h"

#include <tuple>

namespace tacsim::scheduler {

std::size_t InOrderPolicy::pick(const std::vector<ReadyTask>& ready, Cycle) const {
  std::size_t best = 0;
  for (std::size_t i = 1; i < ready.size(); ++i) {
    const ReadyTask &a = ready[i], &b = ready[best];
    if (std::tie(a.arrival, a.request, a.task) < std::tie(b.arrival, b.request, b.task)) best = i;
  }
  return best;
}

}  // namespace tacsim::scheduler
