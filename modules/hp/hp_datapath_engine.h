#pragma once
// The HP decoder and datapath engine: a sparse weight tile times a tile of activations read from a banked
// activation buffer, after the HP accelerator of Qi et al., ICCAD 2021, as this project defines it.
//
// Micro-architecture (the project's definition; the step model in run_tile_step() simulates exactly this):
// - C[Rt x N] += A[Rt x K] . W^T with W sparse (N x K, rows = output features). The activation buffer holds
//   the tile's activations column-major: one bank word = activation column c for all Rt tokens, word c in
//   the bank p.bank.map gives it (modules/buffer/bank_map.h).
// - E = row_engines engines share the decoder's output and the activation buffer. Engine e walks the tile's
//   rows e, e + E, e + 2E, ... in order, each row block by block along K (block = bank.block_cols columns,
//   the same walk for unstructured weights). A *segment* is the non-zeros of one row inside one block,
//   ascending column; an engine issues each segment as *waves* of at most `lanes` reads (lanes = multipliers
//   per token per engine): lanes 0.. of a wave take the segment's next non-zeros in column order. An empty
//   segment costs no cycle.
// - The engines advance in lockstep: a *round* is every engine's next wave (an engine whose walk is over
//   sits it out), served together by the BankArbiter as one wave of E x lanes lanes, engine e's wave on
//   lanes e * lanes.. (bank_arbiter.h): max over banks of ceil(n_b / ports) cycles, at least 1; cycles beyond
//   the first are bank-conflict cycles. Rows e + jE of all engines are the rows processed together; HP's
//   level 2 keeps their reads apart (modules/formats/FORMATS.md), and since rows of one block row have the
//   same segments, their engines stay aligned. The next round starts the cycle after a round's last cycle,
//   so rounds are back to back: with c_r the cycles of the tile's rounds,
//     first_fetch = max(start + decode_latency_cycles, walk_free)     (walk_free: the previous tile's
//     last_fetch = first_fetch + sum c_r - 1                           last_fetch + 1; 0 at first)
//   i.e. the decoder is pipelined: it decodes the next tile while the walk of the previous one finishes.
// - Each served word (Rt activations) is multiplied by its lane's weight on Rt multipliers; per token and
//   engine an adder tree sums the wave's lanes, and the sum is added into the int32 accumulator of
//   (token, row): Rt x lanes x E multipliers in all. With e the round's last fetch cycle and
//   L = multiply + adder_tree + accumulate latency, the products exist at the end of cycle e + multiply, the
//   trees' sums at e + multiply + adder_tree, and the accumulators hold the round's contributions at the end
//   of cycle e + L. The pipeline accepts one round per cycle and the accumulate stage forwards, so rounds
//   never stall it. Hence done = last_fetch + L.
// - A tile without non-zeros issues nothing: first_fetch = last_fetch = kNever, done = start + decode
// latency.
// - Accumulators are int32 and wrap modulo 2^32, as an int32 adder does.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "modules/buffer/bank_arbiter.h"
#include "modules/common/types.h"
#include "modules/formats/hp.h"
#include "modules/formats/mask.h"
#include "modules/formats/matrix.h"

namespace tacsim::hp {

struct HpDatapathParams {
  // Our defaults; Qi et al. give no engine count or decoder width. 16 engines x 8 lanes x the PE array's 32
  // tokens = 4,096 multipliers, the default STA array's 32 x 32 x 4 (the fair comparison). 16 engines walk
  // the 16 rows of an HP block together; 8 lanes take a segment of up to 8 non-zeros in one wave (HP's k is
  // at most banks x ports / engines = 4 by default, buffer::BankParams; unstructured segments run longer).
  std::uint32_t row_engines = 16;
  std::uint32_t lanes = 8;
  std::uint32_t decode_latency_cycles = 2;  // block map + offset fields to activation addresses
  std::uint32_t multiply_latency_cycles = 1;
  std::uint32_t adder_tree_latency_cycles = 3;  // log2(lanes) levels of two-input adders
  std::uint32_t accumulate_latency_cycles = 1;
  buffer::BankParams bank;

  // "" when valid; bank's messages come prefixed "bank.".
  std::string validate() const;
  std::uint32_t mac_latency_cycles() const {
    return multiply_latency_cycles + adder_tree_latency_cycles + accumulate_latency_cycles;
  }
  // Reads the arbiter serves in one round: every engine's lanes.
  std::uint32_t round_lanes() const { return row_engines * lanes; }
};

// A sparse weight tile as the decoder consumes it: CSR rows of (column, int8 value), columns strictly
// ascending within a row. Stored zeros (HP padding slots, masked positions holding 0) are entries: the
// hardware fetches their activations like any other.
struct SparseRows {
  std::uint32_t rows = 0;
  std::uint32_t cols = 0;                // K
  std::vector<std::uint64_t> row_begin;  // rows + 1 offsets into columns / values
  std::vector<std::uint32_t> columns;
  std::vector<std::int8_t> values;

  std::uint64_t nnz() const { return columns.size(); }
  // "" when the invariants above hold, else the first violation.
  std::string validate() const;
};

// The positions `mask` keeps, with their values in w. Throws InputError when the shapes differ.
SparseRows sparse_rows(const sparsity::Int8Matrix& w, const sparsity::Mask& mask);
// Every stored slot of x (padding slots included). Throws InputError when x breaks an HP invariant.
SparseRows sparse_rows(const sparsity::HpMatrix& x);

struct TileResult {
  Cycle first_fetch = kNever;         // first cycle of the first round
  Cycle last_fetch = kNever;          // last cycle of the last round
  Cycle done = 0;                     // every accumulator final at the end of this cycle
  std::uint64_t fetch_cycles = 0;     // sum of round cycles = last_fetch - first_fetch + 1
  std::uint64_t conflict_cycles = 0;  // sum over rounds of (cycles - 1)
  std::uint64_t segments = 0;         // non-empty segments
  std::uint64_t waves = 0;            // engines' waves
  std::uint64_t rounds = 0;
  std::uint64_t idle_engine_rounds = 0;     // rounds x engines - waves: an engine whose walk was over
  std::uint64_t reads = 0;                  // activation words read = weight entries
  std::uint64_t macs = 0;                   // reads x Rt
  std::vector<std::uint32_t> round_cycles;  // per round, in order
  std::vector<std::uint32_t> round_reads;   // per round: the non-zeros (activation reads) it fetched
  std::uint32_t tokens = 0;                 // Rt
  std::uint32_t rows = 0;                   // N
  std::vector<std::int32_t> outputs;        // Rt x N, token-major: outputs[t * N + n]

  bool operator==(const TileResult& o) const {
    return first_fetch == o.first_fetch && last_fetch == o.last_fetch && done == o.done &&
           fetch_cycles == o.fetch_cycles && conflict_cycles == o.conflict_cycles && segments == o.segments &&
           waves == o.waves && rounds == o.rounds && idle_engine_rounds == o.idle_engine_rounds &&
           reads == o.reads && macs == o.macs && round_cycles == o.round_cycles &&
           round_reads == o.round_reads && tokens == o.tokens && rows == o.rows && outputs == o.outputs;
  }
};

class HpDatapathEngine {
 public:
  struct Counters {
    std::uint64_t tiles = 0;
    std::uint64_t segments = 0;
    std::uint64_t waves = 0;
    std::uint64_t rounds = 0;
    std::uint64_t idle_engine_rounds = 0;
    std::uint64_t reads = 0;
    std::uint64_t macs = 0;
    std::uint64_t fetch_cycles = 0;
    std::uint64_t conflict_cycles = 0;
    std::uint64_t walk_wait_cycles = 0;  // decoded tile waited for the previous tile's walk to finish
    bool operator==(const Counters& o) const {
      return tiles == o.tiles && segments == o.segments && waves == o.waves && rounds == o.rounds &&
             idle_engine_rounds == o.idle_engine_rounds && reads == o.reads && macs == o.macs &&
             fetch_cycles == o.fetch_cycles && conflict_cycles == o.conflict_cycles &&
             walk_wait_cycles == o.walk_wait_cycles;
    }
  };

  // Throws InputError when params are invalid.
  explicit HpDatapathEngine(const HpDatapathParams& params);

  // Fast path: closed-form wave timing, values computed directly. act_colmajor holds K columns of `tokens`
  // activations: act_colmajor[c * tokens + t]. Tiles go in start order (start never decreases); misuse
  // (tokens 0, decreasing start, invalid w_tile, null activations for a non-empty tile) throws
  // std::invalid_argument.
  TileResult run_tile(Cycle start, const SparseRows& w_tile, const std::int8_t* act_colmajor,
                      std::uint32_t tokens);
  // Reference: the same tile advanced one clock at a time through the engines' decoders, round arbitration
  // (the arbiter's step model) and the multiply / adder tree / accumulate pipeline. Same results, counters
  // and state.
  TileResult run_tile_step(Cycle start, const SparseRows& w_tile, const std::int8_t* act_colmajor,
                           std::uint32_t tokens);

  // First cycle the segment walk is free for the next tile.
  Cycle walk_free() const { return walk_free_; }
  const Counters& counters() const { return c_; }
  const buffer::BankArbiter& arbiter() const { return arbiter_; }
  const HpDatapathParams& params() const { return p_; }

 private:
  void check_tile(Cycle start, const SparseRows& w_tile, const std::int8_t* act_colmajor,
                  std::uint32_t tokens) const;
  void account(const TileResult& r, Cycle walk_ready);

  HpDatapathParams p_;
  std::shared_ptr<const buffer::BankMap> map_;  // p_.bank's map; immutable, so copies may share it
  buffer::BankArbiter arbiter_;
  Cycle walk_free_ = 0;
  Cycle last_start_ = 0;
  Counters c_;
  std::vector<std::uint32_t> round_banks_;  // scratch: the round's banks by arbiter lane, kNoRead when empty
};

}  // namespace tacsim::hp
