// The scheduler's engine without a kernel: the steps it hands a driver, in order, for hand-made requests.
#include "modules/scheduler/scheduler_engine.h"

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "modules/scheduler/in_order_policy.h"

namespace tacsim::scheduler {
namespace {

Task task(std::size_t op, Unit unit, std::vector<std::size_t> deps = {}, std::uint32_t blocks = 0) {
  Task t;
  t.op = op;
  t.unit = unit;
  t.deps = std::move(deps);
  t.blocks = blocks;
  return t;
}

Request request(std::uint64_t id, Cycle arrival, std::vector<Task> tasks) {
  Request r;
  r.id = id;
  r.arrival = arrival;
  r.tasks = std::move(tasks);
  return r;
}

// A step as text: "run r0.t1", "start r0.t2 softmax 1 on sfu", "await sfu", "idle until 100", "done".
std::string text(const Step& s) {
  static const char* stages[] = {"", " scores", " softmax", " context"};
  static const char* units[] = {"array", "sfu", "topk"};
  std::ostringstream o;
  const std::string where = "r" + std::to_string(s.request) + ".t" + std::to_string(s.task);
  const std::string part = s.stage == Stage::kWhole ? std::string()
                                                    : stages[static_cast<int>(s.stage)] + std::string(" ") +
                                                          std::to_string(s.block);
  switch (s.kind) {
    case Step::Kind::kRun:
      o << "run " << where << part;
      break;
    case Step::Kind::kStart:
      o << "start " << where << part << " on " << units[static_cast<int>(s.unit)];
      break;
    case Step::Kind::kAwait:
      o << "await " << units[static_cast<int>(s.unit)];
      break;
    case Step::Kind::kIdle:
      o << "idle until " << s.until;
      break;
    case Step::Kind::kDone:
      o << "done";
      break;
  }
  return o.str();
}

// Every step until done, asked at cycle `now` (the driver's clock does not matter to the in-order policy
// once everything has arrived).
std::vector<std::string> drain(SchedulerEngine& e, Cycle now = 0) {
  std::vector<std::string> out;
  for (int guard = 0; guard < 1000; ++guard) {
    const Step s = e.next(now);
    out.push_back(text(s));
    if (s.kind == Step::Kind::kDone) return out;
    if (s.kind == Step::Kind::kIdle) now = s.until;
  }
  ADD_FAILURE() << "no kDone after 1000 steps";
  return out;
}

using Steps = std::vector<std::string>;

TEST(SchedulerEngine, RequestsOneAfterAnotherTasksInOrder) {
  SchedulerEngine e(std::make_unique<InOrderPolicy>());
  e.admit(request(7, 0, {task(0, Unit::kArray), task(1, Unit::kSfu, {0}), task(2, Unit::kArray, {1})}));
  e.admit(request(8, 0, {task(0, Unit::kTopk)}));
  EXPECT_EQ(drain(e), (Steps{"run r0.t0", "run r0.t1", "run r0.t2", "run r1.t0", "done"}));
  EXPECT_TRUE(e.done(0));
  EXPECT_TRUE(e.done(1));
}

TEST(SchedulerEngine, APipelinedHeadOverlapsEachSoftmaxWithItsNeighboursGemms) {
  // Three blocks: the SFU's softmax of block b runs while the array computes S.V of b - 1 and Q.K^T of b + 1.
  SchedulerEngine e(std::make_unique<InOrderPolicy>());
  e.admit(request(0, 0, {task(0, Unit::kArray), task(1, Unit::kArray, {0}, 3), task(4, Unit::kArray, {1})}));
  EXPECT_EQ(drain(e),
            (Steps{"run r0.t0", "run r0.t1 scores 0", "start r0.t1 softmax 0 on sfu", "run r0.t1 scores 1",
                   "await sfu", "start r0.t1 softmax 1 on sfu", "run r0.t1 context 0", "run r0.t1 scores 2",
                   "await sfu", "start r0.t1 softmax 2 on sfu", "run r0.t1 context 1", "await sfu",
                   "run r0.t1 context 2", "run r0.t2", "done"}));
}

TEST(SchedulerEngine, OneBlockHeadIsItsThreeStagesInTurn) {
  SchedulerEngine e(std::make_unique<InOrderPolicy>());
  e.admit(request(0, 0, {task(0, Unit::kArray, {}, 1)}));
  EXPECT_EQ(drain(e), (Steps{"run r0.t0 scores 0", "start r0.t0 softmax 0 on sfu", "await sfu",
                             "run r0.t0 context 0", "done"}));
}

TEST(SchedulerEngine, IdlesUntilTheNextArrival) {
  SchedulerEngine e(std::make_unique<InOrderPolicy>());
  e.admit(request(0, 100, {task(0, Unit::kArray)}));
  e.admit(request(1, 40, {task(0, Unit::kSfu)}));
  EXPECT_EQ(text(e.next(0)), "idle until 40");
  EXPECT_EQ(text(e.next(40)), "run r1.t0");
  EXPECT_EQ(text(e.next(60)), "idle until 100");  // r1 done at 60; r0 not there yet
  EXPECT_EQ(text(e.next(100)), "run r0.t0");
  EXPECT_EQ(text(e.next(130)), "done");
}

// Picks the ready task listed last: a policy may choose any ready task, never one whose inputs are missing.
class LastReady : public Policy {
 public:
  std::size_t pick(const std::vector<ReadyTask>& ready, Cycle) const override { return ready.size() - 1; }
};

TEST(SchedulerEngine, APolicyOnlyEverSeesTasksWhoseDependenciesAreDone) {
  SchedulerEngine e(std::make_unique<LastReady>());
  // 0 and 1 are roots; 2 needs both; 3 needs 0.
  e.admit(request(
      0, 0,
      {task(0, Unit::kArray), task(1, Unit::kArray), task(2, Unit::kSfu, {0, 1}), task(3, Unit::kSfu, {0})}));
  EXPECT_EQ(drain(e), (Steps{"run r0.t1", "run r0.t0", "run r0.t3", "run r0.t2", "done"}));
}

TEST(SchedulerEngine, MalformedRequestsAreRejected) {
  SchedulerEngine e(std::make_unique<InOrderPolicy>());
  EXPECT_THROW(e.admit(request(0, 0, {task(0, Unit::kArray, {0})})), std::invalid_argument);
  EXPECT_THROW(e.admit(request(0, 0, {task(0, Unit::kSfu, {}, 2)})), std::invalid_argument);
  EXPECT_EQ(text(e.next(0)), "done");  // nothing was admitted
}

TEST(SchedulerEngine, TheFactoryMakesTheInOrderPolicy) {
  const auto p = make_policy(PolicyKind::kInOrder);
  const std::vector<ReadyTask> ready = {{1, 0, 5}, {0, 3, 5}, {0, 2, 5}, {2, 0, 4}};
  EXPECT_EQ(p->pick(ready, 10), 3u);  // the earliest arrival first, then the request, then the task
}

}  // namespace
}  // namespace tacsim::scheduler
