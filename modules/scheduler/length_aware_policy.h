#pragma once
// length-aware: the length-adaptive dynamic pipeline of Peng et al., "A Length Adaptive Algorithm-Hardware
// Co-design of Transformer on FPGA Through Sparse Attention and Dynamic Pipelining", DAC 2022.
// - Batches without padding, packed by length: the oldest waiting request first (so the queue always moves),
//   then the waiting requests longest first, each that still fits max_batch_tokens (first-fit decreasing:
//   long sequences go where the budget is large, short ones fill what is left). Members are laid out in
//   arrival order. A request longer than the budget runs alone.
// - Tasks are ranked by their longest path to the end of their batch's graph, each operation weighted by its
//   estimated latency at the running average length (Task::rank, computed by the workload); an idle engine
//   takes the highest-ranked ready task it may serve, of any batch in flight: the critical path first, and
//   engines whose stage has work never idle.
// - Bounded overtaking: a batch admitted after the longest-waiting ready task became ready does not compete
//   with it. So with S slots a ready task waits at most for the other tasks of the S batches in flight when
//   it became ready (its own batch's and the other S - 1's), never for a batch admitted later.
// Ties go to the older batch, then to the task listed first.
#include "modules/scheduler/policy.h"

namespace tacsim::scheduler {

class LengthAwarePolicy : public Policy {
 public:
  explicit LengthAwarePolicy(const BatchLimits& limits) : limits_(limits) {}
  std::optional<BatchChoice> form(const std::deque<Request>& queue, Cycle now, Cycle& wake) const override;
  std::size_t pick(const std::vector<ReadyTask>& ready, Cycle now) const override;

 private:
  BatchLimits limits_;
};

}  // namespace tacsim::scheduler
