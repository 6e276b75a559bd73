#include "modules/scheduler/dispatch.h"

namespace tacsim::scheduler {

void dispatch(SchedulerEngine& scheduler, std::size_t engine, Executor& executor, const ClockDomain& clock,
              sc_core::sc_event& progress) {
  for (;;) {
    const Step step = scheduler.next(engine, clock.now());
    if (scheduler.take_wake()) progress.notify(sc_core::SC_ZERO_TIME);
    switch (step.kind) {
      case Step::Kind::kDone:
        return;
      case Step::Kind::kIdle:
        if (step.until == kNever)
          sc_core::wait(progress);
        else
          sc_core::wait(clock.time_at(step.until) - sc_core::sc_time_stamp(), progress);
        break;
      default:
        executor.execute(engine, step);
    }
  }
}

}  // namespace tacsim::scheduler
