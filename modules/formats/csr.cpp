#include "modules/formats/csr.h"

#include <fmt/format.h>

#include "modules/common/error.h"

namespace tacsim::sparsity {

std::vector<std::uint8_t> encode_csr(const Int8Matrix& w, const Mask& mask) {
  if (w.cols > 65536) throw InputError(fmt::format("CSR: {} columns do not fit 16-bit indices", w.cols));
  std::vector<std::uint8_t> values, cols, ptrs;
  std::uint32_t nnz = 0;
  auto put32 = [&ptrs](std::uint32_t v) {
    for (int b = 0; b < 4; ++b) ptrs.push_back(static_cast<std::uint8_t>(v >> (8 * b)));
  };
  put32(0);
  for (int r = 0; r < w.rows; ++r) {
    for (int c = 0; c < w.cols; ++c)
      if (mask.at(r, c)) {
        values.push_back(static_cast<std::uint8_t>(w.at(r, c)));
        cols.push_back(static_cast<std::uint8_t>(c & 0xff));
        cols.push_back(static_cast<std::uint8_t>(c >> 8));
        ++nnz;
      }
    put32(nnz);
  }
  std::vector<std::uint8_t> out(values);
  out.insert(out.end(), cols.begin(), cols.end());
  out.insert(out.end(), ptrs.begin(), ptrs.end());
  return out;
}

std::pair<Int8Matrix, Mask> decode_csr(const std::uint8_t* bytes, std::size_t size, int rows, int cols,
                                       const std::string& source) {
  const std::size_t ptr_bytes = (static_cast<std::size_t>(rows) + 1) * 4;
  if (size < ptr_bytes || (size - ptr_bytes) % 3 != 0)
    throw InputError(fmt::format("{}: {} bytes cannot hold a CSR block of {} rows", source, size, rows));
  const std::size_t nnz = (size - ptr_bytes) / 3;
  auto ptr = [&](std::size_t r) {
    const std::uint8_t* p = bytes + 3 * nnz + 4 * r;
    return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
           std::uint32_t{p[3]} << 24;
  };
  Int8Matrix w(rows, cols);
  Mask m(rows, cols);
  if (ptr(0) != 0 || ptr(rows) != nnz)
    throw InputError(fmt::format("{}: CSR row pointers do not span {} entries", source, nnz));
  for (int r = 0; r < rows; ++r) {
    if (ptr(r + 1) < ptr(r)) throw InputError(fmt::format("{}: CSR row pointer {} decreases", source, r + 1));
    for (std::size_t i = ptr(r); i < ptr(r + 1); ++i) {
      const int c = bytes[nnz + 2 * i] | bytes[nnz + 2 * i + 1] << 8;
      if (c >= cols) throw InputError(fmt::format("{}: CSR column {} beyond {}", source, c, cols));
      w.at(r, c) = static_cast<std::int8_t>(bytes[i]);
      m.set(r, c, true);
    }
  }
  return {w, m};
}

}  // namespace tacsim::sparsity
