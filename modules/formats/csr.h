#pragma once
// CSR bytes for unstructured weights, as the accelerator stores a block of rows: the values (int8), then
// their column indices (u16, little-endian), then rows + 1 row pointers (u32, little-endian, counting from
// the block's first non-zero). Sizes match format_sizes.h's csr_bytes with its default widths.
#include <cstdint>
#include <string>
#include <vector>

#include "modules/formats/mask.h"
#include "modules/formats/matrix.h"

namespace tacsim::sparsity {

std::vector<std::uint8_t> encode_csr(const Int8Matrix& w, const Mask& mask);
// Inverse of encode_csr for a `rows` x `cols` block; malformed bytes throw InputError naming `source`.
// Returns the dense matrix (zeros where nothing is stored) and the mask of stored positions.
std::pair<Int8Matrix, Mask> decode_csr(const std::uint8_t* bytes, std::size_t size, int rows, int cols,
                                       const std::string& source);

}  // namespace tacsim::sparsity
