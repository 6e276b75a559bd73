#pragma once
// A GEMM with HP or unstructured sparse weights, mapped onto the HP datapath.
//   C[m x n] (int32) = A[m x k] . W^T, W pruned by HP (modules/formats/hp.h) or by magnitude (unstructured).
// Memory holds A transposed (k x m, so a tile's K activation columns of Rt tokens load column-major, one bank
// word per column) and W as consecutive row blocks, each encoded on its own (an HP stream, or CSR bytes) so
// that one DMA load brings one block of weight rows. A tile is Rt tokens x one row block; the activation
// block stays resident while the row blocks stream past it.
#include <cstdint>
#include <string>
#include <vector>

#include "modules/control/program.h"
#include "workloads/gemm.h"
#include "modules/formats/hp.h"

namespace tacsim::workloads {

struct SparseRowsGemm {
  GemmParams gemm;
  bool hp = true;  // else unstructured (CSR)
  std::uint32_t tokens = 0;          // Rt
  std::uint32_t rows_per_block = 0;  // weight rows per tile (a multiple of the HP block rows)
  std::uint64_t a_address = 0, w_address = 0, c_address = 0, end = 0;
  std::vector<std::uint8_t> a_t;           // k x m
  std::vector<std::int8_t> a, w;           // m x k, and the pruned n x k, for the reference
  std::vector<std::uint8_t> weight_image;  // the encoded row blocks, back to back
  std::vector<std::uint64_t> block_offset, block_bytes;
  double achieved_sparsity = 0;
  std::uint64_t csr_bytes_whole = 0;       // CSR of the whole pruned W, for comparison
  control::Program program;
  std::string describe() const;
};

// Prunes seeded random weights, lays out memory and builds the program. Throws InputError naming the key or
// buffer when the GEMM cannot be mapped (block shape not dividing the matrix, a block that does not fit).
// With `mask` (n x k, e.g. from a really pruned model), its kept positions replace the pruner's (the values
// stay seeded, made non-zero); an HP mask must have the bank property (InputError from to_hp otherwise).
SparseRowsGemm map_sparse_rows_gemm(const GemmParams& g, const sparsity::HpParams& hp, std::uint64_t seed,
                                    std::uint32_t tokens, std::uint64_t act_half_bytes,
                                    std::uint64_t weight_half_bytes, std::uint64_t out_half_bytes,
                                    const sparsity::Mask* mask = nullptr);

}  // namespace tacsim::workloads
