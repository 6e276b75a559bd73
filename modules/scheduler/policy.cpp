#include "modules/scheduler/policy.h"

#include <tuple>

#include "modules/scheduler/fcfs_policy.h"
#include "modules/scheduler/length_aware_policy.h"
#include "modules/scheduler/padded_policy.h"

namespace tacsim::scheduler {

std::unique_ptr<Policy> make_policy(PolicyKind kind, const BatchLimits& limits) {
  switch (kind) {
    case PolicyKind::kFcfs:
      return std::make_unique<FcfsPolicy>();
    case PolicyKind::kPadded:
      return std::make_unique<PaddedPolicy>(limits);
    case PolicyKind::kLengthAware:
      return std::make_unique<LengthAwarePolicy>(limits);
  }
  return nullptr;
}

std::size_t pick_oldest(const std::vector<ReadyTask>& ready) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < ready.size(); ++i) {
    const ReadyTask &a = ready[i], &b = ready[best];
    if (std::tie(a.arrival, a.batch, a.task) < std::tie(b.arrival, b.batch, b.task)) best = i;
  }
  return best;
}

}  // namespace tacsim::scheduler
