#include "tests/support/module_bench.h"

#include <gtest/gtest.h>

namespace tacsim::testing_support {

void report_handler(const sc_core::sc_report& report, const sc_core::sc_actions& actions) {
  if (report.get_severity() >= sc_core::SC_WARNING)
    ADD_FAILURE() << "SystemC " << (report.get_severity() == sc_core::SC_WARNING ? "warning" : "error")
                  << " from " << report.get_msg_type() << ": " << report.get_msg();
  sc_core::sc_report_handler::default_handler(report, actions);
}

ModuleBench::ModuleBench(const sc_core::sc_module_name& name, double clock_mhz)
    : sc_module(name), clock(clock_mhz) {
  SC_THREAD(stimulus_thread);
}

void ModuleBench::stimulus_thread() {
  stimulus();
  finished_ = true;
  finish_cycle_ = clock.now();
  sc_core::sc_stop();
}

bool ModuleBench::run() {
  sc_core::sc_start();
  if (!finished_) ADD_FAILURE() << name() << ": the simulation ended before the stimulus did";
  return finished_;
}

}  // namespace tacsim::testing_support
