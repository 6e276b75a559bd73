#pragma once
// padded: the static batching every GPU serving stack uses. A batch takes up to batch_size waiting requests
// in arrival order; it leaves when it is full, or when its oldest request has waited batch_timeout (then with
// what is there). Every member is padded to the batch's longest: the padded tokens are computed like real
// ones (what padding wastes is the run's padding_macs), and the batch leaves together. Engines take the
// oldest batch's tasks first.
#include "modules/scheduler/policy.h"

namespace tacsim::scheduler {

class PaddedPolicy : public Policy {
 public:
  explicit PaddedPolicy(const BatchLimits& limits) : limits_(limits) {}
  std::optional<BatchChoice> form(const std::deque<Request>& queue, Cycle now, Cycle& wake) const override;
  std::size_t pick(const std::vector<ReadyTask>& ready, Cycle now) const override;

 private:
  BatchLimits limits_;
};

}  // namespace tacsim::scheduler
