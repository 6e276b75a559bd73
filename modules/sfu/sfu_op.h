#pragma once
// What the SFU runs (SfuOp: one softmax, layernorm, GELU or residual add over rows in memory) and how it is
// sized (SfuParams). Plain C++: workloads build operations without SystemC (the shell and the formats of
// each operation's inputs and outputs: sfu.h).
#include <cstdint>
#include <string>
#include <vector>

#include "modules/common/requant.h"
#include "modules/dma/block_move.h"
#include "modules/sfu/softmax_engine.h"
#include "modules/sfu/vector_engine.h"

namespace tacsim::sfu {

struct SfuParams {
  SoftmaxParams softmax;
  VectorParams vector;
  // On-chip buffer for one head's attention scores (L x L int32): STA keeps attention on chip when they fit.
  std::uint32_t score_buffer_kib = 256;
  // Operations stream through the units in groups of rows of about this much input (Sfu::run).
  std::uint32_t stream_kib = 16;
  // The SFU sits on the PE array's output path: a weight GEMM's epilogue (GELU after FFN-up; the residual
  // add, and the layernorm that reads it, after out_proj and FFN-down) runs on blocks of the GEMM's outputs
  // while the array computes the next block. Layernorm needs whole rows, so those blocks are the array's rows
  // of tokens; GELU's are epilogue_blocks blocks of columns (no more than the GEMM has row blocks: each block
  // pays a GEMM's start). Off: each runs alone after its GEMM.
  bool fuse_epilogues = true;
  std::uint32_t epilogue_blocks = 4;

  std::string validate() const;
};

enum class SfuKind { kSoftmax, kLayerNorm, kGelu, kResidualAdd };
const char* to_string(SfuKind kind);
// Bytes per element of an operation's input i (the formats in sfu.h); the output is always int8.
std::uint32_t input_bytes(SfuKind kind, std::size_t input);

struct SfuOp {
  SfuKind kind = SfuKind::kSoftmax;
  std::uint32_t rows = 0, row_len = 0;
  bool causal = false;                 // softmax: row i holds query_offset + i + 1 valid scores
  std::uint32_t query_offset = 0;      // causal softmax over a block of rows: the first row's position
  std::vector<dma::BlockMove> inputs;  // read before computing
  dma::BlockMove output;               // written after
  // Values only.
  Requant in_rq = Requant::identity32();
  Requant out_rq;
  std::vector<std::int16_t> gamma, beta;  // layernorm: row_len each
};

}  // namespace tacsim::sfu
