#include "modules/scheduler/fcfs_policy.h"

namespace tacsim::scheduler {

std::optional<BatchChoice> FcfsPolicy::form(const std::deque<Request>&, Cycle, Cycle&) const {
  return BatchChoice{{0}, 0};
}

std::size_t FcfsPolicy::pick(const std::vector<ReadyTask>& ready, Cycle) const {
  return pick_oldest(ready);
}

}  // namespace tacsim::scheduler
