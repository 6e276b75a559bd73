#pragma once
// Which ready task an idle engine takes next: one small interface, one implementation per file, one factory.
// Today's one policy runs requests one after another in arrival order (in_order_policy.h); the request-trace
// policies of a pipelined accelerator (padded batches, fcfs, length-aware) plug in beside it.
//
// Contract:
// - pick() sees only tasks that may run now: their request has arrived and every dependency is done.
// - It returns an index into `ready` and changes nothing else; the engine removes the task and runs it.
// - It is deterministic: the same ready list and cycle give the same choice.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "modules/common/types.h"

namespace tacsim::scheduler {

struct ReadyTask {
  std::size_t request = 0;  // in admission order
  std::size_t task = 0;
  Cycle arrival = 0;  // of its request
};

class Policy {
 public:
  virtual ~Policy() = default;
  // `ready` is not empty.
  virtual std::size_t pick(const std::vector<ReadyTask>& ready, Cycle now) const = 0;
};

enum class PolicyKind : std::uint8_t { kInOrder };

std::unique_ptr<Policy> make_policy(PolicyKind kind);

}  // namespace tacsim::scheduler
