#pragma once
// A GEMM workload and its mapping onto one engine.
//   C[m x n] (int32) = A[m x k] (int8 activations) . W^T, W[n x k] (int8 weights, one row per output feature,
//   like a PyTorch Linear weight, so a column of the PE array streams one contiguous row of W).
// Weights are dense, or N:M sparse along k and stored compressed in memory exactly as FORMATS.md's index
// encoding lays out a row: G*N values, then G*N in-group indices of ceil(log2 M) bits, padded to a byte.
// Those compressed bytes are what the DMA moves and the weight buffer holds.
//
// A plan cuts C into tiles of at most rows x cols outputs (the PE array's size; a block of A is `rows` rows,
// a block of W `cols` rows of W) and the reduction into chunks of whole groups, and orders the loads of the
// operand buffers' halves and the tiles as a Tiling says: a group of one operand's blocks (the resident one)
// stays while the other operand's blocks stream past it. plan_gemm builds the plan of any tiling that fits;
// greedy_tiling is the choice the simulator made before it could search (the largest resident group that
// fits, of the operand that moves fewer bytes; else the largest chunks, each tile streaming its own), and
// enumerate_tilings lists the search space (pe_array_mapper.h searches it).
#include <cstdint>
#include <string>
#include <vector>

#include "modules/control/program.h"
#include "modules/pe_array/pe_array_engine.h"
#include "modules/pe_array/tile_command.h"
#include "workloads/gemm_params.h"
#include "workloads/weight_format.h"

namespace tacsim::workloads {

// How a row of W is stored: `groups` groups of `m` along k keep `n` slots each (dense: groups = k, n = m =
// 1). HP and unstructured weights are not stored in rows (the HP mapper encodes blocks of rows): their row
// format is the dense one, the room a caller keeps for W.
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
inline std::uint64_t align4k(std::uint64_t a) {
  return (a + 4095) & ~std::uint64_t{4095};
}

// Packed operands: A, then W (as stored), then C (int32), each starting on a 4 KiB boundary.
GemmLayout layout_gemm(const GemmParams& g, std::uint64_t base = 0);

using Load = control::BufferLoad;

// Bytes per half of each buffer a plan must fit.
struct BufferHalves {
  std::uint64_t act = 0, weight = 0, out = 0;
};

// How a plan cuts a GEMM. R is the resident operand (W when w_resident, else A), S the streamed one; a group
// is `resident_blocks` blocks of R.
//   kWhole    the reduction in one chunk: each group is loaded once and every S block streams past it.
//   kSplit    the reduction in two chunks, the group's two in both halves of R's buffer (the next group loads
//             only as this one finishes); S streams past it a block at a time, whole if it fits its half,
//             else a chunk at a time.
//   kChunked  chunks of chunk_groups groups. Without partial sums (psum_blocks = 0, one R block per group)
//             each tile streams its chunks of A and W through the buffers and sums them in the accumulators.
//             With them, the tiles of `resident_blocks` R blocks by `psum_blocks` S blocks keep their int32
//             partial sums in one output half across the chunks (tile_command.h, OutputSlot): each chunk of
//             the group's R blocks is loaded once and used by every S block of the group.
// Without partial sums, `out_tiles` consecutive tiles share a fill of an output half (with them, the group's
// tiles do).
struct Tiling {
  enum class Scheme : std::uint8_t { kWhole, kSplit, kChunked };
  Scheme scheme = Scheme::kWhole;
  bool w_resident = false;
  std::uint32_t resident_blocks = 1;
  std::uint32_t chunk_groups = 0;  // kChunked; kSplit: the first chunk's (set by plan_gemm)
  std::uint32_t psum_blocks = 0;
  std::uint32_t out_tiles = 1;
  std::string describe() const;
};

struct ChunkPlan {
  std::uint32_t act_load = 0;     // index into GemmPlan::act_loads; it sits in half act_load % 2
  std::uint32_t weight_load = 0;  // index into GemmPlan::weight_loads
  std::uint32_t act_offset = 0;   // bytes from the start of the load to this tile's first activation
  std::uint32_t act_stride = 0;
  std::uint32_t weight_offset = 0;  // bytes to this tile's first weight value
  std::uint32_t weight_stride = 0;
  std::uint32_t index_offset = 0;  // bytes to this tile's first packed index
  std::uint32_t index_stride = 0;
  std::uint32_t g0 = 0, gc = 0;  // the chunk's groups along k
  std::uint32_t slots = 0;
  std::uint64_t steps = 0;
};

// A pass of the PE array over one output tile: all of its reduction, or (partial sums) some chunks of it.
struct TilePlan {
  std::uint32_t m0 = 0, rows = 0;
  std::uint32_t n0 = 0, cols = 0;
  std::uint64_t steps = 0;
  std::vector<ChunkPlan> chunks;
  std::uint32_t fill = 0;     // the output buffer fill its outputs go to (half fill % 2)
  pe_array::OutputSlot slot;  // where in it, and whether it adds to or leaves partial sums
  bool writes_back = true;    // its tile's last pass: `writeback` carries the tile into C
  dma::BlockMove writeback;   // rows x cols outputs into C, from slot.offset in the half
};

struct GemmPlan {
  GemmParams gemm;
  RowFormat format;
  GemmLayout layout;
  Tiling tiling;
  std::vector<Load> act_loads, weight_loads;
  std::vector<TilePlan> tiles;
  std::vector<std::uint32_t> writeback_groups;  // write-backs per fill

  std::uint64_t macs() const { return std::uint64_t{gemm.m} * gemm.n * gemm.k; }  // dense-equivalent
  std::uint64_t bytes_loaded() const;
  std::uint64_t bytes_written() const;
  std::string describe() const;
};

// The plan as commands for the controller and the PE array.
control::Program to_program(const GemmPlan& plan);

// The plan of `tiling` (std::invalid_argument when it does not fit the buffers). Throws InputError naming the
// buffer and what it would need when the GEMM cannot be tiled at all.
GemmPlan plan_gemm(const GemmParams& g, const pe_array::Params& pe, const BufferHalves& halves,
                   const GemmLayout& layout, const Tiling& tiling);
// The greedy tiling's plan.
GemmPlan plan_gemm(const GemmParams& g, const pe_array::Params& pe, std::uint64_t act_half_bytes,
                   std::uint64_t weight_half_bytes, std::uint64_t out_half_bytes, const GemmLayout& layout);
Tiling greedy_tiling(const GemmParams& g, const pe_array::Params& pe, const BufferHalves& halves,
                     const GemmLayout& layout);
// Every tiling that fits, greedy's first, in a fixed order. kSplit and partial sums only when the array keeps
// partial sums on chip (pe.partial_sums).
std::vector<Tiling> enumerate_tilings(const GemmParams& g, const pe_array::Params& pe,
                                      const BufferHalves& halves, const GemmLayout& layout);

// Operands from a seed (N:M weights magnitude-pruned from seeded random int8), and the plain reference.
struct GemmOperands {
  std::vector<std::int8_t> a;              // m x k
  std::vector<std::int8_t> w;              // n x k, pruned: what the reference multiplies
  std::vector<std::uint8_t> weight_image;  // W as stored in memory
};
GemmOperands make_operands(const GemmParams& g, std::uint64_t seed);
// n x k int8 weights pruned to g.sparsity (dense or N:M, by magnitude): what the reference multiplies, and
// the image layout_gemm expects in memory.
struct GemmWeights {
  std::vector<std::int8_t> w;
  std::vector<std::uint8_t> image;
};
GemmWeights prune_weights(const GemmParams& g, std::vector<std::int8_t> w);
std::vector<std::int32_t> reference_gemm(const GemmParams& g, const GemmOperands& ops);

}  // namespace tacsim::workloads
