#pragma once
// A GEMM workload and its mapping onto one engine.
//   C[m x n] (int32) = A[m x k] (int8 activations) . W^T, W[n x k] (int8 weights, one row per output feature,
//   like a PyTorch Linear weight, so a column of the PE array streams one contiguous row of W).
// Weights are dense, or N:M sparse along k and stored compressed in memory exactly as FORMATS.md's index
// encoding lays out a row: G*N values, then G*N in-group indices of ceil(log2 M) bits, padded to a byte.
// Those compressed bytes are what the DMA moves and the weight buffer holds.
//
// The mapper cuts C into tiles of at most rows x cols outputs (the PE array's size) and the reduction into
// chunks of whole groups, the largest that fit half of each operand buffer (the buffers are double-buffered).
// When the whole reduction fits one chunk, a group of blocks of one operand (as many as fit half its buffer)
// stays resident while the other operand's blocks stream past it, each streamed block used by every resident
// one: the mapper picks the resident operand that moves fewer bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "modules/control/program.h"
#include "modules/pe_array/pe_array_engine.h"
#include "modules/pe_array/tile_command.h"
#include "workloads/gemm_params.h"
#include "workloads/weight_format.h"

namespace tacsim::workloads {

// How a row of W is stored: `groups` groups of `m` along k keep `n` slots each (dense: groups = k, n = m = 1).
// HP and unstructured weights are not stored in rows (the HP mapper encodes blocks of rows): their row format
// is the dense one, the room a caller keeps for W.
struct RowFormat {
  std::uint32_t n = 1, m = 1, index_bits = 0, groups = 0;
  bool sparse() const { return n < m; }
  std::uint64_t slots() const { return std::uint64_t{groups} * n; }
  std::uint64_t index_bytes(std::uint64_t slot_count) const { return (slot_count * index_bits + 7) / 8; }
  std::uint64_t row_bytes() const { return slots() + index_bytes(slots()); }
};
RowFormat row_format(const GemmParams& g);

// Where the operands live in memory and how C is written. Row strides are in bytes, so an operand may be a
// slice of a larger tensor (one head's columns of Q, a block of rows of C). C's elements are int32, or int8
// when the output stage requantises; a transposing output stage writes C^T: row j of the stored matrix is
// column j of C, c_stride bytes apart.
struct GemmLayout {
  std::uint64_t a_address = 0, w_address = 0, c_address = 0, end = 0;
  std::uint64_t a_stride = 0, w_stride = 0, c_stride = 0;
  pe_array::OutputStage out;
};
// Tensors start on 4 KiB boundaries (a DRAM page, a DMA transaction).
inline std::uint64_t align4k(std::uint64_t a) { return (a + 4095) & ~std::uint64_t{4095}; }

// Packed operands: A, then W (as stored), then C (int32), each starting on a 4 KiB boundary.
GemmLayout layout_gemm(const GemmParams& g, std::uint64_t base = 0);

using Load = control::BufferLoad;

struct ChunkPlan {
  std::uint32_t act_load = 0;     // index into GemmPlan::act_loads; it sits in half act_load % 2
  std::uint32_t weight_load = 0;  // index into GemmPlan::weight_loads
  std::uint32_t act_offset = 0;   // bytes from the start of the load to this tile's first activation
  std::uint32_t act_stride = 0;
  std::uint32_t weight_offset = 0;  // bytes to this tile's first weight value
  std::uint32_t weight_stride = 0;
  std::uint32_t index_offset = 0;   // bytes to this tile's first packed index
  std::uint32_t index_stride = 0;
  std::uint32_t g0 = 0, gc = 0;     // the chunk's groups along k
  std::uint32_t slots = 0;
  std::uint64_t steps = 0;
};

struct TilePlan {
  std::uint32_t m0 = 0, rows = 0;
  std::uint32_t n0 = 0, cols = 0;
  std::uint64_t steps = 0;
  std::vector<ChunkPlan> chunks;
  dma::BlockMove writeback;  // rows x cols int32 into C
};

struct GemmPlan {
  GemmParams gemm;
  RowFormat format;
  GemmLayout layout;
  std::uint32_t chunk_groups = 0;     // groups per reduction chunk
  bool n_outer = false;               // false: groups of A blocks stay resident and W streams; true: the reverse
  std::uint32_t resident_blocks = 1;  // blocks per resident group (1 when the reduction is chunked)
  std::vector<Load> act_loads, weight_loads;
  std::vector<TilePlan> tiles;

  std::uint64_t macs() const { return std::uint64_t{gemm.m} * gemm.n * gemm.k; }  // dense-equivalent
  std::uint64_t bytes_loaded() const;
  std::string describe() const;
};

// The plan as commands for the controller and the PE array.
control::Program to_program(const GemmPlan& plan);

// Throws InputError naming the buffer and what it would need when the GEMM cannot be tiled.
GemmPlan plan_gemm(const GemmParams& g, const pe_array::Params& pe, std::uint64_t act_half_bytes,
                   std::uint64_t weight_half_bytes, std::uint64_t out_half_bytes, const GemmLayout& layout);

// Operands from a seed (N:M weights magnitude-pruned from seeded random int8), and the plain reference.
struct GemmOperands {
  std::vector<std::int8_t> a;             // m x k
  std::vector<std::int8_t> w;             // n x k, pruned: what the reference multiplies
  std::vector<std::uint8_t> weight_image; // W as stored in memory
};
GemmOperands make_operands(const GemmParams& g, std::uint64_t seed);
// n x k int8 weights pruned to g.sparsity (dense or N:M, by magnitude): what the reference multiplies, and the
// image layout_gemm expects in memory.
struct GemmWeights {
  std::vector<std::int8_t> w;
  std::vector<std::uint8_t> image;
};
GemmWeights prune_weights(const GemmParams& g, std::vector<std::int8_t> w);
std::vector<std::int32_t> reference_gemm(const GemmParams& g, const GemmOperands& ops);

}  // namespace tacsim::workloads
