#pragma once
// `tacsim diff OLD NEW`: what moved between two results, and whether it moved beyond its tolerance.
#include <string>
#include <vector>

namespace tacsim::sim {

// Returns 0 when every figure is within tolerance, 1 when any moved beyond it; bad input throws InputError.
int diff_main(const std::vector<std::string>& args);

}  // namespace tacsim::sim
