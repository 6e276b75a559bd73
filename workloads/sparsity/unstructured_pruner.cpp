#include "workloads/sparsity/unstructured_pruner.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "modules/common/error.h"

namespace tacsim::sparsity {
namespace {

template <typename T>
Mask prune_top(const DenseMatrix<T>& w, double keep_density) {
  if (!(keep_density >= 0.0 && keep_density <= 1.0)) {
    throw InputError("density: must be in [0, 1], got " + std::to_string(keep_density));
  }
  require_no_nan(w, "prune_unstructured");
  const std::size_t total = w.size();
  const auto keep_count = static_cast<std::size_t>(std::llround(keep_density * static_cast<double>(total)));
  std::vector<std::size_t> order(total);
  std::iota(order.begin(), order.end(), std::size_t{0});
  // Strict weak order: larger magnitude first, then lower position; it makes the kept set unique.
  auto before = [&w](std::size_t a, std::size_t b) {
    const float ma = magnitude(w.data[a]);
    const float mb = magnitude(w.data[b]);
    return ma != mb ? ma > mb : a < b;
  };
  if (keep_count < total) {
    std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep_count), order.end(),
                     before);
  }
  Mask m(w.rows, w.cols);
  for (std::size_t i = 0; i < keep_count; ++i) m.keep[order[i]] = 1;
  return m;
}

}  // namespace

Mask prune_unstructured(const Int8Matrix& w, double keep_density) {
  return prune_top(w, keep_density);
}
Mask prune_unstructured(const FloatMatrix& w, double keep_density) {
  return prune_top(w, keep_density);
}

}  // namespace tacsim::sparsity
