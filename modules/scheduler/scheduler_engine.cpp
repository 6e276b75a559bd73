#include "modules/scheduler/scheduler_engine.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace tacsim::scheduler {

std::uint32_t Batch::tokens() const {
  std::uint32_t t = 0;
  for (const Member& m : members) t += m.padded_length;
  return t;
}

SchedulerEngine::SchedulerEngine(std::unique_ptr<Policy> policy, const BatchLimits& limits,
                                 std::size_t engines, ArrivalSource& source, Workload& workload,
                                 std::vector<std::vector<bool>> serves, Observer* observer)
    : policy_(std::move(policy)),
      limits_(limits),
      source_(source),
      workload_(workload),
      serves_(std::move(serves)),
      observer_(observer),
      engines_(engines),
      counters_(engines) {
  if (!policy_) throw std::invalid_argument("SchedulerEngine: no policy");
  if (engines == 0) throw std::invalid_argument("SchedulerEngine: no engines");
  if (limits.slots == 0) throw std::invalid_argument("SchedulerEngine: no slots");
  if (!serves_.empty() && serves_.size() != engines)
    throw std::invalid_argument("SchedulerEngine: serves lists a different number of engines");
  for (std::uint32_t s = 0; s < limits.slots; ++s) free_slots_.push_back(s);
}

bool SchedulerEngine::serves(std::size_t engine, std::uint32_t group) const {
  return serves_.empty() || (group < serves_[engine].size() && serves_[engine][group]);
}

bool SchedulerEngine::take_wake() {
  const bool w = wake_;
  wake_ = false;
  return w;
}

const Batch& SchedulerEngine::batch(std::size_t id) const {
  return batches_.at(id).batch;
}

bool SchedulerEngine::done() const {
  return queue_.empty() && batches_.empty() && source_.exhausted() && !source_.next_arrival();
}

void SchedulerEngine::queue_changed(Cycle t) {
  if (observer_) observer_->queue_changed(t, queue_.size(), batches_.size());
}

// Bubbles up to cycle t: each engine not running a task while requests that have arrived have work.
void SchedulerEngine::account(Cycle t) {
  if (t <= last_account_) return;
  if (!queue_.empty() || !batches_.empty())
    for (std::size_t e = 0; e < engines_.size(); ++e)
      if (!engines_[e].running) counters_[e].bubble_cycles += t - last_account_;
  last_account_ = t;
}

void SchedulerEngine::advance(Cycle now, bool inclusive) {
  for (;;) {
    const Cycle arrival = source_.next_arrival().value_or(kNever);
    const Cycle timeout = !queue_.empty() && !free_slots_.empty() ? policy_wake_ : kNever;
    const Cycle t = std::min(arrival, timeout);
    if (t == kNever || t > now || (!inclusive && t == now)) return;
    account(t);
    if (arrival == t) {
      Request r = source_.take();
      r.index = arrived_++;
      length_sum_ += r.length;
      queue_.push_back(r);
      queue_changed(t);
    }
    form_batches(t);
  }
}

void SchedulerEngine::form_batches(Cycle now) {
  policy_wake_ = kNever;
  while (!queue_.empty() && !free_slots_.empty()) {
    Cycle wake = kNever;
    const auto choice = policy_->form(queue_, now, wake);
    if (!choice) {
      if (wake <= now) throw std::logic_error("SchedulerEngine: the policy waits for a time that has come");
      policy_wake_ = wake;
      return;
    }
    admit(*choice, now);
  }
}

void SchedulerEngine::admit(const BatchChoice& choice, Cycle now) {
  std::vector<std::size_t> picked = choice.members;
  std::sort(picked.begin(), picked.end());
  if (picked.empty() || picked.back() >= queue_.size() ||
      std::adjacent_find(picked.begin(), picked.end()) != picked.end())
    throw std::logic_error("SchedulerEngine: the policy formed a batch of no, or unknown, requests");
  BatchState b;
  b.batch.id = next_batch_++;
  b.batch.slot = free_slots_.front();
  free_slots_.erase(free_slots_.begin());
  b.batch.admitted = now;
  b.batch.ranking_length =
      static_cast<std::uint32_t>(std::max<std::uint64_t>(1, (length_sum_ + arrived_ / 2) / arrived_));
  b.arrival = kNever;
  for (std::size_t i : choice.members) {
    const Request& r = queue_[i];
    b.batch.members.push_back({r, std::max(r.length, choice.padded_length)});
    b.arrival = std::min(b.arrival, r.arrival);
  }
  for (auto it = picked.rbegin(); it != picked.rend(); ++it)
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(*it));
  b.batch.tasks = workload_.tasks(b.batch);
  const auto& tasks = b.batch.tasks;
  const std::size_t n = tasks.size();
  if (n == 0) throw std::logic_error("SchedulerEngine: a batch of no tasks");
  b.waiting.assign(n, 0);
  b.consumers.resize(n);
  for (std::size_t t = 0; t < n; ++t) {
    const Task& task = tasks[t];
    if (!task.blocks.empty() && (task.unit != Unit::kArray || task.blocks.size() != engines_.size()))
      throw std::logic_error("SchedulerEngine: task " + std::to_string(t) +
                             ": a pipelined head runs on the array and has blocks for every engine");
    bool served = false;
    for (std::size_t e = 0; e < engines_.size(); ++e) served = served || serves(e, task.group);
    if (!served)
      throw std::logic_error("SchedulerEngine: no engine serves group " + std::to_string(task.group));
    for (std::size_t d : task.deps) {
      if (d >= t)
        throw std::logic_error("SchedulerEngine: task " + std::to_string(t) + " depends on task " +
                               std::to_string(d) + ", which does not come before it");
      b.waiting[t] += 1;
      b.consumers[d].push_back(t);
    }
  }
  b.admitted_seq = seq_++;
  const std::size_t id = b.batch.id;
  BatchState& placed = batches_.emplace(id, std::move(b)).first->second;
  for (std::size_t t = 0; t < n; ++t)
    if (placed.waiting[t] == 0) make_ready(placed, t);
  queue_changed(now);
}

void SchedulerEngine::make_ready(BatchState& b, std::size_t task) {
  ready_.push_back({b.batch.id, task, b.arrival, b.batch.tasks[task].rank, seq_++, b.admitted_seq});
  wake_ = engines_.size() > 1;
}

void SchedulerEngine::finish_task(std::size_t batch, std::size_t task, Cycle now) {
  BatchState& b = batches_.at(batch);
  b.done += 1;
  for (std::size_t c : b.consumers[task])
    if (--b.waiting[c] == 0) make_ready(b, c);
  if (b.done < b.batch.tasks.size()) return;
  // The batch is done: its members finish, its slot takes the next batch.
  const Batch finished = std::move(b.batch);
  const Cycle start = b.start;
  batches_.erase(batch);
  free_slots_.insert(std::lower_bound(free_slots_.begin(), free_slots_.end(), finished.slot), finished.slot);
  requests_done_ += finished.members.size();
  batches_done_ += 1;
  last_finish_ = std::max(last_finish_, now);
  for (std::size_t i = 0; i < finished.members.size(); ++i) source_.finished(now);
  workload_.finished(finished, start, now);
  queue_changed(now);
  form_batches(now);
}

void SchedulerEngine::expand(std::size_t engine, const BatchState& b, std::size_t t) {
  const Task& task = b.batch.tasks[t];
  auto& steps = engines_[engine].steps;
  auto step = [&](Step::Kind kind, Stage stage, std::uint32_t block, Unit unit) {
    Step s;
    s.kind = kind;
    s.batch = b.batch.id;
    s.task = t;
    s.stage = stage;
    s.block = block;
    s.unit = unit;
    steps.push_back(s);
  };
  if (task.blocks.empty()) {
    step(Step::Kind::kRun, Stage::kWhole, 0, task.unit);
    return;
  }
  const std::uint32_t blocks = task.blocks[engine];
  step(Step::Kind::kRun, Stage::kScores, 0, Unit::kArray);
  for (std::uint32_t k = 0; k < blocks; ++k) {
    step(Step::Kind::kStart, Stage::kSoftmax, k, Unit::kSfu);
    if (k > 0) step(Step::Kind::kRun, Stage::kContext, k - 1, Unit::kArray);
    if (k + 1 < blocks) step(Step::Kind::kRun, Stage::kScores, k + 1, Unit::kArray);
    step(Step::Kind::kAwait, Stage::kSoftmax, k, Unit::kSfu);
  }
  step(Step::Kind::kRun, Stage::kContext, blocks - 1, Unit::kArray);
}

Step SchedulerEngine::next(std::size_t engine, Cycle now) {
  EngineState& es = engines_.at(engine);
  if (es.running && es.steps.empty()) {
    // Its task is done: first what happened before now, then the finish.
    advance(now, false);
    account(now);
    es.running = false;
    counters_[engine].busy_cycles += now - es.start;
    counters_[engine].tasks += 1;
    if (observer_) observer_->busy(engine, es.start, now);
    finish_task(es.batch, es.task, now);
    wake_ = engines_.size() > 1;
  }
  if (es.running) {
    const Step s = es.steps.front();
    es.steps.pop_front();
    return s;
  }
  advance(now, true);
  if (es.reserved) {  // the chained sibling, taken before any other choice
    const ReadyTask chosen = *es.reserved;
    es.reserved.reset();
    return start(engine, chosen, now);
  }
  candidates_.clear();
  candidate_tasks_.clear();
  for (std::size_t i = 0; i < ready_.size(); ++i) {
    const ReadyTask& r = ready_[i];
    if (!serves(engine, batches_.at(r.batch).batch.tasks[r.task].group)) continue;
    candidates_.push_back(i);
    candidate_tasks_.push_back(r);
  }
  if (candidates_.empty()) {
    Step s;
    if (done()) return s;  // kDone
    s.kind = Step::Kind::kIdle;
    s.until = source_.next_arrival().value_or(kNever);
    if (!queue_.empty() && !free_slots_.empty()) s.until = std::min(s.until, policy_wake_);
    return s;
  }
  const std::size_t c = policy_->pick(candidate_tasks_, now);
  if (c >= candidates_.size())
    throw std::logic_error("SchedulerEngine: the policy picked past the ready list");
  const ReadyTask chosen = ready_[candidates_[c]];
  ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(candidates_[c]));
  return start(engine, chosen, now);
}

Step SchedulerEngine::start(std::size_t engine, const ReadyTask& chosen, Cycle now) {
  EngineState& es = engines_[engine];
  account(now);
  BatchState& b = batches_.at(chosen.batch);
  if (!b.started) b.started = true, b.start = now;
  es.running = true;
  es.batch = chosen.batch;
  es.task = chosen.task;
  es.start = now;
  expand(engine, b, chosen.task);
  Step s = es.steps.front();
  es.steps.pop_front();
  s.next_task = chain_sibling(engine, b, chosen.task);
  return s;
}

std::size_t SchedulerEngine::chain_sibling(std::size_t engine, const BatchState& b, std::size_t task) {
  const std::uint32_t chain = b.batch.tasks[task].chain;
  if (chain == 0) return kNoTask;
  std::size_t siblings = 0, first = ready_.size();
  for (std::size_t i = 0; i < ready_.size(); ++i) {
    const ReadyTask& r = ready_[i];
    if (r.batch != b.batch.id || b.batch.tasks[r.task].chain != chain) continue;
    ++siblings;
    if (first == ready_.size() || r.task < ready_[first].task) first = i;
  }
  std::size_t serving = 0;
  for (std::size_t e = 0; e < engines_.size(); ++e) serving += serves(e, b.batch.tasks[task].group);
  if (siblings == 0) return kNoTask;
  const std::size_t sibling = ready_[first].task;
  if (serving == 1) return sibling;  // it runs here whenever it runs: a hint, the policy still chooses
  if (siblings < serving) return kNoTask;
  engines_[engine].reserved = ready_[first];
  ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(first));
  return sibling;
}

}  // namespace tacsim::scheduler
