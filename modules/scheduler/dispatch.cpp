#include "modules/scheduler/dispatch.h"

namespace tacsim::scheduler {

void dispatch(SchedulerEngine& engine, Executor& executor, const ClockDomain& clock) {
  for (;;) {
    const Step step = engine.next(clock.now());
    switch (step.kind) {
      case Step::Kind::kDone:
        return;
      case Step::Kind::kIdle:
        clock.wait_until(step.until);
        break;
      default:
        executor.execute(step);
    }
  }
}

}  // namespace tacsim::scheduler
