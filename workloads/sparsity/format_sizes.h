#pragma once
// Bytes of one sparse matrix in each storage format, so a table can compare formats at several sparsities.
// Sizes are payloads: values plus the metadata needed to place them; the matrix shape and the format's
// parameters (N, M, block shape, banks) are taken as known to the reader, so no format pays for a header.
// The index widths are parameters (defaults below); every formula is written beside its function.
#include <cstdint>
#include <string>
#include <vector>

#include "modules/formats/hp.h"
#include "modules/formats/mask.h"
#include "modules/formats/matrix.h"
#include "modules/formats/nm.h"

namespace tacsim::sparsity {

struct FormatSizeParams {
  int value_bits = 8;           // int8 weights
  int csr_col_index_bits = 16;  // CSR column index per non-zero
  int csr_row_ptr_bits = 32;    // CSR row pointer, rows + 1 of them
  int coo_row_index_bits = 16;  // COO row index per non-zero
  int coo_col_index_bits = 16;  // COO column index per non-zero
  int nm_m = 16;                // M when a pattern is sized as N:M (with the smallest N that holds it)
  HpParams hp;                  // block shape and banks when a pattern is sized as HP; targets when pruning

  // "" or a one-line message starting with the field name ("hp.banks: ..." for the nested HP fields).
  std::string validate() const;
};

// rows * cols values.
std::uint64_t dense_bytes(int rows, int cols, const FormatSizeParams& p);
// A rows * cols bit mask (row-major, packed, padded once to a byte) + nnz values.
std::uint64_t bitmap_bytes(int rows, int cols, std::uint64_t nnz, const FormatSizeParams& p);
// nnz values + nnz column indices + (rows + 1) row pointers, each array padded to a byte.
// Throws InputError when the widths cannot index cols columns or count nnz entries.
std::uint64_t csr_bytes(int rows, int cols, std::uint64_t nnz, const FormatSizeParams& p);
// nnz (value, row index, column index) triples, each array padded to a byte. Throws like csr_bytes.
std::uint64_t coo_bytes(int rows, int cols, std::uint64_t nnz, const FormatSizeParams& p);

struct FormatSizes {
  std::uint64_t nnz = 0;  // kept positions of the mask
  std::uint64_t dense = 0;
  std::uint64_t bitmap = 0;
  std::uint64_t csr = 0;
  std::uint64_t coo = 0;
  int nm_n = 0;  // smallest N (at least 1) with which the mask is N:nm_m; 0 when nm_m does not divide cols
  std::uint64_t nm_index = 0;   // nm_payload_bytes, index encoding
  std::uint64_t nm_bitmap = 0;  // nm_payload_bytes, bitmap encoding
  bool hp_fits = false;         // block shape divides the matrix and the bank property holds
  std::int64_t hp_kept_blocks = 0;
  int hp_nnz_per_row = 0;
  std::uint64_t hp = 0;  // hp_encoded_bytes without its header: block bitmap + kept blocks
};

// Sizes of the one pattern `mask` in every format. Values are int8 whatever they are, so the mask suffices.
FormatSizes sizes_of(const Mask& mask, const FormatSizeParams& p);

enum class Pruner { kUnstructured, kNm, kHp };

struct FormatSizeRow {
  double target_sparsity = 0;
  double achieved_sparsity = 0;  // 1 - nnz / (rows * cols) of the pruned pattern
  std::string pattern;           // "unstructured", "N:M" with the N used, or "hp"
  FormatSizes sizes;
};

// For each target sparsity: prune w with `pruner` (N:M uses N = clamp(round((1 - target) * nm_m), 1, nm_m);
// HP uses p.hp with its target_sparsity replaced) and size that same pattern in every format.
std::vector<FormatSizeRow> compare_formats(const Int8Matrix& w, const std::vector<double>& target_sparsities,
                                           Pruner pruner, const FormatSizeParams& p);
// A fixed-width text table of the rows, one line per row plus a heading; "-" where a format cannot hold it.
std::string format_size_table(const std::vector<FormatSizeRow>& rows);

}  // namespace tacsim::sparsity
