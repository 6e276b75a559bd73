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
// - A PE is a pipeline of P = [select] + multiply + adder tree + accumulate stages; the select stage exists
// in
//   sparse mode only (STA bypasses the selector for dense x dense). After the tile's last step e reaches
//   PE(i,j) its result is final after cycle e + i + j + P - 1 and leaves through its column's single output
//   port, into the output buffer, in cycle e + i + j + P. The last output of a tile is written in cycle e +
//   (Rt-1) + (Ct-1) + P; the tile is done (all outputs in the buffer) at  done = e + Rt + Ct + P - 1.
// - Column ports carry one output per cycle: a tile's Rt outputs in column j occupy Rt consecutive cycles.
// - Sparse and dense tiles have pipelines of different depth: a tile whose mode differs from the previous
//   tile's issues its first step no earlier than the previous tile's done cycle.
// - A step can issue only when the operand chunk holding it is in the buffers (its `ready` cycle).
// - The drain. Tile T's drain starts at cycle d_T >= e_T: a drain token enters the array like a step (same
//   skew, same P stages), reaches PE(i,j) at d_T + i + j, moves its result to the PE's output register at
//   d_T + i + j + P - 1, and the result leaves through the column port, into the out buffer, at
//   d_T + i + j + P. The tile is done (all outputs in the buffer) at  done = d_T + Rt + Ct + P - 1.
//   How d_T is chosen depends on the accumulators (Params::overlap_drain):
//   * One accumulator set (overlap_drain off): the drain rides on the last step, d_T = e_T, because the next
//     tile overwrites the set. So the tile's output half must be free before its first step, and the column
//     ports are kept apart at the first step: e_T >= d_{T-1} + Rt_{T-1}, enforced as
//     first_T >= d_{T-1} + Rt_{T-1} - (S_T - 1). (Bubbles later only delay e further.)
//   * Two accumulator sets (on): tile T accumulates in set T % 2; a finished tile waits there while the next
//     one computes in the other set. d_T = max(e_T, the cycle T's output half is free, d_{T-1} + Rt_{T-1})
//     (the last term keeps the column ports apart), and tile T's first step waits for its set: it issues no
//     earlier than d_{T-2} + 1, the cycle after tile T-2's drain token read it.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "modules/common/types.h"

namespace tacsim::pe_array {

struct Params {
  std::uint32_t rows = 32;
  std::uint32_t cols = 32;
  std::uint32_t macs_per_pe = 4;            // multipliers per PE: 32 x 32 x 4 = 4,096 MACs per cycle
  std::uint32_t select_latency_cycles = 1;  // M:1 activation selector, sparse mode only
  std::uint32_t multiply_latency_cycles = 1;
  std::uint32_t adder_tree_latency_cycles = 2;  // log2(macs_per_pe) levels of two-input adders
  std::uint32_t accumulate_latency_cycles = 1;
  // Two accumulator sets per PE: a tile waits in its set for an output half and the column ports while the
  // next tile computes (see the drain above). Off: one set, and a tile claims its output half up front.
  bool overlap_drain = true;
  // A long reduction keeps its partial sums on chip while its resident chunks serve many tiles: in the
  // accumulators across two chunks held in both halves of a buffer, or in the output buffer, whose drain path
  // adds a later chunk's sums to them (tile_command.h, OutputSlot). Off, each tile streams its own chunks.
  bool partial_sums = true;

  std::string validate() const;
  std::uint32_t accumulator_sets() const { return overlap_drain ? 2 : 1; }
  std::uint32_t pipeline_depth(bool sparse) const {
    return (sparse ? select_latency_cycles : 0) + multiply_latency_cycles + adder_tree_latency_cycles +
           accumulate_latency_cycles;
  }
  std::uint64_t peak_macs_per_cycle() const { return std::uint64_t{rows} * cols * macs_per_pe; }
};

// One chunk of a tile's operands, as they sit in the buffers.
// Activations: Rt rows of the chunk's K range, row r at act + r * act_stride.
// Weights: Ct columns; column j holds `slots` kept weights at values + j * col_stride and, in sparse mode,
// their in-group indices at index + j * index_stride. Slot q of a column multiplies activation k = (q / n) *
// m + index[q] of the chunk (sparse), or k = q (dense, index == nullptr). A sparse chunk holds whole groups:
// slots is a multiple of n.
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
  std::uint32_t rows = 0;   // Rt
  std::uint32_t cols = 0;   // Ct
  std::uint64_t steps = 0;  // S, over all chunks of the tile
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

  explicit PeArrayEngine(const Params& p);

  // A tile may begin once its accumulator set has been drained (drain_tile of the tile that used it last)
  // and, when it changes between sparse and dense mode, once the previous tile has.
  bool can_begin(const TileShape& shape) const;
  // Starts a tile; its accumulator set is cleared.
  void begin_tile(const TileShape& shape);
  // Issues the steps of the current tile's next chunk, `slots` kept weights per column (ceil(slots / L)
  // steps), whose operands are in the buffers from cycle `ready`, and accumulates their products (when
  // `chunk` is not null). With one accumulator set the tile's first chunk also waits for its output half,
  // free from `out_ready` (with two, drain_tile waits for it). Returns the cycle of the chunk's last step.
  Cycle issue_chunk(Cycle ready, std::uint64_t slots, const Chunk* chunk, Cycle out_ready = 0);
  // Ends the current tile's steps; returns its last step's cycle e.
  Cycle end_tile();
  // Drains the oldest ended tile not yet drained, whose output half is free from `out_ready` (two accumulator
  // sets; with one, its first step waited for the half and this argument is not used). Returns its done
  // cycle: all its outputs are in the output buffer from then on.
  Cycle drain_tile(Cycle out_ready);
  // The array had no work until cycle `c` (nothing was enqueued): time before it is idle, not a stall of the
  // next chunk. Timing is unchanged; only the stall counters start counting from `c`.
  void idle_until(Cycle c) { stall_floor_ = std::max(stall_floor_, c); }

  // Accumulators of the current (or just ended) tile, row-major Rt x Ct.
  const std::vector<std::int32_t>& outputs() const { return acc_[cur_set_]; }
  // Accumulators of the tile drain_tile drained last (valid until a tile begins in its set).
  const std::vector<std::int32_t>& drained_outputs() const { return acc_[drained_set_]; }
  Cycle first_issue() const { return tile_first_; }
  std::uint64_t undrained() const { return undrained_.size(); }
  const Counters& counters() const { return c_; }
  const Params& params() const { return p_; }

  // The steps a chunk of `slots` kept weights per column takes.
  std::uint64_t steps_for(std::uint64_t slots) const { return (slots + p_.macs_per_pe - 1) / p_.macs_per_pe; }

 private:
  // What the timing of later tiles needs to know of an ended tile.
  struct Ended {
    Cycle last = 0;  // e
    std::uint32_t rows = 0, cols = 0, set = 0;
    bool sparse = false;
  };
  // Why a drain started when it did, for charging the stalls of the tile that waits for its set.
  enum class DrainCause : std::uint8_t { kLastStep, kOutHalf, kPorts };
  struct SetState {
    bool busy = false;    // holds a tile not yet drained
    Cycle free_from = 0;  // d + 1 of the tile drained from it last
    DrainCause cause = DrainCause::kLastStep;
  };

  void accumulate(const Chunk& chunk);
  void charge(std::uint64_t& counter, Cycle from, Cycle to);

  Params p_;
  TileShape tile_;
  std::uint64_t steps_left_ = 0;
  bool tile_open_ = false;
  bool first_chunk_ = true;
  Cycle last_issue_ = 0;  // last step issued by any tile
  bool any_issue_ = false;
  Cycle stall_floor_ = 0;
  std::uint64_t tiles_begun_ = 0;
  std::uint32_t cur_set_ = 0, drained_set_ = 0;
  bool prev_sparse_ = false;     // mode of the last tile begun
  bool switching_ = false;       // the current tile changed mode
  std::deque<Ended> undrained_;  // ended, not yet drained, oldest first
  bool any_drain_ = false;
  Cycle prev_drain_ = 0;  // d of the last drained tile, for the column-port rule
  std::uint32_t prev_drain_rows_ = 0;
  Cycle prev_done_ = 0;  // done of the last drained tile, for the mode-switch rule
  std::vector<SetState> sets_;
  Cycle tile_first_ = 0;
  std::vector<std::vector<std::int32_t>> acc_;  // one per accumulator set
  std::vector<std::int8_t> expanded_;  // scratch: a sparse chunk's weights scattered to dense columns
  Counters c_;
};

}  // namespace tacsim::pe_array
