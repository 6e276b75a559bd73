// The main of every test binary that runs a SystemC kernel. libsystemc defines main() and calls sc_main(), so
// the tests run from here, with SystemC warnings and errors turned into test failures (module_bench.h): a
// model that reports a protocol violation fails its test even if the checks that follow happen to pass.
#include <cstdlib>

#include <gtest/gtest.h>
#include <systemc>

#include "modules/common/clock.h"
#include "tests/support/module_bench.h"

// Replaces libsystemc's main() so the banner can be silenced before the kernel prints it.
int main(int argc, char** argv) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}

int sc_main(int argc, char** argv) {
  tacsim::init_kernel();
  sc_core::sc_report_handler::set_handler(tacsim::testing_support::report_handler);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
