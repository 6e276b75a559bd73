#pragma once
// What carries out the scheduler's steps on the hardware: a workload implements it (which commands a step
// becomes is the workload's business; when steps happen is the scheduler's).
//
// Contract: execute() runs in the dispatching SC_THREAD (dispatch.h). For kRun it returns when the step's
// work is done; for kStart as soon as the work is started on step.unit; for kAwait when the work last
// started on step.unit is done. It is never given kIdle or kDone. It may throw (a bad input found only now):
// the dispatch stops there.
#include "modules/scheduler/scheduler_engine.h"

namespace tacsim::scheduler {

class Executor {
 public:
  virtual ~Executor() = default;
  virtual void execute(const Step& step) = 0;
};

}  // namespace tacsim::scheduler
