// Model files (workloads/model.h): key = value lines, shapes and their cross-checks.
#include <string>

#include "tests/fuzz/fuzz_support.h"
#include "workloads/model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return tacsim::fuzz::guarded([&] {
    tacsim::workloads::parse_model(std::string(reinterpret_cast<const char*>(data), size), "fuzz.model");
  });
}
