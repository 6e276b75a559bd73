// tacsim's entry point. libsystemc has a main() of its own that prints a banner before sc_main runs; this one
// takes its place so that the banner can be silenced first, then enters the kernel the same way.
#include <cstdlib>

#include <systemc>

#include "sim/cli.h"

int sc_main(int argc, char** argv) {
  return tacsim::sim::cli_main(argc, argv);
}

int main(int argc, char** argv) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
