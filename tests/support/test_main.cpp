// The main of every test binary. libsystemc defines main() and calls sc_main(), so the tests run from here.
// SystemC warnings and errors become test failures: a model that reports a protocol violation fails its test
// even if the checks that follow happen to pass.
#include <cstdlib>

#include <gtest/gtest.h>
#include <systemc>

#include "modules/common/clock.h"

namespace {

void report_handler(const sc_core::sc_report& r, const sc_core::sc_actions& actions) {
  if (r.get_severity() >= sc_core::SC_WARNING)
    ADD_FAILURE() << "SystemC " << (r.get_severity() == sc_core::SC_WARNING ? "warning" : "error") << " from "
                  << r.get_msg_type() << ": " << r.get_msg();
  sc_core::sc_report_handler::default_handler(r, actions);
}

}  // namespace

// Replaces libsystemc's main() so the banner can be silenced before the kernel prints it.
int main(int argc, char** argv) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}

int sc_main(int argc, char** argv) {
  tacsim::init_kernel();
  sc_core::sc_report_handler::set_handler(report_handler);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
