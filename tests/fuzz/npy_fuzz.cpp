// .npy masks and int8 weights (workloads/sparsity/npy.h): header, dtype, shape, data size.
#include <vector>

#include "tests/fuzz/fuzz_support.h"
#include "workloads/sparsity/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return tacsim::fuzz::guarded([&] {
    const auto a = tacsim::sparsity::parse_npy(std::vector<std::uint8_t>(data, data + size), "fuzz.npy");
    if (a.shape.size() == 2) tacsim::sparsity::npy_to_int8_matrix(a, -1, -1);
  });
}
