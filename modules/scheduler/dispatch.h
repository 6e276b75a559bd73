#pragma once
// The scheduler's thin SystemC side: one engine's driver. In the calling SC_THREAD it asks the scheduler's
// engine for that engine's next step at the current cycle, hands it to the executor, and waits out idle
// stretches in one wait: until the step's `until` (an arrival, a batch timeout) or until another driver's
// progress notifies `progress` (a task finished, tasks became ready).
#include <cstddef>

#include <systemc>

#include "modules/common/clock.h"
#include "modules/scheduler/executor.h"
#include "modules/scheduler/scheduler_engine.h"

namespace tacsim::scheduler {

// Returns when every request is done (kDone).
void dispatch(SchedulerEngine& scheduler, std::size_t engine, Executor& executor, const ClockDomain& clock,
              sc_core::sc_event& progress);

}  // namespace tacsim::scheduler
