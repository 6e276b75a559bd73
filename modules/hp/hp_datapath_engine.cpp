#include "modules/hp/hp_datapath_engine.h"

#include <algorithm>
#include <deque>
#include <stdexcept>

#include "modules/common/error.h"

namespace tacsim::hp {
namespace {

std::string range_error(const char* field, std::uint64_t value, std::uint64_t lo, std::uint64_t hi) {
  if (value < lo)
    return std::string(field) + ": must be at least " + std::to_string(lo) + ", got " + std::to_string(value);
  if (value > hi)
    return std::string(field) + ": must be at most " + std::to_string(hi) + ", got " + std::to_string(value);
  return "";
}

// int32 addition that wraps like the hardware adder (no signed-overflow UB).
std::int32_t wrap_add(std::int32_t a, std::int32_t b) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) + static_cast<std::uint32_t>(b));
}

const HpDatapathParams& validated(const HpDatapathParams& p) {
  const std::string err = p.validate();
  if (!err.empty()) throw InputError(err);
  return p;
}

TileResult empty_result(const SparseRows& w, std::uint32_t tokens) {
  TileResult r;
  r.tokens = tokens;
  r.rows = w.rows;
  r.outputs.assign(static_cast<std::size_t>(tokens) * w.rows, 0);
  return r;
}

// The step model's decoder of one engine: visits every (row, block) of the engine's rows (first_row,
// first_row + row_step, ...) in walk order, empty ones included, and cuts each segment into waves of at
// most `lanes` entries.
class SegmentWalker {
 public:
  SegmentWalker(const SparseRows& w, std::uint32_t block_cols, std::uint32_t lanes, std::uint32_t first_row,
                std::uint32_t row_step)
      : w_(w),
        block_cols_(block_cols),
        lanes_(lanes),
        blocks_per_row_((static_cast<std::uint64_t>(w.cols) + block_cols - 1) / block_cols),
        row_step_(row_step),
        row_(first_row) {}

  // The next wave as entry indices [begin, end) of row `row`; false when the tile has no more.
  bool next_wave(std::uint32_t& row, std::uint64_t& begin, std::uint64_t& end) {
    while (pos_ == seg_end_) {
      if (!enter_next_segment()) return false;
    }
    row = static_cast<std::uint32_t>(row_);
    begin = pos_;
    end = std::min(seg_end_, pos_ + lanes_);
    pos_ = end;
    return true;
  }
  std::uint64_t segments() const { return segments_; }

 private:
  bool enter_next_segment() {
    if (started_) {
      if (++block_ == blocks_per_row_) {
        block_ = 0;
        row_ += row_step_;
      }
    }
    started_ = true;
    if (row_ >= w_.rows || blocks_per_row_ == 0) return false;
    // Entries are column-ascending, so the segment is the run from the row's cursor up to the block's end.
    if (block_ == 0) pos_ = w_.row_begin[row_];
    const std::uint64_t limit = (block_ + 1) * block_cols_;
    seg_end_ = pos_;
    while (seg_end_ < w_.row_begin[row_ + 1] && w_.columns[seg_end_] < limit) ++seg_end_;
    if (seg_end_ != pos_) ++segments_;
    return true;
  }

  const SparseRows& w_;
  std::uint64_t block_cols_;
  std::uint64_t lanes_;
  std::uint64_t blocks_per_row_;
  std::uint64_t row_step_;
  bool started_ = false;
  std::uint64_t row_ = 0;
  std::uint64_t block_ = 0;
  std::uint64_t pos_ = 0;
  std::uint64_t seg_end_ = 0;
  std::uint64_t segments_ = 0;
};

// One engine's wave in the MAC pipeline: the operand registers latched at its round's last fetch cycle e,
// then its products (after the multipliers), its per-token lane sums (after the engine's adder tree).
struct InFlightWave {
  Cycle e = 0;
  std::uint32_t row = 0;
  std::uint32_t size = 0;
  std::vector<std::int8_t> words;      // lane-major: words[lane * Rt + t]
  std::vector<std::int8_t> weights;    // per lane
  std::vector<std::int32_t> products;  // lane-major like words
  std::vector<std::int32_t> sums;      // per token
};

}  // namespace

std::string HpDatapathParams::validate() const {
  constexpr std::uint64_t kMaxLatency = 1u << 16;
  const std::string checks[] = {
      range_error("row_engines", row_engines, 1, 256),
      range_error("lanes", lanes, 1, 4096),
      range_error("decode_latency_cycles", decode_latency_cycles, 0, kMaxLatency),
      range_error("multiply_latency_cycles", multiply_latency_cycles, 1, kMaxLatency),
      range_error("adder_tree_latency_cycles", adder_tree_latency_cycles, 0, kMaxLatency),
      range_error("accumulate_latency_cycles", accumulate_latency_cycles, 1, kMaxLatency),
  };
  for (const std::string& c : checks)
    if (!c.empty()) return c;
  if (round_lanes() > 65536)
    return "lanes: row_engines x lanes must be at most 65536, got " + std::to_string(row_engines) + " x " +
           std::to_string(lanes);
  const std::string bank_err = bank.validate();
  return bank_err.empty() ? "" : "bank." + bank_err;
}

std::string SparseRows::validate() const {
  if (row_begin.size() != static_cast<std::size_t>(rows) + 1)
    return "row_begin: must hold rows + 1 = " + std::to_string(rows + 1ull) + " offsets, got " +
           std::to_string(row_begin.size());
  if (values.size() != columns.size())
    return "values: must hold one value per column entry, got " + std::to_string(values.size()) + " for " +
           std::to_string(columns.size());
  if (row_begin.front() != 0) return "row_begin: must start at 0, got " + std::to_string(row_begin.front());
  if (row_begin.back() != columns.size())
    return "row_begin: must end at nnz = " + std::to_string(columns.size()) + ", got " +
           std::to_string(row_begin.back());
  for (std::uint32_t r = 0; r < rows; ++r) {
    if (row_begin[r + 1] < row_begin[r]) return "row_begin: decreases at row " + std::to_string(r + 1);
    for (std::uint64_t i = row_begin[r]; i < row_begin[r + 1]; ++i) {
      if (columns[i] >= cols)
        return "columns: row " + std::to_string(r) + " has column " + std::to_string(columns[i]) +
               ", must be below cols = " + std::to_string(cols);
      if (i > row_begin[r] && columns[i] <= columns[i - 1])
        return "columns: row " + std::to_string(r) + " is not strictly ascending at column " +
               std::to_string(columns[i]);
    }
  }
  return "";
}

SparseRows sparse_rows(const sparsity::Int8Matrix& w, const sparsity::Mask& mask) {
  if (w.rows != mask.rows || w.cols != mask.cols) {
    throw InputError("sparse_rows: weights are " + std::to_string(w.rows) + " x " + std::to_string(w.cols) +
                     " but the mask is " + std::to_string(mask.rows) + " x " + std::to_string(mask.cols));
  }
  SparseRows s;
  s.rows = static_cast<std::uint32_t>(w.rows);
  s.cols = static_cast<std::uint32_t>(w.cols);
  s.row_begin.reserve(s.rows + std::size_t{1});
  s.row_begin.push_back(0);
  for (int r = 0; r < w.rows; ++r) {
    for (int c = 0; c < w.cols; ++c) {
      if (!mask.at(r, c)) continue;
      s.columns.push_back(static_cast<std::uint32_t>(c));
      s.values.push_back(w.at(r, c));
    }
    s.row_begin.push_back(s.columns.size());
  }
  return s;
}

SparseRows sparse_rows(const sparsity::HpMatrix& x) {
  const std::string err = sparsity::validate_hp(x);
  if (!err.empty()) throw InputError("sparse_rows: HP matrix: " + err);
  SparseRows s;
  s.rows = static_cast<std::uint32_t>(x.rows);
  s.cols = static_cast<std::uint32_t>(x.cols);
  s.row_begin.reserve(s.rows + std::size_t{1});
  s.row_begin.push_back(0);
  s.columns.reserve(x.values.size());
  s.values.reserve(x.values.size());
  const auto grid_cols = static_cast<std::uint32_t>(x.grid_cols());
  // Kept block ids ascend row-major over the grid: a block row's kept blocks are consecutive, left to right,
  // and each row's slots ascend within a block, so the entries come out in column order.
  std::size_t j0 = 0;
  for (int r0 = 0; r0 < x.rows; r0 += x.block_rows) {
    const auto block_row = static_cast<std::uint32_t>(r0 / x.block_rows);
    std::size_t j1 = j0;
    while (j1 < x.kept_blocks.size() && x.kept_blocks[j1] / grid_cols == block_row) ++j1;
    for (int i = 0; i < x.block_rows; ++i) {
      for (std::size_t j = j0; j < j1; ++j) {
        const std::uint32_t c0 = (x.kept_blocks[j] % grid_cols) * static_cast<std::uint32_t>(x.block_cols);
        for (int slot = 0; slot < x.nnz_per_row; ++slot) {
          const std::size_t k = x.slot(j, i, slot);
          s.columns.push_back(c0 + x.offsets[k]);
          s.values.push_back(x.values[k]);
        }
      }
      s.row_begin.push_back(s.columns.size());
    }
    j0 = j1;
  }
  return s;
}

HpDatapathEngine::HpDatapathEngine(const HpDatapathParams& params)
    : p_(validated(params)),
      map_(buffer::make_bank_map(p_.bank)),
      arbiter_(p_.bank, p_.round_lanes()),
      round_banks_(p_.round_lanes(), buffer::kNoRead) {}

void HpDatapathEngine::check_tile(Cycle start, const SparseRows& w_tile, const std::int8_t* act_colmajor,
                                  std::uint32_t tokens) const {
  if (tokens == 0) throw std::invalid_argument("HpDatapathEngine: a tile needs at least one token");
  if (c_.tiles > 0 && start < last_start_) {
    throw std::invalid_argument("HpDatapathEngine: tile starts at cycle " + std::to_string(start) +
                                ", before the previous tile's start " + std::to_string(last_start_));
  }
  const std::string err = w_tile.validate();
  if (!err.empty()) throw std::invalid_argument("HpDatapathEngine: weight tile: " + err);
  if (w_tile.nnz() > 0 && act_colmajor == nullptr)
    throw std::invalid_argument("HpDatapathEngine: no activations for a non-empty tile");
}

void HpDatapathEngine::account(const TileResult& r, Cycle walk_ready) {
  c_.tiles += 1;
  c_.segments += r.segments;
  c_.waves += r.waves;
  c_.rounds += r.rounds;
  c_.idle_engine_rounds += r.idle_engine_rounds;
  c_.reads += r.reads;
  c_.macs += r.macs;
  c_.fetch_cycles += r.fetch_cycles;
  c_.conflict_cycles += r.conflict_cycles;
  if (r.rounds > 0) {
    c_.walk_wait_cycles += r.first_fetch - walk_ready;
    walk_free_ = r.last_fetch + 1;
  }
}

TileResult HpDatapathEngine::run_tile(Cycle start, const SparseRows& w, const std::int8_t* act,
                                      std::uint32_t tokens) {
  check_tile(start, w, act, tokens);
  last_start_ = start;
  TileResult r = empty_result(w, tokens);
  const Cycle walk_ready = start + p_.decode_latency_cycles;
  const std::uint32_t block_cols = p_.bank.block_cols, lanes = p_.lanes, engines = p_.row_engines;
  const std::uint32_t n_rows = w.rows;
  // Per engine: its current row, the next entry to read and the end of the current segment and row.
  struct Cursor {
    std::uint64_t row, pos, seg_end, row_end;
  };
  std::vector<Cursor> cursor(engines);
  for (std::uint32_t e = 0; e < engines; ++e) {
    const std::uint64_t first = e < n_rows ? w.row_begin[e] : 0;
    cursor[e] = {e, first, first, e < n_rows ? w.row_begin[e + 1] : 0};
  }
  // Moves c to its next non-empty segment and adds the segment's products; false when its walk is over.
  auto next_segment = [&](Cursor& c) {
    while (c.pos == c.row_end) {
      c.row += engines;
      if (c.row >= n_rows) return false;
      c.pos = w.row_begin[c.row];
      c.row_end = w.row_begin[c.row + 1];
    }
    const std::uint32_t block = w.columns[c.pos] / block_cols;
    c.seg_end = c.pos + 1;
    while (c.seg_end < c.row_end && w.columns[c.seg_end] / block_cols == block) ++c.seg_end;
    r.segments += 1;
    // The wave split and the arrival order do not change an integer sum, so the values go in directly.
    for (std::uint64_t j = c.pos; j < c.seg_end; ++j) {
      const std::int32_t v = w.values[j];
      const std::int8_t* col = act + static_cast<std::size_t>(w.columns[j]) * tokens;
      for (std::uint32_t tok = 0; tok < tokens; ++tok) {
        std::int32_t& acc = r.outputs[static_cast<std::size_t>(tok) * n_rows + c.row];
        acc = wrap_add(acc, v * col[tok]);
      }
    }
    return true;
  };
  Cycle t = std::max(walk_ready, walk_free_);
  for (;;) {
    std::uint32_t in_round = 0, reads = 0;
    for (std::uint32_t e = 0; e < engines; ++e) {
      Cursor& c = cursor[e];
      if (c.row >= n_rows || (c.pos == c.seg_end && !next_segment(c))) continue;
      const std::uint64_t end = std::min<std::uint64_t>(c.seg_end, c.pos + lanes);
      map_->banks(w.columns.data() + c.pos, end - c.pos, round_banks_.data() + std::size_t{e} * lanes);
      reads += static_cast<std::uint32_t>(end - c.pos);
      c.pos = end;
      ++in_round;
    }
    if (in_round == 0) break;
    const std::uint32_t cycles = arbiter_.serve_wave(t, round_banks_);
    std::fill(round_banks_.begin(), round_banks_.end(), buffer::kNoRead);
    if (r.rounds == 0) r.first_fetch = t;
    t += cycles;
    r.rounds += 1;
    r.waves += in_round;
    r.idle_engine_rounds += engines - in_round;
    r.conflict_cycles += cycles - 1;
    r.round_cycles.push_back(cycles);
    r.round_reads.push_back(reads);
  }
  r.reads = w.nnz();
  r.macs = r.reads * tokens;
  if (r.rounds > 0) {
    r.last_fetch = t - 1;
    r.fetch_cycles = t - r.first_fetch;
    r.done = r.last_fetch + p_.mac_latency_cycles();
  } else {
    r.done = walk_ready;
  }
  account(r, walk_ready);
  return r;
}

TileResult HpDatapathEngine::run_tile_step(Cycle start, const SparseRows& w, const std::int8_t* act,
                                           std::uint32_t tokens) {
  check_tile(start, w, act, tokens);
  last_start_ = start;
  TileResult r = empty_result(w, tokens);
  const Cycle walk_ready = start + p_.decode_latency_cycles;
  const Cycle mul = p_.multiply_latency_cycles;
  const Cycle tree = p_.adder_tree_latency_cycles;
  const Cycle mac = p_.mac_latency_cycles();
  const std::uint32_t lanes = p_.lanes, engines = p_.row_engines;

  // Per engine: its decoder, the decoder's output register (the next wave, waiting for the round) and the
  // wave it has in the round being served, with its operand registers.
  struct Engine {
    Engine(const SegmentWalker& walk, std::uint32_t lanes, std::uint32_t tokens)
        : walker(walk), words(static_cast<std::size_t>(lanes) * tokens), weights(lanes) {}
    SegmentWalker walker;
    bool decoder_done = false;
    bool pending = false;
    std::uint32_t pending_row = 0;
    std::uint64_t pending_begin = 0, pending_end = 0;
    bool in_round = false;
    std::uint32_t row = 0;
    std::uint64_t begin = 0;
    std::uint32_t size = 0;
    std::vector<std::int8_t> words;    // lane-major: words[lane * Rt + t]
    std::vector<std::int8_t> weights;  // per lane
  };
  std::vector<Engine> eng;
  eng.reserve(engines);
  for (std::uint32_t e = 0; e < engines; ++e)
    eng.emplace_back(SegmentWalker(w, p_.bank.block_cols, lanes, e, engines), lanes, tokens);
  Cycle round_start = 0;
  std::uint32_t round_reads = 0;  // reads granted in the round being served
  std::deque<InFlightWave> pipe;

  for (Cycle now = start;; ++now) {
    // MAC pipeline: each stage acts in the cycle it completes; waves retire in issue order.
    for (InFlightWave& f : pipe) {
      if (now == f.e + mul) {
        f.products.resize(f.words.size());
        for (std::uint32_t lane = 0; lane < f.size; ++lane)
          for (std::uint32_t tok = 0; tok < tokens; ++tok) {
            const std::size_t k = static_cast<std::size_t>(lane) * tokens + tok;
            f.products[k] = std::int32_t{f.weights[lane]} * f.words[k];
          }
      }
      if (now == f.e + mul + tree) {
        f.sums.assign(tokens, 0);
        for (std::uint32_t lane = 0; lane < f.size; ++lane)
          for (std::uint32_t tok = 0; tok < tokens; ++tok)
            f.sums[tok] = wrap_add(f.sums[tok], f.products[static_cast<std::size_t>(lane) * tokens + tok]);
      }
      if (now == f.e + mac) {
        for (std::uint32_t tok = 0; tok < tokens; ++tok) {
          std::int32_t& acc = r.outputs[static_cast<std::size_t>(tok) * w.rows + f.row];
          acc = wrap_add(acc, f.sums[tok]);
        }
      }
    }
    while (!pipe.empty() && now == pipe.front().e + mac) pipe.pop_front();

    // Decoders: from walk_ready on each keeps its output register filled.
    bool any_pending = false, all_done = true;
    for (Engine& g : eng) {
      if (now >= walk_ready && !g.pending && !g.decoder_done) {
        g.pending = g.walker.next_wave(g.pending_row, g.pending_begin, g.pending_end);
        g.decoder_done = !g.pending;
      }
      any_pending = any_pending || g.pending;
      all_done = all_done && g.decoder_done;
    }

    // Walk: the engines' decoded waves enter the arbiter together once it is idle and the previous tile's
    // walk is over.
    if (any_pending && !arbiter_.busy() && now >= walk_free_) {
      std::uint32_t in_round = 0;
      for (std::uint32_t e = 0; e < engines; ++e) {
        Engine& g = eng[e];
        g.in_round = g.pending;
        if (!g.pending) continue;
        map_->banks(w.columns.data() + g.pending_begin, g.pending_end - g.pending_begin,
                    round_banks_.data() + std::size_t{e} * lanes);
        g.row = g.pending_row;
        g.begin = g.pending_begin;
        g.size = static_cast<std::uint32_t>(g.pending_end - g.pending_begin);
        g.pending = false;
        ++in_round;
      }
      arbiter_.begin_wave(now, round_banks_);
      std::fill(round_banks_.begin(), round_banks_.end(), buffer::kNoRead);
      round_start = now;
      if (r.rounds == 0) r.first_fetch = now;
      r.rounds += 1;
      r.waves += in_round;
      r.idle_engine_rounds += engines - in_round;
    }
    if (arbiter_.busy()) {
      // Each granted bank word lands in its engine's operand register of its lane.
      for (std::uint32_t lane : arbiter_.step(now)) {
        Engine& g = eng[lane / lanes];
        const std::uint32_t l = lane % lanes;
        const std::uint64_t j = g.begin + l;
        const std::int8_t* col = act + static_cast<std::size_t>(w.columns[j]) * tokens;
        std::copy(col, col + tokens, g.words.begin() + static_cast<std::ptrdiff_t>(l) * tokens);
        g.weights[l] = w.values[j];
        r.reads += 1;
        round_reads += 1;
      }
      if (!arbiter_.busy()) {
        for (Engine& g : eng) {
          if (!g.in_round) continue;
          InFlightWave f;
          f.e = now;
          f.row = g.row;
          f.size = g.size;
          f.words.assign(g.words.begin(), g.words.begin() + static_cast<std::ptrdiff_t>(g.size) * tokens);
          f.weights.assign(g.weights.begin(), g.weights.begin() + g.size);
          pipe.push_back(std::move(f));
          g.in_round = false;
        }
        const auto cycles = static_cast<std::uint32_t>(now - round_start + 1);
        r.round_cycles.push_back(cycles);
        r.round_reads.push_back(round_reads);
        round_reads = 0;
        r.conflict_cycles += cycles - 1;
        r.fetch_cycles += cycles;
        r.last_fetch = now;
      }
    }

    if (all_done && !arbiter_.busy() && pipe.empty()) {
      r.done = now;  // the last accumulate, or the cycle the decoders found the tile empty
      break;
    }
  }
  for (const Engine& g : eng) r.segments += g.walker.segments();
  r.macs = r.reads * tokens;
  account(r, walk_ready);
  return r;
}

}  // namespace tacsim::hp
