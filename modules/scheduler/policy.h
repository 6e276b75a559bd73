#pragma once
// A scheduling policy: how waiting requests form batches, and which ready task an idle engine takes. One
// small interface, one implementation per file (fcfs_policy.h, padded_policy.h, length_aware_policy.h), one
// factory.
//
// Contract:
// - form() sees the waiting requests in arrival order (never empty) when a slot of activation memory is free.
//   It returns the batch to admit now (indices into the queue, at least one, and the length each member runs
//   at: its own, or longer when padded), or nothing; then it sets `wake` to the cycle at which it wants to be
//   asked again whatever happens (a timeout), or kNever to be asked at the next arrival or freed slot only.
// - pick() sees only tasks that may run now on the engine asking: their batch is admitted, every dependency
//   is done, and the engine serves their stage. It returns an index into `ready`.
// - Neither changes anything; both are deterministic: the same inputs give the same answer.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "modules/common/types.h"
#include "modules/scheduler/request.h"
#include "modules/scheduler/scheduler_params.h"

namespace tacsim::scheduler {

struct BatchChoice {
  std::vector<std::size_t> members;  // indices into the queue, in the order the batch lays them out
  std::uint32_t padded_length = 0;   // 0: each member at its own length; else every member at this length
};

struct ReadyTask {
  std::size_t batch = 0;  // Batch::id
  std::size_t task = 0;
  Cycle arrival = 0;  // the batch's oldest member's
  double rank = 0;    // Task::rank
  // When it became ready, and when its batch was admitted, as positions in one sequence of the scheduler's
  // events (so that two events of one cycle still have an order).
  std::uint64_t ready_seq = 0, admitted_seq = 0;
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::optional<BatchChoice> form(const std::deque<Request>& queue, Cycle now, Cycle& wake) const = 0;
  // `ready` is not empty.
  virtual std::size_t pick(const std::vector<ReadyTask>& ready, Cycle now) const = 0;
};

std::unique_ptr<Policy> make_policy(PolicyKind kind, const BatchLimits& limits);

// The oldest batch's task first (the earliest arrival, then the batch, then the task in list order): what
// fcfs and padded take, so a batch runs to its end before the next one starts where it can.
std::size_t pick_oldest(const std::vector<ReadyTask>& ready);

}  // namespace tacsim::scheduler
