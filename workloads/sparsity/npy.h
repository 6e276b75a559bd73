#pragma once
// Reader for NumPy .npy files (format versions 1.0, 2.0 and 3.0), so weights and masks exported from a real
// pruned model can drive a run. Layout, per numpy.lib.format: "\x93NUMPY", u8 major, u8 minor, header length
// (u16 LE for 1.0, u32 LE for 2.0 and 3.0), then that many bytes of a Python dict literal with the keys
// 'descr', 'fortran_order' and 'shape', then the raw element bytes.
// Supported dtypes: bool (b1), int8/16/32/64, uint8/16/32/64, float16/32/64, little- or big-endian ('<', '>',
// '|' for one-byte types). Fortran-ordered arrays are reordered to C order on read. Structured, object and
// string dtypes are rejected. Every problem throws InputError naming the source and what is wrong.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "modules/formats/mask.h"
#include "modules/formats/matrix.h"

namespace tacsim::sparsity {

enum class NpyDtype {
  kBool,
  kInt8,
  kUint8,
  kInt16,
  kUint16,
  kInt32,
  kUint32,
  kInt64,
  kUint64,
  kFloat16,
  kFloat32,
  kFloat64
};

// "bool", "int8", ..., "float64".
std::string to_string(NpyDtype dtype);
std::size_t item_size(NpyDtype dtype);

struct NpyArray {
  std::string source;  // file name (or what the bytes came from), for messages
  NpyDtype dtype = NpyDtype::kFloat32;
  std::vector<std::uint64_t> shape;  // empty for a 0-d array, which holds one element
  std::vector<std::uint8_t> data;    // C order, little-endian items, whatever the file had

  std::uint64_t element_count() const;
  // Element i (C order) widened to double; int64 beyond 2^53 loses precision.
  double value(std::size_t i) const;
  // "(2, 3)", numpy's spelling, for messages.
  std::string shape_text() const;
};

NpyArray read_npy(const std::string& path);
NpyArray parse_npy(const std::vector<std::uint8_t>& bytes, const std::string& source);

// Matrix views. Each requires a 2-D array (out, in); expected_rows / expected_cols, when not negative, must
// match, else InputError "<source>: shape (a, b), expected (c, d)".
// int8: integer and bool dtypes whose values fit in [-128, 127], and float dtypes holding such integers.
Int8Matrix npy_to_int8_matrix(const NpyArray& a, int expected_rows = -1, int expected_cols = -1);
FloatMatrix npy_to_float_matrix(const NpyArray& a, int expected_rows = -1, int expected_cols = -1);
// Any dtype: non-zero means kept.
Mask npy_to_mask(const NpyArray& a, int expected_rows = -1, int expected_cols = -1);

// IEEE 754 binary16 bits to float, subnormals, infinities and NaN included.
float half_to_float(std::uint16_t bits);

}  // namespace tacsim::sparsity
