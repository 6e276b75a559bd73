#include "modules/pe_array/pe_array_step_model.h"

#include <deque>
#include <stdexcept>

#include <fmt/format.h>

namespace tacsim::pe_array {

namespace {

// What travels through the grid: one step of one tile. A token is valid when tile >= 0.
struct Token {
  int tile = -1;
  std::uint32_t chunk = 0;
  std::uint64_t local_step = 0;  // step index within its chunk
  bool last = false;             // the tile's last step
};

struct PipeSlot {
  int tile = -1;
  Cycle exit = 0;  // the cycle of its accumulate stage
  std::int32_t partial = 0;
  bool first = false;
  bool last = false;
};

std::int32_t partial_product(const Params& p, const StepTile& t, const Token& tok, std::uint32_t i,
                             std::uint32_t j) {
  const Chunk& ch = t.chunks[tok.chunk].data;
  std::int32_t sum = 0;
  for (std::uint32_t l = 0; l < p.macs_per_pe; ++l) {
    const std::uint64_t q = tok.local_step * p.macs_per_pe + l;
    if (q >= ch.slots) break;  // the chunk's last step may use fewer lanes
    const std::uint64_t k = ch.index ? (q / ch.n) * ch.m + ch.index[j * ch.index_stride + q] : q;
    sum += std::int32_t{ch.act[i * ch.act_stride + k]} * std::int32_t{ch.values[j * ch.col_stride + q]};
  }
  return sum;
}

}  // namespace

std::vector<StepTileResult> run_step_model(const Params& p, const std::vector<StepTile>& tiles) {
  const std::uint32_t R = p.rows, C = p.cols;
  const bool two_sets = p.overlap_drain;
  const std::size_t sets = p.accumulator_sets();
  const std::size_t n = tiles.size();
  std::vector<StepTileResult> res(n);
  for (std::size_t t = 0; t < n; ++t)
    res[t].outputs.assign(std::size_t{tiles[t].shape.rows} * tiles[t].shape.cols, 0);

  // Edge skew: row i's activation token (and drain token) reaches PE(i,0) i cycles after issue; column j's
  // weight token reaches PE(0,j) j cycles after issue. Inside the grid each hop is one register.
  std::vector<Token> a_reg(std::size_t{R} * C), w_reg(std::size_t{R} * C);
  std::vector<int> d_reg(std::size_t{R} * C, -1);
  std::deque<Token> issued;  // issued[d] = the token issued d cycles ago (d < R + C)
  std::deque<int> drains;    // drains[d] = the tile whose drain started d cycles ago, or -1
  std::vector<std::deque<PipeSlot>> pipe(std::size_t{R} * C);
  struct DrainSlot {
    int tile = -1;
    Cycle exit = 0;
  };
  std::vector<std::deque<DrainSlot>> drain_pipe(std::size_t{R} * C);
  // Per accumulator set and PE: the sum, and the tile whose final result waits there to be drained (or -1).
  std::vector<std::vector<std::int32_t>> acc(sets, std::vector<std::int32_t>(std::size_t{R} * C, 0));
  std::vector<std::vector<int>> held(sets, std::vector<int>(std::size_t{R} * C, -1));
  struct OutReg {
    int tile = -1;
    std::int32_t value = 0;
  };
  std::vector<OutReg> out_reg(std::size_t{R} * C);

  std::size_t tile = 0, chunk = 0;
  std::uint64_t step_in_chunk = 0, step_in_tile = 0;
  std::vector<bool> ended(n, false);  // the tile's last step has issued
  std::vector<Cycle> drain_at(n, 0);  // d, once next_drain has passed the tile
  std::size_t next_drain = 0;
  std::vector<std::uint64_t> outputs_left(n);
  for (std::size_t t = 0; t < n; ++t)
    outputs_left[t] = std::uint64_t{tiles[t].shape.rows} * tiles[t].shape.cols;
  std::size_t tiles_done = 0;

  for (Cycle c = 0; tiles_done < n; ++c) {
    if (c > (Cycle{1} << 32)) throw std::logic_error("step model: no progress");
    // 1. Column ports: each PE whose output register was loaded last cycle writes it now.
    std::vector<int> port_used(C, -1);
    for (std::uint32_t i = 0; i < R; ++i)
      for (std::uint32_t j = 0; j < C; ++j) {
        OutReg& o = out_reg[i * C + j];
        if (o.tile < 0) continue;
        if (port_used[j] >= 0)
          throw std::logic_error(fmt::format("column {} port collision at cycle {}", j, c));
        port_used[j] = static_cast<int>(i);
        res[o.tile].outputs[i * tiles[o.tile].shape.cols + j] = o.value;
        if (--outputs_left[o.tile] == 0) {
          res[o.tile].done = c + 1;
          ++tiles_done;
        }
        o.tile = -1;
      }

    // 2. The controller decides whether to issue a step this cycle.
    Token tok;
    if (tile < n) {
      const StepTile& t = tiles[tile];
      const StepChunk& ch = t.chunks[chunk];
      bool go = ch.ready <= c;
      if (go && step_in_tile == 0) {
        if (!two_sets) {
          // One set: the output half is claimed before the first step, and the first step is held until the
          // tile's last step could not finish before d_prev + Rt_prev (its drain rides on its last step).
          if (c < t.out_ready) go = false;
          if (tile > 0 && c + (t.shape.steps - 1) < drain_at[tile - 1] + tiles[tile - 1].shape.rows)
            go = false;
        } else if (tile >= 2 && (next_drain <= tile - 2 || drain_at[tile - 2] >= c)) {
          // Two sets: tile T's set is free the cycle after tile T-2's drain started.
          go = false;
        }
        // A change between sparse and dense mode changes the PE pipeline's depth: drain the previous tile
        // first.
        if (tile > 0 && tiles[tile - 1].shape.sparse != t.shape.sparse &&
            (outputs_left[tile - 1] != 0 || res[tile - 1].done > c))
          go = false;
      }
      if (go) {
        tok = {static_cast<int>(tile), static_cast<std::uint32_t>(chunk), step_in_chunk,
               step_in_tile + 1 == t.shape.steps};
        if (step_in_tile == 0) res[tile].first_issue = c;
        ++step_in_chunk;
        ++step_in_tile;
        if (step_in_chunk == ch.steps) {
          step_in_chunk = 0;
          ++chunk;
        }
        if (step_in_tile == t.shape.steps) {
          res[tile].last_issue = c;
          ended[tile] = true;
          ++tile;
          chunk = 0;
          step_in_tile = 0;
        }
      }
    }
    issued.push_front(tok);
    if (issued.size() > R + C) issued.pop_back();

    // 3. ... and whether the oldest ended tile starts its drain: at once with one set; with two, once its
    // output half is free and its outputs cannot meet the previous tile's on the column ports.
    int drain = -1;
    if (next_drain < n && ended[next_drain]) {
      const std::size_t t = next_drain;
      const bool ports_free = t == 0 || c >= drain_at[t - 1] + tiles[t - 1].shape.rows;
      if (!two_sets || (c >= tiles[t].out_ready && ports_free)) {
        drain_at[t] = c;
        drain = static_cast<int>(t);
        ++next_drain;
      }
    }
    drains.push_front(drain);
    if (drains.size() > R + C) drains.pop_back();

    // 4. Shift the grid registers: right along rows, down along columns (from the far end backwards).
    for (std::uint32_t i = 0; i < R; ++i)
      for (std::uint32_t j = C; j-- > 0;) {
        a_reg[i * C + j] = j == 0 ? (i < issued.size() ? issued[i] : Token{}) : a_reg[i * C + j - 1];
        d_reg[i * C + j] = j == 0 ? (i < drains.size() ? drains[i] : -1) : d_reg[i * C + j - 1];
      }
    for (std::uint32_t j = 0; j < C; ++j)
      for (std::uint32_t i = R; i-- > 0;)
        w_reg[i * C + j] = i == 0 ? (j < issued.size() ? issued[j] : Token{}) : w_reg[(i - 1) * C + j];

    // 5. Each PE: the operands now in its input registers enter stage 1; the slot leaving stage P accumulates
    // into its tile's set; then a drain token leaving stage P moves the set's result to the output register.
    for (std::uint32_t i = 0; i < R; ++i)
      for (std::uint32_t j = 0; j < C; ++j) {
        const std::size_t pe = std::size_t{i} * C + j;
        const Token& a = a_reg[pe];
        const Token& w = w_reg[pe];
        if (a.tile != w.tile || a.chunk != w.chunk || a.local_step != w.local_step)
          throw std::logic_error("step model: activation and weight tokens out of step");
        auto& pl = pipe[pe];
        if (a.tile >= 0) {
          const StepTile& t = tiles[a.tile];
          if (i < t.shape.rows && j < t.shape.cols)
            pl.push_back({a.tile, c + p.pipeline_depth(t.shape.sparse) - 1, partial_product(p, t, a, i, j),
                          a.chunk == 0 && a.local_step == 0, a.last});
        }
        while (!pl.empty() && pl.front().exit <= c) {
          const PipeSlot s = pl.front();
          pl.pop_front();
          if (s.exit != c) throw std::logic_error("step model: pipeline slots out of order");
          const std::size_t set = s.tile % sets;
          if (s.first && held[set][pe] >= 0)
            throw std::logic_error(
                fmt::format("step model: tile {} overwrites tile {}'s result in PE ({},{})", s.tile,
                            held[set][pe], i, j));
          std::int32_t& ac = acc[set][pe];
          ac = s.first ? s.partial : ac + s.partial;
          if (s.last) held[set][pe] = s.tile;
        }
        auto& dp = drain_pipe[pe];
        if (const int t = d_reg[pe]; t >= 0 && i < tiles[t].shape.rows && j < tiles[t].shape.cols)
          dp.push_back({t, c + p.pipeline_depth(tiles[t].shape.sparse) - 1});
        while (!dp.empty() && dp.front().exit <= c) {
          const DrainSlot s = dp.front();
          dp.pop_front();
          const std::size_t set = s.tile % sets;
          if (s.exit != c || held[set][pe] != s.tile)
            throw std::logic_error(fmt::format(
                "step model: tile {}'s drain reached PE ({},{}) before its result", s.tile, i, j));
          if (out_reg[pe].tile >= 0) throw std::logic_error("step model: output register overwritten");
          out_reg[pe] = {s.tile, acc[set][pe]};
          held[set][pe] = -1;
        }
      }
  }
  return res;
}

}  // namespace tacsim::pe_array
