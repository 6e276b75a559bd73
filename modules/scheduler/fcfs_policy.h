#pragma once
// fcfs: first come, first served, one sequence at a time. Each batch is the oldest waiting request alone (no
// padding, no weights shared between sequences), admitted as soon as a slot is free; an engine takes the
// oldest batch's next task. With one engine and one slot a model's sequences run back to back in the order
// listed, each operation in list order: the single engine's driver.
#include "modules/scheduler/policy.h"

namespace tacsim::scheduler {

class FcfsPolicy : public Policy {
 public:
  std::optional<BatchChoice> form(const std::deque<Request>& queue, Cycle now, Cycle& wake) const override;
  std::size_t pick(const std::vector<ReadyTask>& ready, Cycle now) const override;
};

}  // namespace tacsim::scheduler
