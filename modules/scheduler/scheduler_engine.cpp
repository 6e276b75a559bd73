#include "modules/scheduler/scheduler_engine.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace tacsim::scheduler {

SchedulerEngine::SchedulerEngine(std::unique_ptr<Policy> policy) : policy_(std::move(policy)) {
  if (!policy_) throw std::invalid_argument("SchedulerEngine: no policy");
}

std::size_t SchedulerEngine::admit(Request request) {
  State s;
  const std::size_t n = request.tasks.size();
  s.waiting.assign(n, 0);
  s.consumers.resize(n);
  for (std::size_t t = 0; t < n; ++t) {
    const Task& task = request.tasks[t];
    if (task.blocks > 0 && task.unit != Unit::kArray)
      throw std::invalid_argument("SchedulerEngine: request " + std::to_string(request.id) + " task " +
                                  std::to_string(t) + ": a pipelined head runs on the array");
    for (std::size_t d : task.deps) {
      if (d >= t)
        throw std::invalid_argument("SchedulerEngine: request " + std::to_string(request.id) + " task " +
                                    std::to_string(t) + " depends on task " + std::to_string(d) +
                                    ", which does not come before it");
      s.waiting[t] += 1;
      s.consumers[d].push_back(t);
    }
  }
  s.request = std::move(request);
  requests_.push_back(std::move(s));
  return requests_.size() - 1;
}

void SchedulerEngine::release_arrived(Cycle now) {
  for (std::size_t r = 0; r < requests_.size(); ++r) {
    State& s = requests_[r];
    if (s.released || s.request.arrival > now) continue;
    s.released = true;
    for (std::size_t t = 0; t < s.waiting.size(); ++t)
      if (s.waiting[t] == 0) ready_.push_back({r, t, s.request.arrival});
  }
}

void SchedulerEngine::finish(std::size_t r, std::size_t t) {
  State& s = requests_[r];
  s.done += 1;
  for (std::size_t c : s.consumers[t])
    if (--s.waiting[c] == 0) ready_.push_back({r, c, s.request.arrival});
}

void SchedulerEngine::expand(std::size_t r, std::size_t t) {
  const Task& task = requests_[r].request.tasks[t];
  auto step = [&](Step::Kind kind, Stage stage, std::uint32_t block, Unit unit) {
    Step s;
    s.kind = kind;
    s.request = r;
    s.task = t;
    s.stage = stage;
    s.block = block;
    s.unit = unit;
    steps_.push_back(s);
  };
  if (task.blocks == 0) {
    step(Step::Kind::kRun, Stage::kWhole, 0, task.unit);
    return;
  }
  const std::uint32_t blocks = task.blocks;
  step(Step::Kind::kRun, Stage::kScores, 0, Unit::kArray);
  for (std::uint32_t b = 0; b < blocks; ++b) {
    step(Step::Kind::kStart, Stage::kSoftmax, b, Unit::kSfu);
    if (b > 0) step(Step::Kind::kRun, Stage::kContext, b - 1, Unit::kArray);
    if (b + 1 < blocks) step(Step::Kind::kRun, Stage::kScores, b + 1, Unit::kArray);
    step(Step::Kind::kAwait, Stage::kSoftmax, b, Unit::kSfu);
  }
  step(Step::Kind::kRun, Stage::kContext, blocks - 1, Unit::kArray);
}

Step SchedulerEngine::next(Cycle now) {
  if (steps_.empty() && running_) {
    running_ = false;
    finish(current_request_, current_task_);
  }
  if (steps_.empty()) {
    release_arrived(now);
    if (ready_.empty()) {
      Step s;
      Cycle first = kNever;
      for (const State& st : requests_)
        if (!st.released) first = std::min(first, st.request.arrival);
      if (first != kNever) {
        s.kind = Step::Kind::kIdle;
        s.until = first;
      }
      return s;  // kDone when no request is left to arrive
    }
    const std::size_t i = policy_->pick(ready_, now);
    if (i >= ready_.size()) throw std::logic_error("SchedulerEngine: the policy picked past the ready list");
    const ReadyTask chosen = ready_[i];
    ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(i));
    current_request_ = chosen.request;
    current_task_ = chosen.task;
    running_ = true;
    expand(chosen.request, chosen.task);
  }
  const Step s = steps_.front();
  steps_.pop_front();
  return s;
}

}  // namespace tacsim::scheduler
