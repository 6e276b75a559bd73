#pragma once
// Requests one after another, in arrival order (then admission order); a request's tasks in their order. With
// tasks listed in dependency order (as lowering lists operations) this runs each sequence's operations as
// listed, and the sequences back to back: the driver of a single engine.
#include "modules/scheduler/policy.h"

namespace tacsim::scheduler {

class InOrderPolicy : public Policy {
 public:
  std::size_t pick(const std::vector<ReadyTask>& ready, Cycle now) const override;
};

}  // namespace tacsim::scheduler
