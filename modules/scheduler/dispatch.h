#pragma once
// The scheduler's thin SystemC side: in the calling SC_THREAD, it asks the engine for each step at the
// current cycle, hands it to the executor, and waits out idle stretches (until the next arrival) in one wait.
#include "modules/common/clock.h"
#include "modules/scheduler/executor.h"
#include "modules/scheduler/scheduler_engine.h"

namespace tacsim::scheduler {

// Returns when every admitted request is done.
void dispatch(SchedulerEngine& engine, Executor& executor, const ClockDomain& clock);

}  // namespace tacsim::scheduler
