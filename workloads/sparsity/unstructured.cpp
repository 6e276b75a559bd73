#include "workloads/sparsity/unstructured.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "modules/common/error.h"

namespace tacsim::sparsity {
namespace {

template <typename T>
Mask nonzeros(const DenseMatrix<T>& w) {
  Mask m(w.rows, w.cols);
  for (std::size_t i = 0; i < w.size(); ++i) m.keep[i] = w.data[i] != T{} ? 1 : 0;
  return m;
}

template <typename T>
DenseMatrix<T> masked(const DenseMatrix<T>& w, const Mask& mask) {
  if (w.rows != mask.rows || w.cols != mask.cols) {
    throw InputError("apply_mask: mask is " + std::to_string(mask.rows) + " x " + std::to_string(mask.cols) +
                     " but the matrix is " + std::to_string(w.rows) + " x " + std::to_string(w.cols));
  }
  DenseMatrix<T> out = w;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!mask.keep[i]) out.data[i] = T{};
  }
  return out;
}

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

Mask::Mask(int rows_in, int cols_in) : rows(rows_in), cols(cols_in) {
  if (rows_in < 0 || cols_in < 0) {
    throw std::invalid_argument("Mask: negative shape " + std::to_string(rows_in) + " x " +
                                std::to_string(cols_in));
  }
  keep.assign(static_cast<std::size_t>(rows_in) * static_cast<std::size_t>(cols_in), 0);
}

Mask mask_of_nonzeros(const Int8Matrix& w) {
  return nonzeros(w);
}
Mask mask_of_nonzeros(const FloatMatrix& w) {
  return nonzeros(w);
}
Int8Matrix apply_mask(const Int8Matrix& w, const Mask& mask) {
  return masked(w, mask);
}
FloatMatrix apply_mask(const FloatMatrix& w, const Mask& mask) {
  return masked(w, mask);
}

std::uint64_t count_kept(const Mask& mask) {
  std::uint64_t n = 0;
  for (std::uint8_t k : mask.keep) n += k != 0 ? 1 : 0;
  return n;
}

double density(const Mask& mask) {
  if (mask.size() == 0) return 0.0;
  return static_cast<double>(count_kept(mask)) / static_cast<double>(mask.size());
}

Mask prune_unstructured(const Int8Matrix& w, double keep_density) {
  return prune_top(w, keep_density);
}
Mask prune_unstructured(const FloatMatrix& w, double keep_density) {
  return prune_top(w, keep_density);
}

}  // namespace tacsim::sparsity
