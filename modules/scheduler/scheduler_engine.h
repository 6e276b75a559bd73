#pragma once
// The scheduler's engine: which requests form which batches, and which step each engine of the accelerator
// takes next. Plain C++: it takes the current cycle and answers "what happens now, and when next"; the
// SystemC side (dispatch.h) runs one driver per engine, carries the steps out and waits.
//
// Requests arrive from an ArrivalSource and wait in a queue. While a slot of activation memory is free (at
// most BatchLimits::slots batches in flight), the policy forms batches from the queue (policy.h); the
// workload lowers each batch into tasks (Workload::tasks). Engines take ready tasks, one at a time each,
// chosen by the policy among those their stage serves. A batch is done, and its members finish, when its last
// task is; its slot then takes the next batch.
//
// Each engine's driver carries out a step before asking for the next, so a kRun or kAwait step has finished
// when next() is called again by the same engine; a task is done when its last step has.
// - A single task is one step: kRun (stage kWhole).
// - A pipelined attention head of B blocks on this engine (Task::blocks[engine] = B) is, in this order:
//     kRun  scores 0
//     for b = 0 .. B-1:  kStart softmax b (on the SFU, which runs beside the array),
//                        kRun context b-1 (b > 0), kRun scores b+1 (b + 1 < B),
//                        kAwait the SFU (softmax b is done)
//     kRun  context B-1
//   so the array computes S.V of block b - 1 and Q.K^T of block b + 1 while the SFU computes the softmax of
//   block b (STA's attention pipeline; the score buffer holds two blocks).
// - Chained siblings (Task::chain): when an engine takes one, its step names the next ready sibling (the
//   first in task order; Step::next_task) so that the engine can read its inputs ahead. Where only this
//   engine serves their stage the sibling runs here whenever it runs, and the name is a hint: the policy
//   still chooses. In a pool the engine takes the sibling as its next task, reserved (off the ready list,
//   taken right after, before any other choice), if as many siblings are ready as engines serve their
//   stage, so that no engine that could take one in parallel is left without.
// - An engine with nothing to take gets kIdle: it waits until cycle `until` (the next arrival, or a batch
//   timeout; kNever: none is due) or until another engine's progress (take_wake()) may have given it work.
//   When every request has arrived and every batch is done, every engine gets kDone.
// Events of one cycle happen in this order: the finish of the asking engine's task, then arrivals and
// timeouts, then the choice of its next task. next() calls come in non-decreasing cycles (one clock).
//
// Counters: an engine is busy from the start of a task to its end; it idles in a bubble while some request
// that has arrived still has work (waiting in the queue or in a batch in flight).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "modules/common/types.h"
#include "modules/scheduler/policy.h"
#include "modules/scheduler/request.h"

namespace tacsim::scheduler {

inline constexpr std::size_t kNoTask = static_cast<std::size_t>(-1);

// Which part of a task a step is: the whole task, or one block's stage of a pipelined head.
enum class Stage : std::uint8_t { kWhole, kScores, kSoftmax, kContext };

struct Step {
  enum class Kind : std::uint8_t {
    kRun,    // carry out (batch, task, stage, block) and return when it is done
    kStart,  // start it on `unit` and return at once
    kAwait,  // return when what was started on `unit` is done
    kIdle,   // nothing to do before cycle `until` (or take_wake())
    kDone,   // every request is done
  };
  Kind kind = Kind::kDone;
  std::size_t batch = 0;  // Batch::id
  std::size_t task = 0;
  Stage stage = Stage::kWhole;
  std::uint32_t block = 0;
  Unit unit = Unit::kArray;
  Cycle until = 0;
  // kRun of a whole task: the sibling this engine takes next (a task of the same batch), or kNoTask.
  std::size_t next_task = kNoTask;
};

// What runs the batches: lowers each into tasks, and hears when it is done.
class Workload {
 public:
  virtual ~Workload() = default;
  // The tasks of a batch just admitted, listed so that each task's deps come before it. It may throw (a
  // batch that cannot run): the scheduler stops there.
  virtual std::vector<Task> tasks(const Batch& batch) = 0;
  // Every task of the batch is done at `finish`; its first task started at `start`.
  virtual void finished(const Batch& batch, Cycle start, Cycle finish) = 0;
};

// What a run reports over time (optional).
class Observer {
 public:
  virtual ~Observer() = default;
  // Requests waiting for a batch, and batches in flight, from cycle `at` on.
  virtual void queue_changed(Cycle at, std::size_t waiting, std::size_t in_flight) = 0;
  // Engine `engine` ran a task from `start` to `end`.
  virtual void busy(std::size_t engine, Cycle start, Cycle end) = 0;
};

class SchedulerEngine {
 public:
  struct EngineCounters {
    Cycle busy_cycles = 0, bubble_cycles = 0;
    std::uint64_t tasks = 0;
  };

  // `serves[e][g]`: engine e may run tasks of group g (Task::group); empty: every engine serves every group.
  SchedulerEngine(std::unique_ptr<Policy> policy, const BatchLimits& limits, std::size_t engines,
                  ArrivalSource& source, Workload& workload, std::vector<std::vector<bool>> serves = {},
                  Observer* observer = nullptr);
  SchedulerEngine(const SchedulerEngine&) = delete;
  SchedulerEngine& operator=(const SchedulerEngine&) = delete;

  // The step engine `engine` takes at cycle `now`.
  Step next(std::size_t engine, Cycle now);
  // Whether idle engines should ask again: a task finished or became ready since the last call. Clears it.
  bool take_wake();

  // A batch in flight (its tasks included).
  const Batch& batch(std::size_t id) const;
  const std::vector<EngineCounters>& engine_counters() const { return counters_; }
  std::uint64_t requests_arrived() const { return arrived_; }
  std::uint64_t requests_done() const { return requests_done_; }
  std::uint64_t batches_done() const { return batches_done_; }
  std::size_t waiting() const { return queue_.size(); }
  std::size_t in_flight() const { return batches_.size(); }
  Cycle last_finish() const { return last_finish_; }

 private:
  struct BatchState {
    Batch batch;
    std::vector<std::uint32_t> waiting;  // per task: dependencies not yet done
    std::vector<std::vector<std::size_t>> consumers;
    std::size_t done = 0;
    bool started = false;
    Cycle start = 0;
    Cycle arrival = 0;  // its oldest member's
    std::uint64_t admitted_seq = 0;
  };
  struct EngineState {
    bool running = false;  // between a task's first step and the next call after its last
    std::size_t batch = 0, task = 0;
    Cycle start = 0;
    std::deque<Step> steps;             // what is left of the current task
    std::optional<ReadyTask> reserved;  // the chained sibling it takes next
  };

  void advance(Cycle now, bool inclusive);
  void form_batches(Cycle now);
  void admit(const BatchChoice& choice, Cycle now);
  void make_ready(BatchState& b, std::size_t task);
  void finish_task(std::size_t batch, std::size_t task, Cycle now);
  void expand(std::size_t engine, const BatchState& b, std::size_t task);
  Step start(std::size_t engine, const ReadyTask& chosen, Cycle now);
  // The sibling `engine` takes next after `task` (Step::next_task), reserved for it in a pool; kNoTask: none.
  std::size_t chain_sibling(std::size_t engine, const BatchState& b, std::size_t task);
  void account(Cycle t);
  bool serves(std::size_t engine, std::uint32_t group) const;
  bool done() const;
  void queue_changed(Cycle t);

  std::unique_ptr<Policy> policy_;
  BatchLimits limits_;
  ArrivalSource& source_;
  Workload& workload_;
  std::vector<std::vector<bool>> serves_;
  Observer* observer_;

  std::deque<Request> queue_;
  std::unordered_map<std::size_t, BatchState> batches_;
  std::vector<std::uint32_t> free_slots_;  // kept sorted: a batch takes the lowest
  std::vector<ReadyTask> ready_;
  std::vector<EngineState> engines_;
  std::vector<EngineCounters> counters_;
  std::vector<std::size_t> candidates_;  // scratch for next()
  std::vector<ReadyTask> candidate_tasks_;
  Cycle policy_wake_ = kNever;
  std::uint64_t seq_ = 0;
  std::size_t next_batch_ = 0;
  std::uint64_t arrived_ = 0, length_sum_ = 0, requests_done_ = 0, batches_done_ = 0;
  Cycle last_account_ = 0, last_finish_ = 0;
  bool wake_ = false;
};

}  // namespace tacsim::scheduler
