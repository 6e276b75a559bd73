#pragma once
// How a lowered model runs on the engines: an operation's commands for the hardware (GEMM tasks for a mapper,
// SFU and top-k operations), the blocks an attention head is pipelined in, which engines of a pipeline may
// run it, and the tasks the scheduler dispatches. Pure functions of the operation, its batch's tensors
// (memory_plan.h) and the layer's requantisers (layer_reference.h); the driver that runs them is in sim/.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "modules/scheduler/request.h"
#include "modules/sfu/sfu_op.h"
#include "modules/sfu/topk_op.h"
#include "workloads/gemm.h"
#include "workloads/layer_reference.h"
#include "workloads/lowering.h"
#include "workloads/memory_plan.h"

namespace tacsim::workloads {

// STA keeps a head's attention on chip: Q.K^T's scores go to the softmax unit and its probabilities to S.V
// without a DRAM round trip, and the softmax is pipelined with the array. A head runs in blocks of query rows
// (`block_rows`, 0: the array's rows); while the softmax unit works on block b, the array computes S.V of
// block b - 1 and Q.K^T of block b + 1, so the score buffer holds two blocks of int32 scores. When two blocks
// of at least the array's rows do not fit it, or with on-chip attention off, the whole head's scores and
// probabilities round-trip through DRAM, one step after the other.
struct AttentionBlocks {
  std::uint32_t rows = 0;  // query rows per block
  bool on_chip = false;    // scores and probabilities stay on chip
  std::uint32_t count(std::uint32_t seq_len) const { return (seq_len + rows - 1) / rows; }
};
AttentionBlocks attention_blocks(std::uint32_t seq_len, std::uint32_t array_rows,
                                 std::uint64_t score_buffer_bytes, std::uint32_t block_rows, bool on_chip);

// SFU epilogues fused to weight GEMMs (sfu::SfuParams::fuse_epilogues): the SFU operations that follow a
// weight GEMM in the list and read it (its GELU; its residual add and the same layer's layernorm that reads
// that) run on blocks of its outputs while the array computes the next block. Layernorm needs whole rows: an
// epilogue with a residual add or a layernorm goes by blocks of `array_rows` token rows, a GELU by
// `col_blocks` blocks of columns (multiples of `array_cols`; at most as many as the array's row blocks of
// tokens: every block pays a GEMM's start). Only GEMMs on the PE array (dense and N:M
// weights) whose output is row-major take an epilogue.
struct Epilogue {
  std::vector<std::size_t> ops;  // in order; empty: none
  bool by_rows = false;
  // The GEMM's output blocks: [row0, row0 + rows) x [col0, col0 + cols).
  struct Block {
    std::uint32_t row0 = 0, rows = 0, col0 = 0, cols = 0;
  };
  std::vector<Block> blocks(const Op& gemm, std::uint32_t array_rows, std::uint32_t array_cols,
                            std::uint32_t col_blocks) const;
};
// Per op: its epilogue (empty for all when `on` is false).
std::vector<Epilogue> fused_epilogues(const std::vector<Op>& ops, bool on);

// Block [row0, ..) x [col0, ..) of a weight GEMM's output: where its A rows, W rows and C block are.
GemmLayout gemm_block_layout(const GemmLayout& whole, const Epilogue::Block& b);
// The same block of an SFU operation on rows in memory (every input and the output).
sfu::SfuOp sfu_block(const sfu::SfuOp& whole, const Epilogue::Block& b);

// What an engine of a pipeline serves (engine<i>.stage): a comma-separated union of terms, each `all`,
// `attention` or `ffn` (that sub-block of every layer, Op::sublayer), `layers:A-B` (every operation of layers
// A to B; `layers:A` one layer), or a sub-block in some layers, `attention@layers:A-B`, `ffn@layers:A-B`.
struct EngineStage {
  struct Term {
    Sublayer part = Sublayer::kNone;  // kNone: both
    std::uint32_t first = 0, last = ~0u;
  };
  std::vector<Term> terms;
  bool serves(std::uint32_t layer, Sublayer part) const;
};
// Throws InputError "<what>: expected ..., got '<text>'".
EngineStage parse_engine_stage(const std::string& text, const std::string& what);

// What a pipeline stage serves an operation as: its layer and sub-block, as one number
// (scheduler::Task::group).
std::uint32_t stage_group(const Op& op);
std::uint32_t stage_group(std::uint32_t layer, Sublayer part);

// The scheduler's tasks of a batch: each operation in list order, except that a dense head's Q.K^T, softmax
// and S.V are one pipelined task (stood for by its Q.K^T) of head_blocks(qk)[e] blocks on engine e. Each
// task's group is stage_group(its op), its rank rank[its op]. A GEMM's fused epilogue (`epilogues`, none if
// empty) is part of its task. `chain_topk_heads`: a layer's top-k heads are chained (Task::chain), so that
// an engine can read the next head ahead.
std::vector<scheduler::Task> batch_tasks(
    const std::vector<Op>& ops, const std::function<std::vector<std::uint32_t>(const Op&)>& head_blocks,
    const std::vector<double>& rank, const std::vector<Epilogue>& epilogues = {},
    bool chain_topk_heads = false);

// An attention GEMM's shape for one block of query rows.
GemmParams block_gemm(const GemmParams& g, std::uint32_t block, const AttentionBlocks& blocks);

// Where weight GEMM `i` reads A (its input) and W (mm.weight_at) and writes C (its result), and its output
// stage (projection_output, with the layer's requantiser).
GemmLayout weight_gemm_layout(const std::vector<Op>& ops, std::size_t i, const BatchTensors& t,
                              const MemoryMap& mm, const LayerQuant& quant);
// A head's operations read and write their member's rows (op.row0 on, op's L of them) of the batch's
// per-token tensors. On engine e:
// Block b of a head's Q.K^T: A = Q's rows of the block, head j's columns; W = K's member rows, head j's
// columns (n = L); C = the block's scores (engine e's score buffer b % 2), int32.
GemmLayout scores_block_layout(const Op& qk, const BatchTensors& t, std::uint32_t block,
                               const AttentionBlocks& blocks, std::uint32_t head_dim, std::size_t engine);
// Block b of a head's S.V: A = the block's probabilities (k = L), W = V^T's rows j d .. (n = d), the member's
// columns; C = the context's rows of the block, head j's columns, int8 through rq_ctx.
GemmLayout context_block_layout(const Op& sv, const BatchTensors& t, std::uint32_t block,
                                const AttentionBlocks& blocks, std::uint32_t head_dim,
                                const LayerQuant& quant, std::size_t engine);
// The softmax of block b of a head: the block's scores in, its probabilities out.
sfu::SfuOp softmax_block(const Op& softmax, const BatchTensors& t, std::uint32_t block,
                         const AttentionBlocks& blocks, const LayerQuant& quant, std::size_t engine);
// A residual add, layernorm or GELU on the SFU. `weights` (values only): the layernorms' gamma and beta.
// Throws std::logic_error when an input is not in the format the unit reads.
sfu::SfuOp sfu_op(const Op& op, std::size_t i, const BatchTensors& t, const LayerQuant& quant,
                  const LayerWeights* weights);
// One head on the top-k unit: its member's rows and its columns of Q, K and V in, of the context out.
sfu::TopkOp topk_op(const Op& op, const BatchTensors& t, std::uint32_t head_dim, const LayerQuant& quant);

}  // namespace tacsim::workloads
