#pragma once
// Dense matrices held the way a PyTorch Linear holds its weight: W[out][in] row-major, rows = out features,
// cols = in = the reduction dimension K. Sparsity groups and blocks run along cols.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "modules/common/error.h"

namespace tacsim::sparsity {

template <typename T>
struct DenseMatrix {
  int rows = 0;
  int cols = 0;
  std::vector<T> data;  // rows * cols elements, row-major

  DenseMatrix() = default;
  // Zero-filled. Negative sizes are a programming error, not bad input.
  DenseMatrix(int rows_in, int cols_in) : rows(rows_in), cols(cols_in) {
    if (rows_in < 0 || cols_in < 0) {
      throw std::invalid_argument("DenseMatrix: negative shape " + std::to_string(rows_in) + " x " +
                                  std::to_string(cols_in));
    }
    data.assign(static_cast<std::size_t>(rows_in) * static_cast<std::size_t>(cols_in), T{});
  }

  std::size_t size() const { return data.size(); }
  std::size_t index(int r, int c) const {
    return static_cast<std::size_t>(r) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(c);
  }
  T at(int r, int c) const { return data[index(r, c)]; }
  T& at(int r, int c) { return data[index(r, c)]; }

  friend bool operator==(const DenseMatrix& a, const DenseMatrix& b) {
    return a.rows == b.rows && a.cols == b.cols && a.data == b.data;
  }
  friend bool operator!=(const DenseMatrix& a, const DenseMatrix& b) { return !(a == b); }
};

using Int8Matrix = DenseMatrix<std::int8_t>;
using FloatMatrix = DenseMatrix<float>;

// Widening copy, e.g. to rank int8 weights together with float ones.
inline FloatMatrix to_float(const Int8Matrix& m) {
  FloatMatrix f(m.rows, m.cols);
  for (std::size_t i = 0; i < m.size(); ++i) f.data[i] = static_cast<float>(m.data[i]);
  return f;
}

// Pruners rank entries by |w|. int8 -128 has magnitude 128, so widen before taking the absolute value.
inline float magnitude(std::int8_t v) {
  return static_cast<float>(v < 0 ? -static_cast<int>(v) : v);
}
inline float magnitude(float v) {
  return v < 0 ? -v : v;
}

// A NaN cannot be ranked; pruners call this on float input. `what` names the caller for the message.
inline void require_no_nan(const Int8Matrix&, const std::string&) {}
inline void require_no_nan(const FloatMatrix& m, const std::string& what) {
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m.data[i] != m.data[i]) {
      throw InputError(what + ": weight at row " + std::to_string(i / static_cast<std::size_t>(m.cols)) +
                       ", col " + std::to_string(i % static_cast<std::size_t>(m.cols)) +
                       " is NaN; magnitudes must be numbers");
    }
  }
}

}  // namespace tacsim::sparsity
