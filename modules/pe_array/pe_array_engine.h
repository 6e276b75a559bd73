#pragma once
// The PE array engine: STA's unified sparse/dense array as an output-stationary grid of rows x cols PEs, each
// with `macs_per_pe` multipliers (L), an adder tree and an int32 accumulator.
//
// Micro-architecture, clock by clock (the step model in pe_array_step_model.h simulates exactly this):
// - A tile computes Rt x Ct outputs (Rt <= rows, Ct <= cols). Its weights arrive as a stream of S "steps":
//   step s carries, for every column, the L kept weights s*L .. s*L+L-1 of that column (dense: L consecutive
//   weights along K; N:M: L kept weights with their in-group indices, and the M:1 selectors pick the matching
//   activations). S = ceil(kept weights per column / L).
// - The array issues at most one step per cycle. A step issued at cycle c reaches PE(i,j) at cycle c + i + j
//   (one register per hop along rows and columns: the systolic skew).
// - A PE is a pipeline of P = [select] + multiply + adder tree + accumulate stages; the select stage exists in
//   sparse mode only (STA bypasses the selector for dense x dense). After the tile's last step e reaches PE(i,j)
//   its result is final after cycle e + i + j + P - 1 and leaves through its column's single output port, into
//   the output buffer, in cycle e + i + j + P. The last output of a tile is written in cycle
//   e + (Rt-1) + (Ct-1) + P; the tile is done (all outputs in the buffer) at  done = e + Rt + Ct + P - 1.
// - Column ports carry one output per cycle. Tile T's outputs in column j occupy cycles e_T+j+P .. e_T+j+P+Rt-1,
//   so the next tile may not finish its last step before e_T + Rt_T. The controller enforces this at the start
//   of a tile: its first step issues no earlier than e_T + Rt_T - (S - 1). (Bubbles later only delay e further.)
// - Sparse and dense tiles have pipelines of different depth: a tile whose mode differs from the previous
//   tile's issues its first step no earlier than the previous tile's done cycle.
// - A step can issue only when the operand chunk holding it is in the buffers (its `ready` cycle).
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "modules/common/types.h"

namespace tacsim::pe_array {

struct Params {
  std::uint32_t rows = 32;
  std::uint32_t cols = 32;
  std::uint32_t macs_per_pe = 4;           // multipliers per PE: 32 x 32 x 4 = 4,096 MACs per cycle
  std::uint32_t select_latency_cycles = 1;         // M:1 activation selector, sparse mode only
  std::uint32_t multiply_latency_cycles = 1;
  std::uint32_t adder_tree_latency_cycles = 2;     // log2(macs_per_pe) levels of two-input adders
  std::uint32_t accumulate_latency_cycles = 1;

  std::string validate() const;
  std::uint32_t pipeline_depth(bool sparse) const {
    return (sparse ? select_latency_cycles : 0) + multiply_latency_cycles + adder_tree_latency_cycles + accumulate_latency_cycles;
  }
  std::uint64_t peak_macs_per_cycle() const { return std::uint64_t{rows} * cols * macs_per_pe; }
};

// One chunk of a tile's operands, as they sit in the buffers.
// Activations: Rt rows of the chunk's K range, row r at act + r * act_stride.
// Weights: Ct columns; column j holds `slots` kept weights at values + j * col_stride and, in sparse mode, their
// in-group indices at index + j * index_stride. Slot q of a column multiplies activation
// k = (q / n) * m + index[q] of the chunk (sparse), or k = q (dense, index == nullptr). A sparse chunk holds
// whole groups: slots is a multiple of n.
struct Chunk {
  const std::int8_t* act = nullptr;
  std::size_t act_stride = 0;
  const std::int8_t* values = nullptr;
  const std::uint8_t* index = nullptr;
  std::size_t col_stride = 0;
  std::uint32_t slots = 0;
  std::uint32_t n = 1, m = 1;
  std::size_t index_stride = 0;
};

struct TileShape {
  std::uint32_t rows = 0;     // Rt
  std::uint32_t cols = 0;     // Ct
  std::uint64_t steps = 0;    // S, over all chunks of the tile
  bool sparse = false;
};

class PeArrayEngine {
 public:
  struct Counters {
    std::uint64_t tiles = 0;
    std::uint64_t steps = 0;                 // cycles in which the array issued a step
    std::uint64_t macs = 0;                  // multiplications: kept weights (N:M padding included) x Rt x Ct
    std::uint64_t selected_macs = 0;         // those whose activation an M:1 selector picked (sparse mode)
    std::uint64_t operand_stall_cycles = 0;  // the array could issue but the chunk was not in the buffers
    std::uint64_t out_stall_cycles = 0;      // ... but no output half was free (counted first)
    std::uint64_t drain_stall_cycles = 0;    // held back so outputs do not collide on the column ports
  };

  explicit PeArrayEngine(const Params& p) : p_(p) {}

  // Starts a tile; the accumulators are cleared.
  void begin_tile(const TileShape& shape);
  // Issues the steps of the current tile's next chunk, `slots` kept weights per column (ceil(slots / L) steps),
  // whose operands are in the buffers from cycle `ready`, and accumulates their products (when `chunk` is not
  // null). The tile's first chunk also waits for an output half, free from `out_ready`. Returns the cycle of
  // the chunk's last step.
  Cycle issue_chunk(Cycle ready, std::uint64_t slots, const Chunk* chunk, Cycle out_ready = 0);
  // Ends the tile; returns its done cycle (all outputs in the output buffer from then on).
  Cycle end_tile();
  // The array had no work until cycle `c` (nothing was enqueued): time before it is idle, not a stall of the
  // next chunk. Timing is unchanged; only the stall counters start counting from `c`.
  void idle_until(Cycle c) { stall_floor_ = std::max(stall_floor_, c); }

  // Accumulators of the current (or just ended) tile, row-major Rt x Ct.
  const std::vector<std::int32_t>& outputs() const { return acc_; }
  Cycle first_issue() const { return tile_first_; }
  const Counters& counters() const { return c_; }
  const Params& params() const { return p_; }

  // The steps a chunk of `slots` kept weights per column takes.
  std::uint64_t steps_for(std::uint64_t slots) const { return (slots + p_.macs_per_pe - 1) / p_.macs_per_pe; }

 private:
  void accumulate(const Chunk& chunk);

  Params p_;
  TileShape tile_;
  std::uint64_t steps_left_ = 0;
  bool tile_open_ = false;
  bool first_chunk_ = true;
  Cycle last_issue_ = 0;        // last step issued by any tile
  bool any_issue_ = false;
  Cycle stall_floor_ = 0;
  Cycle prev_tile_last_ = 0;    // e of the previous tile, for the column-port rule
  std::uint32_t prev_tile_rows_ = 0;
  bool prev_tile_sparse_ = false;
  Cycle prev_tile_done_ = 0;
  bool any_tile_ = false;
  Cycle tile_first_ = 0;
  std::vector<std::int32_t> acc_;
  std::vector<std::int8_t> expanded_;  // scratch: a sparse chunk's weights scattered to dense columns
  Counters c_;
};

}  // namespace tacsim::pe_array
