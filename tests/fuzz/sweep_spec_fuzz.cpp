// Sweep files (sim/sweep_spec.h): [sweep], [grid], [zip] and [random] sections, value lists and ranges.
#include "sim/sweep_spec.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = tacsim::fuzz::as_file(data, size, "sweep", ".ini");
  return tacsim::fuzz::guarded([&] {
    tacsim::sim::SweepSpec spec;
    tacsim::sim::read_sweep_file(path, spec);
  });
}
