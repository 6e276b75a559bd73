#pragma once
// Mask: the one sparsity pattern type every format reads and writes. A mask marks the positions a format
// stores (its "slots"); a slot may still hold the value 0, e.g. the padding slots of an N:M group with fewer
// than N non-zeros. mask_of_nonzeros() gives the pattern of a pruned matrix.
#include <cstdint>
#include <string>
#include <vector>

#include "modules/formats/matrix.h"

namespace tacsim::sparsity {

struct Mask {
  int rows = 0;
  int cols = 0;
  std::vector<std::uint8_t> keep;  // rows * cols, row-major, 1 = kept, 0 = pruned

  Mask() = default;
  Mask(int rows_in, int cols_in);  // all pruned
  std::size_t size() const { return keep.size(); }
  bool at(int r, int c) const { return keep[index(r, c)] != 0; }
  void set(int r, int c, bool kept) { keep[index(r, c)] = kept ? 1 : 0; }
  std::size_t index(int r, int c) const {
    return static_cast<std::size_t>(r) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(c);
  }
  friend bool operator==(const Mask& a, const Mask& b) {
    return a.rows == b.rows && a.cols == b.cols && a.keep == b.keep;
  }
  friend bool operator!=(const Mask& a, const Mask& b) { return !(a == b); }
};

// Positions whose value is not zero.
Mask mask_of_nonzeros(const Int8Matrix& w);
Mask mask_of_nonzeros(const FloatMatrix& w);

// w with every position the mask prunes set to 0. Throws InputError when the shapes differ.
Int8Matrix apply_mask(const Int8Matrix& w, const Mask& mask);
FloatMatrix apply_mask(const FloatMatrix& w, const Mask& mask);

std::uint64_t count_kept(const Mask& mask);
// Fraction kept, in [0, 1]; 0 for an empty mask. sparsity = 1 - density.
double density(const Mask& mask);

}  // namespace tacsim::sparsity
