#include "workloads/sparsity/nm_pruner.h"

#include <algorithm>
#include <array>

namespace tacsim::sparsity {
namespace {

template <typename T>
Mask nm_mask(const DenseMatrix<T>& w, const NmSpec& spec) {
  require_nm_fits(w.cols, spec);
  require_no_nan(w, "prune_nm");
  Mask mask(w.rows, w.cols);
  std::array<int, kMaxNmM> order{};
  for (int r = 0; r < w.rows; ++r) {
    for (int c0 = 0; c0 < w.cols; c0 += spec.m) {
      for (int i = 0; i < spec.m; ++i) order[i] = i;
      // Larger |w| first, lower index on ties: a strict order, so the kept set is unique.
      std::partial_sort(order.begin(), order.begin() + spec.n, order.begin() + spec.m, [&](int a, int b) {
        const float ma = magnitude(w.at(r, c0 + a));
        const float mb = magnitude(w.at(r, c0 + b));
        return ma != mb ? ma > mb : a < b;
      });
      for (int s = 0; s < spec.n; ++s) mask.set(r, c0 + order[s], true);
    }
  }
  return mask;
}

}  // namespace

Mask prune_nm_mask(const Int8Matrix& w, const NmSpec& spec) {
  return nm_mask(w, spec);
}
Mask prune_nm_mask(const FloatMatrix& w, const NmSpec& spec) {
  return nm_mask(w, spec);
}
NmMatrix prune_nm(const Int8Matrix& w, const NmSpec& spec) {
  return to_nm(w, prune_nm_mask(w, spec), spec);
}

}  // namespace tacsim::sparsity
