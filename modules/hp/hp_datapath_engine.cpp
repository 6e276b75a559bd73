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

// The step model's decoder: visits every (row, block) of the tile in walk order, empty ones included, and
// cuts each segment into waves of at most `lanes` entries.
class SegmentWalker {
 public:
  SegmentWalker(const SparseRows& w, std::uint32_t block_cols, std::uint32_t lanes)
      : w_(w), block_cols_(block_cols), lanes_(lanes),
        blocks_per_row_((static_cast<std::uint64_t>(w.cols) + block_cols - 1) / block_cols) {}

  // The next wave as entry indices [begin, end) of row `row`; false when the tile has no more.
  bool next_wave(std::uint32_t& row, std::uint64_t& begin, std::uint64_t& end) {
    while (pos_ == seg_end_) {
      if (!enter_next_segment()) return false;
    }
    row = row_;
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
        ++row_;
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
  bool started_ = false;
  std::uint32_t row_ = 0;
  std::uint64_t block_ = 0;
  std::uint64_t pos_ = 0;
  std::uint64_t seg_end_ = 0;
  std::uint64_t segments_ = 0;
};

// A wave in the MAC pipeline: the operand registers latched at its last fetch cycle e, then its products
// (after the multipliers), its per-token lane sums (after the adder tree).
struct InFlightWave {
  Cycle e = 0;
  std::uint32_t row = 0;
  std::uint32_t size = 0;
  std::vector<std::int8_t> words;     // lane-major: words[lane * Rt + t]
  std::vector<std::int8_t> weights;   // per lane
  std::vector<std::int32_t> products;  // lane-major like words
  std::vector<std::int32_t> sums;      // per token
};

}  // namespace

std::string HpDatapathParams::validate() const {
  constexpr std::uint64_t kMaxLatency = 1u << 16;
  const std::string checks[] = {
      range_error("lanes", lanes, 1, 4096),
      range_error("decode_latency_cycles", decode_latency_cycles, 0, kMaxLatency),
      range_error("multiply_latency_cycles", multiply_latency_cycles, 1, kMaxLatency),
      range_error("adder_tree_latency_cycles", adder_tree_latency_cycles, 0, kMaxLatency),
      range_error("accumulate_latency_cycles", accumulate_latency_cycles, 1, kMaxLatency),
  };
  for (const std::string& c : checks)
    if (!c.empty()) return c;
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
  return sparse_rows(sparsity::to_dense(x), sparsity::slot_mask(x));
}

HpDatapathEngine::HpDatapathEngine(const HpDatapathParams& params)
    : p_(validated(params)), map_(buffer::make_bank_map(p_.bank)), arbiter_(p_.bank, p_.lanes) {}

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
  c_.reads += r.reads;
  c_.macs += r.macs;
  c_.fetch_cycles += r.fetch_cycles;
  c_.conflict_cycles += r.conflict_cycles;
  if (r.waves > 0) {
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
  const std::uint32_t block_cols = p_.bank.block_cols;
  const std::uint32_t n_rows = w.rows;
  Cycle t = std::max(walk_ready, walk_free_);
  for (std::uint32_t n = 0; n < n_rows; ++n) {
    const std::uint64_t row_end = w.row_begin[n + 1];
    for (std::uint64_t i = w.row_begin[n]; i < row_end;) {
      const std::uint32_t block = w.columns[i] / block_cols;
      std::uint64_t seg_end = i + 1;
      while (seg_end < row_end && w.columns[seg_end] / block_cols == block) ++seg_end;
      r.segments += 1;
      for (std::uint64_t w0 = i; w0 < seg_end; w0 += p_.lanes) {
        const std::uint64_t w1 = std::min<std::uint64_t>(seg_end, w0 + p_.lanes);
        wave_banks_.resize(w1 - w0);
        map_->banks(w.columns.data() + w0, w1 - w0, wave_banks_.data());
        const std::uint32_t cycles = arbiter_.serve_wave(t, wave_banks_);
        if (r.waves == 0) r.first_fetch = t;
        t += cycles;
        r.waves += 1;
        r.conflict_cycles += cycles - 1;
        r.wave_cycles.push_back(cycles);
      }
      // The wave split and the arrival order do not change an integer sum, so the values go in directly.
      for (std::uint64_t j = i; j < seg_end; ++j) {
        const std::int32_t v = w.values[j];
        const std::int8_t* col = act + static_cast<std::size_t>(w.columns[j]) * tokens;
        for (std::uint32_t tok = 0; tok < tokens; ++tok) {
          std::int32_t& acc = r.outputs[static_cast<std::size_t>(tok) * n_rows + n];
          acc = wrap_add(acc, v * col[tok]);
        }
      }
      i = seg_end;
    }
  }
  r.reads = w.nnz();
  r.macs = r.reads * tokens;
  if (r.waves > 0) {
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
  const std::uint32_t lanes = p_.lanes;

  SegmentWalker walker(w, p_.bank.block_cols, lanes);
  bool decoder_done = false;
  // The decoder's output register: the next wave, waiting for the arbiter.
  bool pending = false;
  std::uint32_t pending_row = 0;
  std::uint64_t pending_begin = 0, pending_end = 0;
  // The wave in service and its operand registers.
  std::uint32_t wave_row = 0;
  std::uint64_t wave_begin = 0;
  Cycle wave_start = 0;
  std::vector<std::int8_t> words(static_cast<std::size_t>(lanes) * tokens);
  std::vector<std::int8_t> weights(lanes);
  std::uint32_t wave_size = 0;
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

    // Decoder: from walk_ready on it keeps its output register filled.
    if (now >= walk_ready && !pending && !decoder_done) {
      pending = walker.next_wave(pending_row, pending_begin, pending_end);
      decoder_done = !pending;
    }

    // Walk: a decoded wave enters the arbiter once the arbiter is idle and the previous tile's walk is over.
    if (pending && !arbiter_.busy() && now >= walk_free_) {
      wave_banks_.resize(pending_end - pending_begin);
      map_->banks(w.columns.data() + pending_begin, pending_end - pending_begin, wave_banks_.data());
      arbiter_.begin_wave(now, wave_banks_);
      wave_row = pending_row;
      wave_begin = pending_begin;
      wave_size = static_cast<std::uint32_t>(pending_end - pending_begin);
      wave_start = now;
      if (r.waves == 0) r.first_fetch = now;
      r.waves += 1;
      pending = false;
    }
    if (arbiter_.busy()) {
      // Each granted bank word lands in its lane's operand register.
      for (std::uint32_t lane : arbiter_.step(now)) {
        const std::uint64_t j = wave_begin + lane;
        const std::int8_t* col = act + static_cast<std::size_t>(w.columns[j]) * tokens;
        std::copy(col, col + tokens, words.begin() + static_cast<std::ptrdiff_t>(lane) * tokens);
        weights[lane] = w.values[j];
        r.reads += 1;
      }
      if (!arbiter_.busy()) {
        InFlightWave f;
        f.e = now;
        f.row = wave_row;
        f.size = wave_size;
        f.words.assign(words.begin(), words.begin() + static_cast<std::ptrdiff_t>(wave_size) * tokens);
        f.weights.assign(weights.begin(), weights.begin() + wave_size);
        pipe.push_back(std::move(f));
        const auto cycles = static_cast<std::uint32_t>(now - wave_start + 1);
        r.wave_cycles.push_back(cycles);
        r.conflict_cycles += cycles - 1;
        r.fetch_cycles += cycles;
        r.last_fetch = now;
      }
    }

    if (decoder_done && !pending && !arbiter_.busy() && pipe.empty()) {
      r.done = now;  // the last accumulate, or the cycle the decoder found the tile empty
      break;
    }
  }
  r.segments = walker.segments();
  r.macs = r.reads * tokens;
  account(r, walk_ready);
  return r;
}

}  // namespace tacsim::hp
