#pragma once
// The test bench every module test shares (after VCML's test/testing.h): a test derives a bench that owns the
// module under test and its collaborators as members (their SystemC names equal the member names) and writes
// its stimulus in stimulus(), which runs in the bench's own SC_THREAD and may wait. run() simulates until the
// stimulus returns, then stops the kernel (a DRAM refreshes forever), and fails the test when the simulation
// ended first: a module that never answered, a deadlock. The shared main (test_main.cpp) installs
// report_handler, so a SystemC warning or error fails the test that raised it.
#include <systemc>

#include "modules/common/clock.h"
#include "modules/common/types.h"

namespace tacsim::testing_support {

// Turns SystemC warnings and errors into test failures, then lets SystemC act on them as it would.
void report_handler(const sc_core::sc_report& report, const sc_core::sc_actions& actions);

class ModuleBench : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(ModuleBench);
  explicit ModuleBench(const sc_core::sc_module_name& name = "bench", double clock_mhz = 1000.0);

  // The bench's clock, which the modules under test may share.
  ClockDomain clock;

  // Elaborates and simulates; returns whether the stimulus ran to its end (and adds a failure when not).
  bool run();
  bool finished() const { return finished_; }
  // The cycle at which the stimulus returned.
  Cycle finish_cycle() const { return finish_cycle_; }

 protected:
  virtual void stimulus() = 0;

 private:
  void stimulus_thread();
  bool finished_ = false;
  Cycle finish_cycle_ = 0;
};

}  // namespace tacsim::testing_support
