#pragma once
// The scheduler's engine: which step an engine's driver takes next, for requests that arrive over time. Plain
// C++: it takes the current cycle and answers "what happens now, and when next"; the SystemC side
// (dispatch.h) carries the steps out and waits.
//
// The driver is one thread of one engine: it carries out each step before asking for the next, so a kRun or
// kAwait step has finished when next() is called again. A task is done when its last step has.
// - A single task is one step: kRun (stage kWhole).
// - A pipelined attention head of B blocks (Task::blocks = B) is, in this order:
//     kRun  scores 0
//     for b = 0 .. B-1:  kStart softmax b (on the SFU, which runs beside the array),
//                        kRun context b-1 (b > 0), kRun scores b+1 (b + 1 < B),
//                        kAwait the SFU (softmax b is done)
//     kRun  context B-1
//   so the array computes S.V of block b - 1 and Q.K^T of block b + 1 while the SFU computes the softmax of
//   block b (STA's attention pipeline; the score buffer holds two blocks).
// - Which ready task comes next is the policy's choice (policy.h). When nothing is ready and a request is
//   still to arrive, the step is kIdle until its arrival; when every task is done, kDone.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "modules/common/types.h"
#include "modules/scheduler/policy.h"
#include "modules/scheduler/request.h"

namespace tacsim::scheduler {

// Which part of a task a step is: the whole task, or one block's stage of a pipelined head.
enum class Stage : std::uint8_t { kWhole, kScores, kSoftmax, kContext };

struct Step {
  enum class Kind : std::uint8_t {
    kRun,    // carry out (request, task, stage, block) and return when it is done
    kStart,  // start it on `unit` and return at once
    kAwait,  // return when what was started on `unit` is done
    kIdle,   // nothing to do before cycle `until`
    kDone,   // every admitted request is done
  };
  Kind kind = Kind::kDone;
  std::size_t request = 0;  // in admission order
  std::size_t task = 0;
  Stage stage = Stage::kWhole;
  std::uint32_t block = 0;
  Unit unit = Unit::kArray;
  Cycle until = 0;
};

class SchedulerEngine {
 public:
  explicit SchedulerEngine(std::unique_ptr<Policy> policy);
  SchedulerEngine(const SchedulerEngine&) = delete;
  SchedulerEngine& operator=(const SchedulerEngine&) = delete;

  // Adds a request; returns its index. Throws std::invalid_argument for a malformed one (a dependency not on
  // an earlier task, a pipelined task off the array).
  std::size_t admit(Request request);
  // The step to take at cycle `now` (now never decreases).
  Step next(Cycle now);

  const Request& request(std::size_t r) const { return requests_[r].request; }
  std::size_t requests() const { return requests_.size(); }
  bool done(std::size_t r) const { return requests_[r].done == requests_[r].request.tasks.size(); }

 private:
  struct State {
    Request request;
    bool released = false;               // its tasks without dependencies are in ready_
    std::vector<std::uint32_t> waiting;  // per task: dependencies not yet done
    std::vector<std::vector<std::size_t>> consumers;
    std::size_t done = 0;
  };
  void release_arrived(Cycle now);
  void finish(std::size_t r, std::size_t t);
  void expand(std::size_t r, std::size_t t);

  std::unique_ptr<Policy> policy_;
  std::vector<State> requests_;
  std::vector<ReadyTask> ready_;
  std::deque<Step> steps_;  // what is left of the current task
  bool running_ = false;
  std::size_t current_request_ = 0, current_task_ = 0;
};

}  // namespace tacsim::scheduler
