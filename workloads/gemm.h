#pragma once
// A GEMM workload and its mapping onto one engine.
//   C[m x n] (int32) = A[m x k] (int8 activations) . W^T, W[n x k] (int8 weights, one row per output feature,
//   like a PyTorch Linear weight, so a column of the PE array streams one contiguous row of W).
// The mapper cuts C into tiles of at most rows x cols outputs (the PE array's size) and the reduction into
// chunks of kc, the largest that fit half of each operand buffer (the buffers are double-buffered). When the
// whole reduction fits one chunk, a group of blocks of one operand (as many as fit half its buffer) stays
// resident while the other operand's blocks stream past it, each streamed block used by every resident one:
// the mapper picks the resident operand that moves fewer bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "modules/control/program.h"
#include "modules/pe_array/pe_array_engine.h"

namespace tacsim::workloads {

struct GemmParams {
  std::uint32_t m = 256;  // tokens; 256 x 768 x 768 is one BERT-base projection over 256 tokens
  std::uint32_t n = 768;
  std::uint32_t k = 768;

  std::string validate() const;
};

// Where the operands live in memory: A, then W, then C, each starting on a 4 KiB boundary.
struct GemmLayout {
  std::uint64_t a_address = 0, w_address = 0, c_address = 0, end = 0;
};
GemmLayout layout_gemm(const GemmParams& g, std::uint64_t base = 0);

// One block moved into a buffer half (rows, row bytes, stride, uses).
using Load = control::BlockMove;

struct ChunkPlan {
  std::uint32_t act_load = 0;     // index into GemmPlan::act_loads; it sits in half act_load % 2
  std::uint32_t weight_load = 0;  // index into GemmPlan::weight_loads
  std::uint32_t act_offset = 0;   // bytes from the start of the load to this tile's first row
  std::uint32_t weight_offset = 0;
  std::uint32_t k0 = 0, kc = 0;   // the chunk's reduction range
  std::uint64_t steps = 0;
};

struct TilePlan {
  std::uint32_t m0 = 0, rows = 0;
  std::uint32_t n0 = 0, cols = 0;
  std::uint64_t steps = 0;
  std::vector<ChunkPlan> chunks;
  Load writeback;  // rows x cols int32 into C
};

struct GemmPlan {
  GemmParams gemm;
  GemmLayout layout;
  std::uint32_t kc = 0;
  bool n_outer = false;  // false: groups of A blocks stay resident and W streams; true: the other way round
  std::uint32_t resident_blocks = 1;  // blocks per resident group
  std::vector<Load> act_loads, weight_loads;
  std::vector<TilePlan> tiles;

  std::uint64_t macs() const { return std::uint64_t{gemm.m} * gemm.n * gemm.k; }
  std::uint64_t bytes_loaded() const;
  std::string describe() const;
};

// The plan as commands for the controller and the PE array.
control::Program to_program(const GemmPlan& plan);

// Throws InputError naming the buffer and what it would need when the GEMM cannot be tiled.
GemmPlan plan_gemm(const GemmParams& g, const pe_array::Params& pe, std::uint64_t act_half_bytes,
                   std::uint64_t weight_half_bytes, std::uint64_t out_half_bytes, const GemmLayout& layout);

// Operands from a seed, and the plain reference product.
struct GemmOperands {
  std::vector<std::int8_t> a;  // m x k
  std::vector<std::int8_t> w;  // n x k
};
GemmOperands make_operands(const GemmParams& g, std::uint64_t seed);
std::vector<std::int32_t> reference_gemm(const GemmParams& g, const GemmOperands& ops);

}  // namespace tacsim::workloads
