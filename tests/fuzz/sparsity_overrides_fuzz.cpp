// The sparsity override file (workloads/lowering.h): per layer and role, a weight format.
#include <sstream>
#include <string>

#include "tests/fuzz/fuzz_support.h"
#include "workloads/lowering.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return tacsim::fuzz::guarded([&] {
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    tacsim::workloads::parse_sparsity_overrides(in, "fuzz.txt");
  });
}
