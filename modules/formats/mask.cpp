#include "modules/formats/mask.h"

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

}  // namespace tacsim::sparsity
