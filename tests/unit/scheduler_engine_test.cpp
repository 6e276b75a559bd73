// The scheduler's engine and its policies without a kernel: the steps it hands each engine's driver, the
// batches it forms, and the promises of each policy, on hand-made requests and a small discrete-event driver
// that stands in for the hardware (each task takes the cycles the test gives it).
#include "modules/scheduler/scheduler_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "modules/common/rng.h"
#include "modules/scheduler/fcfs_policy.h"
#include "modules/scheduler/length_aware_policy.h"
#include "modules/scheduler/padded_policy.h"

namespace tacsim::scheduler {
namespace {

Task task(std::size_t op, Unit unit, std::vector<std::size_t> deps = {},
          std::vector<std::uint32_t> blocks = {}, std::uint32_t group = 0, double rank = 0) {
  Task t;
  t.op = op;
  t.unit = unit;
  t.deps = std::move(deps);
  t.blocks = std::move(blocks);
  t.group = group;
  t.rank = rank;
  return t;
}

Request request(std::uint64_t id, Cycle arrival, std::uint32_t length = 10) {
  Request r;
  r.id = id;
  r.arrival = arrival;
  r.arrival_ns = arrival;
  r.length = length;
  return r;
}

// Requests at their cycles (open loop), or a closed loop of `clients`: the first `clients` at 0, then one
// released `think` cycles after each finish.
class ListSource : public ArrivalSource {
 public:
  explicit ListSource(std::vector<Request> requests, std::size_t clients = 0, Cycle think = 0)
      : requests_(std::move(requests)), clients_(clients), think_(think) {
    for (std::size_t c = 0; c < clients; ++c) releases_.push_back(0);
  }
  std::optional<Cycle> next_arrival() const override {
    if (next_ == requests_.size()) return std::nullopt;
    if (clients_ == 0) return requests_[next_].arrival;
    if (releases_.empty()) return std::nullopt;
    return releases_.front();
  }
  Request take() override {
    Request r = requests_.at(next_++);
    if (clients_ > 0) {
      r.arrival = releases_.front();
      releases_.erase(releases_.begin());
    }
    return r;
  }
  void finished(Cycle c) override {
    finishes.push_back(c);
    if (clients_ > 0) releases_.push_back(c + think_);
  }
  bool exhausted() const override { return next_ == requests_.size(); }
  std::vector<Cycle> finishes;

 private:
  std::vector<Request> requests_;
  std::size_t next_ = 0, clients_ = 0;
  Cycle think_ = 0;
  std::vector<Cycle> releases_;
};

// Each batch's tasks from a function of the batch; records what it was asked and told.
class ListWorkload : public Workload {
 public:
  explicit ListWorkload(std::function<std::vector<Task>(const Batch&)> make) : make_(std::move(make)) {}
  std::vector<Task> tasks(const Batch& batch) override {
    admitted.push_back(batch);
    admitted.back().tasks = make_(batch);
    return admitted.back().tasks;
  }
  void finished(const Batch& batch, Cycle start, Cycle finish) override {
    done.push_back({batch.id, start, finish});
  }
  struct Done {
    std::size_t batch;
    Cycle start, finish;
  };
  std::vector<Batch> admitted;
  std::vector<Done> done;

 private:
  std::function<std::vector<Task>(const Batch&)> make_;
};

// A chain of n tasks on the array.
std::vector<Task> chain(std::size_t n) {
  std::vector<Task> t;
  for (std::size_t i = 0; i < n; ++i)
    t.push_back(task(i, Unit::kArray, i ? std::vector<std::size_t>{i - 1} : std::vector<std::size_t>{}));
  return t;
}

BatchLimits limits(std::uint32_t slots = 1, std::uint32_t batch_size = 4, Cycle timeout = 100,
                   std::uint32_t tokens = 64) {
  BatchLimits l;
  l.slots = slots;
  l.batch_size = batch_size;
  l.batch_timeout = timeout;
  l.max_batch_tokens = tokens;
  return l;
}

// A step as text: "run b0.t1", "start b0.t2 softmax 1 on sfu", "await sfu", "idle until 100", "done".
std::string text(const Step& s) {
  static const char* stages[] = {"", " scores", " softmax", " context"};
  static const char* units[] = {"array", "sfu", "topk"};
  std::ostringstream o;
  const std::string where = "b" + std::to_string(s.batch) + ".t" + std::to_string(s.task);
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
      o << "idle until " << (s.until == kNever ? std::string("woken") : std::to_string(s.until));
      break;
    case Step::Kind::kDone:
      o << "done";
      break;
  }
  return o.str();
}

using Steps = std::vector<std::string>;

// One engine: every step until done, each taking no time; an idle engine jumps to `until`.
Steps drain(SchedulerEngine& e, Cycle now = 0) {
  Steps out;
  for (int guard = 0; guard < 1000; ++guard) {
    const Step s = e.next(0, now);
    out.push_back(text(s));
    if (s.kind == Step::Kind::kDone) return out;
    if (s.kind == Step::Kind::kIdle) now = s.until;
  }
  ADD_FAILURE() << "no kDone after 1000 steps";
  return out;
}

TEST(SchedulerEngine, FcfsRunsSequencesOneAfterAnotherTasksInOrder) {
  ListSource source({request(7, 0), request(8, 0)});
  ListWorkload w([](const Batch& b) {
    if (b.id == 0)
      return std::vector<Task>{task(0, Unit::kArray), task(1, Unit::kSfu, {0}), task(2, Unit::kArray, {1})};
    return std::vector<Task>{task(0, Unit::kTopk)};
  });
  SchedulerEngine e(std::make_unique<FcfsPolicy>(), limits(), 1, source, w);
  EXPECT_EQ(drain(e), (Steps{"run b0.t0", "run b0.t1", "run b0.t2", "run b1.t0", "done"}));
  ASSERT_EQ(w.admitted.size(), 2u);
  EXPECT_EQ(w.admitted[0].members.size(), 1u);
  EXPECT_EQ(w.admitted[0].members[0].request.id, 7u);
  EXPECT_EQ(w.admitted[1].members[0].request.id, 8u);
  EXPECT_EQ(w.done.size(), 2u);
  EXPECT_EQ(e.requests_done(), 2u);
}

TEST(SchedulerEngine, APipelinedHeadOverlapsEachSoftmaxWithItsNeighboursGemms) {
  // Three blocks: the SFU's softmax of block b runs while the array computes S.V of b - 1 and Q.K^T of b + 1.
  ListSource source({request(0, 0)});
  ListWorkload w([](const Batch&) {
    return std::vector<Task>{task(0, Unit::kArray), task(1, Unit::kArray, {0}, {3}),
                             task(4, Unit::kArray, {1})};
  });
  SchedulerEngine e(std::make_unique<FcfsPolicy>(), limits(), 1, source, w);
  EXPECT_EQ(drain(e),
            (Steps{"run b0.t0", "run b0.t1 scores 0", "start b0.t1 softmax 0 on sfu", "run b0.t1 scores 1",
                   "await sfu", "start b0.t1 softmax 1 on sfu", "run b0.t1 context 0", "run b0.t1 scores 2",
                   "await sfu", "start b0.t1 softmax 2 on sfu", "run b0.t1 context 1", "await sfu",
                   "run b0.t1 context 2", "run b0.t2", "done"}));
}

TEST(SchedulerEngine, AHeadTakesTheBlocksOfTheEngineThatRunsIt) {
  ListSource source({request(0, 0)});
  ListWorkload w([](const Batch&) { return std::vector<Task>{task(0, Unit::kArray, {}, {1, 2})}; });
  SchedulerEngine e(std::make_unique<FcfsPolicy>(), limits(), 2, source, w, {{false}, {true}});
  EXPECT_EQ(text(e.next(0, 0)), "idle until woken");  // engine 0 does not serve group 0
  Steps on1;
  for (Step s = e.next(1, 0); s.kind != Step::Kind::kDone; s = e.next(1, 0)) on1.push_back(text(s));
  EXPECT_EQ(on1, (Steps{"run b0.t0 scores 0", "start b0.t0 softmax 0 on sfu", "run b0.t0 scores 1",
                        "await sfu", "start b0.t0 softmax 1 on sfu", "run b0.t0 context 0", "await sfu",
                        "run b0.t0 context 1"}));
}

TEST(SchedulerEngine, IdlesUntilTheNextArrival) {
  ListSource source({request(0, 40), request(1, 100)});
  ListWorkload w([](const Batch&) { return std::vector<Task>{task(0, Unit::kArray)}; });
  SchedulerEngine e(std::make_unique<FcfsPolicy>(), limits(), 1, source, w);
  EXPECT_EQ(text(e.next(0, 0)), "idle until 40");
  EXPECT_EQ(text(e.next(0, 40)), "run b0.t0");
  EXPECT_EQ(text(e.next(0, 60)), "idle until 100");  // b0 done at 60; request 1 not there yet
  EXPECT_EQ(text(e.next(0, 100)), "run b1.t0");
  EXPECT_EQ(text(e.next(0, 130)), "done");
  // Busy 40..60 and 100..130; idle 0..40 and 60..100 with nothing arrived: no bubble.
  EXPECT_EQ(e.engine_counters()[0].busy_cycles, 50u);
  EXPECT_EQ(e.engine_counters()[0].bubble_cycles, 0u);
}

TEST(SchedulerEngine, MalformedTasksAreRejected) {
  for (const auto& bad :
       {std::vector<Task>{task(0, Unit::kArray, {0})}, std::vector<Task>{task(0, Unit::kSfu, {}, {2})},
        std::vector<Task>{}, std::vector<Task>{task(0, Unit::kArray, {}, {}, 5)}}) {
    ListSource source({request(0, 0)});
    ListWorkload w([&](const Batch&) { return bad; });
    SchedulerEngine e(std::make_unique<FcfsPolicy>(), limits(), 1, source, w, {{true}});
    EXPECT_THROW(e.next(0, 0), std::logic_error);
  }
}

// Chained siblings (a layer's top-k heads): a step names the next ready sibling. On one engine (or the only
// one serving their stage) it is a hint; in a pool the engine reserves it, but only while as many siblings
// are ready as engines serve them, so that the other engine still finds one.
TEST(SchedulerEngine, ChainedSiblingsAreNamedAndInAPoolReserved) {
  auto heads = [](const Batch&) {
    std::vector<Task> t{task(0, Unit::kArray)};
    for (std::size_t h = 1; h <= 4; ++h) {
      t.push_back(task(h, Unit::kTopk, {0}));
      t.back().chain = 1;
    }
    t.push_back(task(5, Unit::kArray, {1, 2, 3, 4}));
    return t;
  };
  {
    ListSource source({request(0, 0)});
    ListWorkload w(heads);
    SchedulerEngine e(std::make_unique<FcfsPolicy>(), limits(), 1, source, w);
    EXPECT_EQ(e.next(0, 0).next_task, kNoTask);  // t0 is not chained
    std::vector<std::size_t> named;
    for (int i = 0; i < 4; ++i) named.push_back(e.next(0, 10 + i).next_task);
    EXPECT_EQ(named, (std::vector<std::size_t>{2, 3, 4, kNoTask}));
  }
  {
    ListSource source({request(0, 0)});
    ListWorkload w(heads);
    SchedulerEngine e(std::make_unique<FcfsPolicy>(), limits(), 2, source, w);
    EXPECT_EQ(text(e.next(0, 0)), "run b0.t0");
    EXPECT_EQ(text(e.next(1, 0)), "idle until woken");
    const Step a = e.next(0, 10);  // t1, with t2 reserved: t3 and t4 stay for engine 1
    EXPECT_EQ(text(a), "run b0.t1");
    EXPECT_EQ(a.next_task, 2u);
    const Step b = e.next(1, 10);  // t3: one sibling left for two engines, so none reserved
    EXPECT_EQ(text(b), "run b0.t3");
    EXPECT_EQ(b.next_task, kNoTask);
    EXPECT_EQ(text(e.next(1, 15)), "run b0.t4");  // engine 1 takes the one left, not engine 0's
    EXPECT_EQ(text(e.next(0, 20)), "run b0.t2");  // engine 0 its reserved sibling
    EXPECT_EQ(text(e.next(1, 20)), "idle until woken");
    EXPECT_EQ(text(e.next(0, 30)), "run b0.t5");
  }
}

// --- A discrete-event driver: engines run tasks for the cycles `cost` gives, wake as dispatch() does. ---

struct TaskRun {
  std::size_t engine;
  std::size_t batch, task;
  Cycle start, end;
};

struct Driver {
  SchedulerEngine& s;
  std::size_t engines;
  std::function<Cycle(const Batch&, std::size_t)> cost;
  std::vector<TaskRun> runs;
  std::vector<std::pair<std::size_t, Cycle>> idles;  // engine, cycle it got kIdle

  void run() {
    std::vector<Cycle> at(engines, 0);
    std::vector<bool> done(engines, false), waiting(engines, false);
    for (int guard = 0; guard < 1000000; ++guard) {
      // The engine whose next call comes first (ties: the lower index).
      std::size_t e = engines;
      for (std::size_t i = 0; i < engines; ++i)
        if (!done[i] && (e == engines || at[i] < at[e])) e = i;
      if (e == engines) return;
      const Cycle now = at[e];
      const Step step = s.next(e, now);
      // As dispatch(): a wake brings every idle engine back now.
      if (s.take_wake())
        for (std::size_t i = 0; i < engines; ++i)
          if (waiting[i] && i != e) at[i] = now, waiting[i] = false;
      waiting[e] = false;
      switch (step.kind) {
        case Step::Kind::kDone:
          done[e] = true;
          break;
        case Step::Kind::kIdle:
          idles.push_back({e, now});
          waiting[e] = true;
          at[e] = step.until;
          break;
        default: {
          const Batch& b = s.batch(step.batch);
          const Cycle c = step.kind == Step::Kind::kRun ? cost(b, step.task) : 0;
          runs.push_back({e, step.batch, step.task, now, now + c});
          at[e] = now + c;
        }
      }
      for (std::size_t i = 0; i < engines; ++i)
        if (!done[i] && at[i] == kNever && !waiting[i])
          ADD_FAILURE() << "engine " << i << " would sleep forever";
    }
    ADD_FAILURE() << "the driver did not finish";
  }
};

TEST(PaddedPolicy, ABatchLeavesFullOrWhenItsOldestHasWaitedTheTimeout) {
  // Batches of up to 3; timeout 100. Requests at 0, 10, 20 (a full batch at 20), then 30 and 50 (the timeout
  // of request 3 closes a batch of two at 130), then 400 alone (closed at 500).
  ListSource source({request(0, 0, 5), request(1, 10, 9), request(2, 20, 7), request(3, 30, 4),
                     request(4, 50, 6), request(5, 400, 3)});
  ListWorkload w([](const Batch&) { return chain(1); });
  SchedulerEngine e(std::make_unique<PaddedPolicy>(limits(1, 3, 100)), limits(1, 3, 100), 1, source, w);
  Driver d{e, 1, [](const Batch&, std::size_t) { return Cycle{5}; }, {}, {}};
  d.run();
  ASSERT_EQ(w.admitted.size(), 3u);
  EXPECT_EQ(w.admitted[0].admitted, 20u);
  EXPECT_EQ(w.admitted[1].admitted, 130u);
  EXPECT_EQ(w.admitted[2].admitted, 500u);
  ASSERT_EQ(w.admitted[0].members.size(), 3u);
  // Every member runs at the batch's longest: 9 tokens, 3 x 9 = 27 computed for 21 real.
  for (const Member& m : w.admitted[0].members) EXPECT_EQ(m.padded_length, 9u);
  EXPECT_EQ(w.admitted[0].tokens(), 27u);
  EXPECT_EQ(w.admitted[1].tokens(), 12u);  // 4 padded to 6
  EXPECT_EQ(w.admitted[2].tokens(), 3u);
  // The engine waited for the timeouts: idle until 20, until 130, until 400 (nothing there), until 500.
  std::vector<Cycle> idles;
  for (const auto& [engine, at] : d.idles) idles.push_back(at);
  EXPECT_EQ(idles, (std::vector<Cycle>{0, 10, 25, 30, 50, 135, 400}));
  // Waiting for the timeouts with requests there is a bubble: 0..20, 30..130 and 400..500.
  EXPECT_EQ(e.engine_counters()[0].bubble_cycles, 20u + 100u + 100u);
}

TEST(FcfsPolicy, ClosedLoopReleasesTheNextRequestWhenOneFinishes) {
  // Two clients, think time 7: requests 0 and 1 at 0; each finish releases the next 7 cycles later.
  std::vector<Request> reqs;
  for (std::uint64_t i = 0; i < 5; ++i) reqs.push_back(request(i, 0));
  ListSource source(reqs, 2, 7);
  ListWorkload w([](const Batch&) { return chain(2); });
  SchedulerEngine e(std::make_unique<FcfsPolicy>(), limits(2), 1, source, w);
  Driver d{e, 1, [](const Batch&, std::size_t) { return Cycle{10}; }, {}, {}};
  d.run();
  // Batch 0: 0..20; batch 1: 20..40; request 2 released at 27, runs 40..60; request 3 at 47, 60..80;
  // request 4 at 67, 80..100.
  ASSERT_EQ(w.done.size(), 5u);
  std::vector<Cycle> finishes, admitted;
  for (const auto& dn : w.done) finishes.push_back(dn.finish);
  for (const auto& b : w.admitted) admitted.push_back(b.members[0].request.arrival);
  EXPECT_EQ(finishes, (std::vector<Cycle>{20, 40, 60, 80, 100}));
  EXPECT_EQ(admitted, (std::vector<Cycle>{0, 0, 27, 47, 67}));
  EXPECT_EQ(source.finishes, finishes);
}

TEST(LengthAwarePolicy, PacksTheOldestThenTheLongestThatFit) {
  const LengthAwarePolicy p(limits(1, 4, 100, 64));
  std::deque<Request> q = {request(0, 0, 20), request(1, 1, 50), request(2, 2, 30),
                           request(3, 3, 14), request(4, 4, 10), request(5, 5, 44)};
  Cycle wake = 0;
  // The oldest (20), then longest first: 50 no, 44 yes (64 full).
  auto c = p.form(q, 10, wake);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->members, (std::vector<std::size_t>{0, 5}));
  EXPECT_EQ(c->padded_length, 0u);
  q.pop_front();  // now 50 is the oldest: 50 + 14 = 64
  c = p.form(q, 10, wake);
  EXPECT_EQ(c->members, (std::vector<std::size_t>{0, 2}));
  std::deque<Request> big = {request(0, 0, 100), request(1, 0, 3)};
  c = p.form(big, 0, wake);  // longer than the budget: alone
  EXPECT_EQ(c->members, (std::vector<std::size_t>{0}));
}

TEST(LengthAwarePolicy, PicksTheHighestRankAmongBatchesThereWhenTheLongestWaiterBecameReady) {
  const LengthAwarePolicy p(limits());
  // batch, task, arrival, rank, ready_seq, admitted_seq
  std::vector<ReadyTask> ready = {{0, 5, 0, 10, 7, 0}, {0, 6, 0, 12, 8, 0}, {1, 0, 5, 50, 9, 3}};
  EXPECT_EQ(p.pick(ready, 0), 2u);  // batch 1 was admitted (3) before the oldest ready task (7): rank wins
  ready[2].admitted_seq = 8;        // admitted after task 5 of batch 0 became ready: it waits its turn
  EXPECT_EQ(p.pick(ready, 0), 1u);
  ready[1].rank = 10;  // a tie: the task listed first
  EXPECT_EQ(p.pick(ready, 0), 0u);
}

// A random graph per batch: `n` tasks, each depending on up to two earlier ones; groups 0 and 1; ranks the
// longest path to the end in unit costs.
std::vector<Task> random_graph(std::uint64_t seed, std::size_t n) {
  Rng rng(seed);
  std::vector<Task> t;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::size_t> deps;
    for (int k = 0; k < 2 && i > 0; ++k) {
      const std::size_t d = rng.below(i);
      if (std::find(deps.begin(), deps.end(), d) == deps.end()) deps.push_back(d);
    }
    std::sort(deps.begin(), deps.end());
    t.push_back(task(i, Unit::kArray, deps, {}, static_cast<std::uint32_t>(rng.below(2))));
  }
  std::vector<double> lp(n, 1.0);
  for (std::size_t i = n; i-- > 0;)
    for (std::size_t d : t[i].deps) lp[d] = std::max(lp[d], 1.0 + lp[i]);
  for (std::size_t i = 0; i < n; ++i) t[i].rank = lp[i];
  return t;
}

TEST(LengthAwarePolicy, NeverLeavesAnEngineIdleWhileATaskItServesIsReady) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed * 77);
    std::vector<Request> reqs;
    Cycle t = 0;
    for (std::uint64_t i = 0; i < 12; ++i) reqs.push_back(request(i, t += rng.below(40), 1 + rng.below(30)));
    ListSource source(reqs);
    ListWorkload w([seed](const Batch& b) { return random_graph(seed * 1000 + b.id, 12); });
    const std::size_t engines = 3;
    // A pipeline: engine 0 serves group 0, engine 1 group 1, engine 2 both.
    SchedulerEngine e(std::make_unique<LengthAwarePolicy>(limits(3, 4, 100, 40)), limits(3, 4, 100, 40),
                      engines, source, w, {{true, false}, {false, true}, {true, true}});
    Driver d{e,
             engines,
             [](const Batch& b, std::size_t task) { return Cycle{3 + (b.id * 7 + task * 5) % 11}; },
             {},
             {}};
    d.run();
    ASSERT_EQ(e.requests_done(), 12u);
    // When each task was ready (its batch admitted, its dependencies done) and when it started.
    std::map<std::pair<std::size_t, std::size_t>, Cycle> end_of, start_of;
    for (const TaskRun& r : d.runs) {
      end_of[{r.batch, r.task}] = std::max(end_of[{r.batch, r.task}], r.end);
      if (!start_of.count({r.batch, r.task})) start_of[{r.batch, r.task}] = r.start;
    }
    // Each engine's idle stretches: from a kIdle to its next task (zero-length ones are calls superseded in
    // the same cycle, when another engine's progress woke it).
    std::size_t stretches = 0;
    for (const auto& [engine, at] : d.idles) {
      Cycle until = kNever;
      for (const TaskRun& r : d.runs)
        if (r.engine == engine && r.start >= at) until = std::min(until, r.start);
      if (until == at) continue;
      ++stretches;
      for (const Batch& b : w.admitted)
        for (std::size_t k = 0; k < b.tasks.size(); ++k) {
          if (engine != 2 && b.tasks[k].group != engine) continue;  // not one it serves
          Cycle ready = b.admitted;
          for (std::size_t dep : b.tasks[k].deps) ready = std::max(ready, end_of[{b.id, dep}]);
          const Cycle start = start_of[{b.id, k}];
          EXPECT_FALSE(std::max(ready, at) < std::min(start, until))
              << "seed " << seed << ": engine " << engine << " idle from " << at << " to " << until
              << " while batch " << b.id << " task " << k << " waited from " << ready << " to " << start;
        }
    }
    EXPECT_GT(stretches, 0u);
  }
}

TEST(LengthAwarePolicy, AReadyTaskWaitsOnlyForTheBatchesInFlightWhenItBecameReady) {
  // The bound: a task that became ready at cycle r starts before any task of a batch admitted after r, on
  // the engines that serve it; so it waits at most for the other tasks of the S batches in flight at r.
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed * 31);
    std::vector<Request> reqs;
    Cycle t = 0;
    for (std::uint64_t i = 0; i < 16; ++i) reqs.push_back(request(i, t += rng.below(25), 1 + rng.below(20)));
    ListSource source(reqs);
    ListWorkload w([seed](const Batch& b) { return random_graph(seed * 500 + b.id, 10); });
    const std::uint32_t slots = 3;
    SchedulerEngine e(std::make_unique<LengthAwarePolicy>(limits(slots, 4, 100, 25)),
                      limits(slots, 4, 100, 25), 1, source, w);
    Driver d{
        e, 1, [](const Batch& b, std::size_t task) { return Cycle{2 + (b.id * 3 + task * 7) % 9}; }, {}, {}};
    d.run();
    ASSERT_EQ(e.requests_done(), 16u);
    std::map<std::size_t, Cycle> admitted;
    for (const Batch& b : w.admitted) admitted[b.id] = b.admitted;
    std::map<std::pair<std::size_t, std::size_t>, Cycle> end_of, start_of;
    for (const TaskRun& r : d.runs) {
      end_of[{r.batch, r.task}] = std::max(end_of[{r.batch, r.task}], r.end);
      if (!start_of.count({r.batch, r.task})) start_of[{r.batch, r.task}] = r.start;
    }
    std::size_t waited_max = 0;
    for (const Batch& b : w.admitted)
      for (std::size_t k = 0; k < b.tasks.size(); ++k) {
        Cycle ready = b.admitted;
        for (std::size_t dep : b.tasks[k].deps) ready = std::max(ready, end_of[{b.id, dep}]);
        const Cycle start = start_of[{b.id, k}];
        // Every task that started while this one waited belongs to a batch in flight at `ready`.
        std::set<std::size_t> in_flight;
        std::size_t waited = 0;
        for (const TaskRun& r : d.runs)
          if (r.start >= ready && r.start < start && !(r.batch == b.id && r.task == k)) {
            EXPECT_LE(admitted[r.batch], ready) << "seed " << seed << ": batch " << b.id << " task " << k
                                                << " ready at " << ready << " overtaken by batch " << r.batch;
            in_flight.insert(r.batch);
            ++waited;
          }
        EXPECT_LE(in_flight.size(), slots);
        waited_max = std::max(waited_max, waited);
      }
    // At most the other tasks of S batches of 10.
    EXPECT_LE(waited_max, slots * 10u - 1);
  }
}

TEST(SchedulerEngine, BubblesAreIdleEngineCyclesWhileArrivedRequestsHaveWork) {
  // Two engines in a pipeline (engine 0 serves group 0, engine 1 group 1); a batch of two tasks, group 0 then
  // group 1, each 10 cycles. Engine 1 waits 0..10 for the first (a bubble), engine 0 waits 10..20.
  ListSource source({request(0, 0)});
  ListWorkload w([](const Batch&) {
    return std::vector<Task>{task(0, Unit::kArray, {}, {}, 0), task(1, Unit::kArray, {0}, {}, 1)};
  });
  SchedulerEngine e(std::make_unique<LengthAwarePolicy>(limits()), limits(), 2, source, w,
                    {{true, false}, {false, true}});
  Driver d{e, 2, [](const Batch&, std::size_t) { return Cycle{10}; }, {}, {}};
  d.run();
  EXPECT_EQ(e.engine_counters()[0].busy_cycles, 10u);
  EXPECT_EQ(e.engine_counters()[1].busy_cycles, 10u);
  EXPECT_EQ(e.engine_counters()[0].bubble_cycles, 10u);
  EXPECT_EQ(e.engine_counters()[1].bubble_cycles, 10u);
  EXPECT_EQ(e.last_finish(), 20u);
}

TEST(SchedulerEngine, TheFactoryMakesEachPolicy) {
  EXPECT_NE(dynamic_cast<FcfsPolicy*>(make_policy(PolicyKind::kFcfs, limits()).get()), nullptr);
  EXPECT_NE(dynamic_cast<PaddedPolicy*>(make_policy(PolicyKind::kPadded, limits()).get()), nullptr);
  EXPECT_NE(dynamic_cast<LengthAwarePolicy*>(make_policy(PolicyKind::kLengthAware, limits()).get()), nullptr);
  EXPECT_EQ(parse_policy("length-aware"), PolicyKind::kLengthAware);
  EXPECT_FALSE(parse_policy("lifo"));
  const std::vector<ReadyTask> ready = {{1, 0, 5}, {0, 3, 5}, {0, 2, 5}, {2, 0, 4}};
  EXPECT_EQ(pick_oldest(ready), 3u);  // the earliest arrival first, then the batch, then the task
}

}  // namespace
}  // namespace tacsim::scheduler
