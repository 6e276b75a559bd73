#pragma once
// What carries out the scheduler's steps on the hardware: a workload implements it (which commands a step
// becomes is the workload's business; when steps happen, and on which engine, is the scheduler's).
//
// Contract: execute() runs in engine `engine`'s driver thread (dispatch.h). For kRun it returns when the
// step's work is done; for kStart as soon as the work is started on step.unit; for kAwait when the work last
// started on step.unit of that engine is done. It is never given kIdle or kDone. It may throw (a bad input
// found only now): the dispatch stops there.
#include <cstddef>

#include "modules/scheduler/scheduler_engine.h"

namespace tacsim::scheduler {

class Executor {
 public:
  virtual ~Executor() = default;
  virtual void execute(std::size_t engine, const Step& step) = 0;
};

}  // namespace tacsim::scheduler
