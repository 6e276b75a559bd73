#include "workloads/gemm.h"

#include <algorithm>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/rng.h"
#include "modules/formats/nm.h"
#include "workloads/sparsity/nm_pruner.h"

namespace tacsim::workloads {

namespace {
std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return (a + b - 1) / b;
}
std::uint32_t bits_for(std::uint32_t m) {
  std::uint32_t b = 0;
  while ((1u << b) < m) ++b;
  return b;
}
}  // namespace

RowFormat row_format(const GemmParams& g) {
  RowFormat f;
  if (g.sparsity.format == WeightFormat::kNm) {
    const sparsity::NmSpec& spec = g.sparsity.nm;
    f.n = static_cast<std::uint32_t>(spec.n);
    f.m = static_cast<std::uint32_t>(spec.m);
    f.index_bits = bits_for(f.m);
  }
  f.groups = g.k / f.m;
  return f;
}

GemmLayout layout_gemm(const GemmParams& g, std::uint64_t base) {
  GemmLayout l;
  l.a_address = align4k(base);
  l.w_address = align4k(l.a_address + std::uint64_t{g.m} * g.k);
  l.c_address = align4k(l.w_address + g.n * row_format(g).row_bytes());
  l.end = l.c_address + std::uint64_t{g.m} * g.n * 4;
  l.a_stride = g.k;
  l.w_stride = row_format(g).row_bytes();
  l.c_stride = std::uint64_t{g.n} * 4;
  return l;
}

std::uint64_t GemmPlan::bytes_loaded() const {
  std::uint64_t b = 0;
  for (const auto& l : act_loads) b += l.bytes();
  for (const auto& l : weight_loads) b += l.bytes();
  return b;
}

std::uint64_t GemmPlan::bytes_written() const {
  std::uint64_t b = 0;
  for (const auto& t : tiles) b += t.writes_back ? t.writeback.bytes() : 0;
  return b;
}

std::string Tiling::describe() const {
  const char* r = w_resident ? "W" : "A";
  std::string s;
  switch (scheme) {
    case Scheme::kWhole:
      s = fmt::format("{} resident in groups of {}", r, resident_blocks);
      break;
    case Scheme::kSplit:
      s = fmt::format("{} resident in groups of {}, its two chunks in both halves", r, resident_blocks);
      break;
    case Scheme::kChunked:
      s = psum_blocks == 0
              ? std::string("reduction chunked")
              : fmt::format("{} chunks resident in groups of {}, partial sums of {} x {} tiles on chip", r,
                            resident_blocks, resident_blocks, psum_blocks);
  }
  if (psum_blocks == 0 && out_tiles > 1) s += fmt::format(", {} tiles per output half", out_tiles);
  return s;
}

std::string GemmPlan::describe() const {
  const std::uint64_t la = [&] {
    std::uint64_t b = 0;
    for (const auto& l : act_loads) b += l.bytes();
    return b;
  }();
  const std::uint64_t lw = bytes_loaded() - la;
  const std::uint64_t a_bytes = std::uint64_t{gemm.m} * gemm.k, w_bytes = gemm.n * format.row_bytes();
  std::uint64_t out_tiles = 0;
  for (const auto& t : tiles) out_tiles += t.writes_back ? 1 : 0;
  const std::uint32_t chunk = tiling.scheme == Tiling::Scheme::kWhole ? format.groups : tiling.chunk_groups;
  const std::string passes = out_tiles == tiles.size() ? "" : fmt::format(" ({} passes)", tiles.size());
  return fmt::format(
      "GEMM {}x{}x{} {}: {} tiles{}, reduction chunk {} ({} per tile), {}; loads A {:.2f}x and W {:.2f}x "
      "their "
      "size ({} + {} bytes), writes {} bytes",
      gemm.m, gemm.n, gemm.k, gemm.sparsity.text(), out_tiles, passes, chunk * format.m,
      ceil_div(format.groups, chunk), tiling.describe(), double(la) / double(a_bytes),
      double(lw) / double(w_bytes), la, lw, bytes_written());
}

namespace {

// What planning a GEMM needs to know, worked out once.
struct Geometry {
  GemmParams g;
  RowFormat f;
  pe_array::Params pe;
  BufferHalves h;
  GemmLayout layout;
  std::uint32_t rows = 0, cols = 0;  // the largest tile
  std::uint32_t mblocks = 0, nblocks = 0;
  std::uint32_t q = 1;   // chunks are multiples of q groups
  std::uint32_t eb = 4;  // output bytes per element

  Geometry(const GemmParams& gp, const pe_array::Params& p, const BufferHalves& halves, const GemmLayout& l)
      : g(gp), f(row_format(gp)), pe(p), h(halves), layout(l) {
    rows = std::min(pe.rows, g.m);
    cols = std::min(pe.cols, g.n);
    mblocks = static_cast<std::uint32_t>(ceil_div(g.m, pe.rows));
    nblocks = static_cast<std::uint32_t>(ceil_div(g.n, pe.cols));
    eb = layout.out.element_bytes();
    // Chunk boundaries fall where a step ends (gc * n a multiple of the lanes) and where a column's packed
    // indices start on a byte (gc * n * index_bits a multiple of 8).
    while ((q * f.n) % pe.macs_per_pe != 0 || (q * f.n * f.index_bits) % 8 != 0) ++q;
    q = std::min(q, f.groups);
  }
  // Bytes `blocks` blocks of A (of W) hold for a chunk of gc groups.
  std::uint64_t a_bytes(std::uint64_t blocks, std::uint64_t gc) const {
    return std::min<std::uint64_t>(blocks * pe.rows, g.m) * gc * f.m;
  }
  std::uint64_t w_bytes(std::uint64_t blocks, std::uint64_t gc) const {
    return std::min<std::uint64_t>(blocks * pe.cols, g.n) * (gc * f.n + f.index_bytes(gc * f.n));
  }
  std::uint64_t r_bytes(bool w_resident, std::uint64_t blocks, std::uint64_t gc) const {
    return w_resident ? w_bytes(blocks, gc) : a_bytes(blocks, gc);
  }
  std::uint64_t s_bytes(bool w_resident, std::uint64_t blocks, std::uint64_t gc) const {
    return w_resident ? a_bytes(blocks, gc) : w_bytes(blocks, gc);
  }
  std::uint64_t r_half(bool w_resident) const { return w_resident ? h.weight : h.act; }
  std::uint64_t s_half(bool w_resident) const { return w_resident ? h.act : h.weight; }
  std::uint32_t r_blocks(bool w_resident) const { return w_resident ? nblocks : mblocks; }
  std::uint32_t s_blocks(bool w_resident) const { return w_resident ? mblocks : nblocks; }
  bool whole_fits() const { return a_bytes(1, f.groups) <= h.act && w_bytes(1, f.groups) <= h.weight; }
  // The first of kSplit's two chunks: half the groups, rounded up to a multiple of q.
  std::uint32_t split_groups() const {
    return static_cast<std::uint32_t>(ceil_div(ceil_div(f.groups, 2), q) * q);
  }
  // The largest chunk (a multiple of q, less than the whole) with which `rb` R blocks and one S block fit.
  std::uint32_t largest_chunk(bool w_resident, std::uint32_t rb) const {
    std::uint64_t gc = 0;
    while (gc + q < f.groups && r_bytes(w_resident, rb, gc + q) <= r_half(w_resident) &&
           s_bytes(w_resident, 1, gc + q) <= s_half(w_resident))
      gc += q;
    return static_cast<std::uint32_t>(gc);
  }
  std::uint64_t slot_bytes(bool partial_sums) const {
    return std::uint64_t{rows} * cols * (partial_sums ? 4 : eb);
  }
};

// InputError naming the buffer when no tiling fits it.
void check_tileable(const Geometry& G) {
  const std::uint64_t out = std::uint64_t{G.rows} * G.cols * G.eb;
  if (out > G.h.out)
    throw InputError(fmt::format(
        "out_buffer.capacity_kib: a {}x{} tile of {} outputs needs {} bytes per half ({} KiB in all), "
        "the buffer has {} bytes per half",
        G.rows, G.cols, G.eb == 4 ? "int32" : "int8", out, ceil_div(out * 2, 1024), G.h.out));
  if (G.whole_fits()) return;
  if (G.a_bytes(1, G.q) > G.h.act)
    throw InputError(
        fmt::format("act_buffer.capacity_kib: a {}-row tile needs at least {} bytes per half, the "
                    "buffer has {}",
                    G.rows, G.a_bytes(1, G.q), G.h.act));
  if (G.w_bytes(1, G.q) > G.h.weight)
    throw InputError(
        fmt::format("weight_buffer.capacity_kib: a {}-column tile needs at least {} bytes per "
                    "half, the buffer has {}",
                    G.cols, G.w_bytes(1, G.q), G.h.weight));
}

bool fits(const Geometry& G, const Tiling& t) {
  const bool wr = t.w_resident;
  const std::uint32_t gr = t.resident_blocks, groups = G.f.groups;
  if (gr == 0 || gr > G.r_blocks(wr) || t.out_tiles == 0) return false;
  const bool psums = t.scheme == Tiling::Scheme::kChunked && t.psum_blocks > 0;
  if (psums) {
    if (!G.pe.partial_sums || t.psum_blocks > G.s_blocks(wr) ||
        std::uint64_t{gr} * t.psum_blocks * G.slot_bytes(true) > G.h.out || t.out_tiles != 1)
      return false;
  } else if (t.out_tiles * G.slot_bytes(false) > G.h.out) {
    return false;
  }
  switch (t.scheme) {
    case Tiling::Scheme::kWhole:
      return G.r_bytes(wr, gr, groups) <= G.r_half(wr) && G.s_bytes(wr, 1, groups) <= G.s_half(wr);
    case Tiling::Scheme::kSplit: {
      const std::uint32_t c0 = G.split_groups();
      return G.pe.partial_sums && c0 < groups && G.r_bytes(wr, gr, c0) <= G.r_half(wr) &&
             G.s_bytes(wr, 1, c0) <= G.s_half(wr);
    }
    case Tiling::Scheme::kChunked:
      return t.chunk_groups > 0 && t.chunk_groups < groups && t.chunk_groups % G.q == 0 &&
             (psums || gr == 1) && G.r_bytes(wr, gr, t.chunk_groups) <= G.r_half(wr) &&
             G.s_bytes(wr, 1, t.chunk_groups) <= G.s_half(wr);
  }
  return false;
}

Tiling greedy(const Geometry& G) {
  Tiling t;
  if (!G.whole_fits()) {
    t.scheme = Tiling::Scheme::kChunked;
    t.chunk_groups = G.largest_chunk(false, 1);
    return t;
  }
  // The resident operand that moves fewer bytes, in the largest group that fits half its buffer.
  const GemmParams& g = G.g;
  const std::uint64_t a_bytes = std::uint64_t{g.m} * g.k, w_bytes = g.n * G.f.row_bytes();
  const std::uint32_t ga =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(G.mblocks, G.h.act / (std::uint64_t{G.rows} * g.k)));
  const std::uint32_t gw =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(G.nblocks, G.h.weight / (G.cols * G.f.row_bytes())));
  const std::uint64_t a_resident = a_bytes + ceil_div(G.mblocks, ga) * w_bytes;
  const std::uint64_t w_resident = w_bytes + ceil_div(G.nblocks, gw) * a_bytes;
  t.w_resident = w_resident < a_resident;
  t.resident_blocks = t.w_resident ? gw : ga;
  return t;
}

bool same(const Tiling& a, const Tiling& b) {
  return a.scheme == b.scheme && a.w_resident == b.w_resident && a.resident_blocks == b.resident_blocks &&
         a.chunk_groups == b.chunk_groups && a.psum_blocks == b.psum_blocks && a.out_tiles == b.out_tiles;
}

// Group sizes worth trying up to `max`: all up to 4, then about 1.5x apart, and `max` itself.
std::vector<std::uint32_t> group_sizes(std::uint32_t max) {
  std::vector<std::uint32_t> v;
  for (std::uint32_t x = 1; x <= max; x = x < 4 ? x + 1 : x + x / 2) v.push_back(x);
  if (v.empty() || v.back() != max) v.push_back(max);
  return v;
}

// Where a load of operand blocks holds them: its index, first block and groups.
struct Held {
  std::uint32_t load = 0, block0 = 0, g0 = 0, gc = 0;
};

class PlanBuilder {
 public:
  PlanBuilder(const Geometry& G, GemmPlan& plan) : G_(G), plan_(plan) {}

  Held load_a(std::uint32_t mb0, std::uint32_t blocks, std::uint32_t g0, std::uint32_t gc,
              std::uint32_t uses) {
    const GemmLayout& l = G_.layout;
    const std::uint32_t m0 = mb0 * G_.pe.rows, r = std::min(blocks * G_.pe.rows, G_.g.m - m0);
    plan_.act_loads.push_back({{{l.a_address + std::uint64_t{m0} * l.a_stride + std::uint64_t{g0} * G_.f.m, r,
                                 gc * G_.f.m, l.a_stride, 0}},
                               uses});
    return {static_cast<std::uint32_t>(plan_.act_loads.size() - 1), mb0, g0, gc};
  }

  Held load_w(std::uint32_t nb0, std::uint32_t blocks, std::uint32_t g0, std::uint32_t gc,
              std::uint32_t uses) {
    const GemmLayout& l = G_.layout;
    const RowFormat& f = G_.f;
    const std::uint32_t n0 = nb0 * G_.pe.cols, c = std::min(blocks * G_.pe.cols, G_.g.n - n0);
    const std::uint64_t row = l.w_address + std::uint64_t{n0} * l.w_stride;
    Load load;
    load.uses = uses;
    if (gc == f.groups) {
      // Whole rows: values then indices, as stored.
      load.blocks.push_back({row, c, static_cast<std::uint32_t>(f.row_bytes()), l.w_stride, 0});
    } else {
      const std::uint32_t slots = gc * f.n;
      load.blocks.push_back({row + std::uint64_t{g0} * f.n, c, slots, l.w_stride, 0});
      if (f.sparse())
        load.blocks.push_back({row + f.slots() + index_first(g0), c, index_bytes(g0, gc), l.w_stride,
                               std::uint64_t{c} * slots});
    }
    plan_.weight_loads.push_back(std::move(load));
    return {static_cast<std::uint32_t>(plan_.weight_loads.size() - 1), nb0, g0, gc};
  }

  // Tile (mb, nb)'s chunk [g0, g0 + gc) of A and W from the loads that hold them.
  ChunkPlan chunk(std::uint32_t mb, std::uint32_t nb, const Held& a, const Held& w, std::uint32_t g0,
                  std::uint32_t gc) const {
    const RowFormat& f = G_.f;
    const std::uint32_t pr = G_.pe.rows, pc = G_.pe.cols;
    ChunkPlan c;
    c.act_load = a.load;
    c.weight_load = w.load;
    c.act_stride = a.gc * f.m;
    c.act_offset = (mb - a.block0) * pr * c.act_stride + (g0 - a.g0) * f.m;
    if (w.gc == f.groups) {
      const std::uint32_t rb = static_cast<std::uint32_t>(f.row_bytes()), base = (nb - w.block0) * pc * rb;
      c.weight_offset = base + g0 * f.n;
      c.weight_stride = rb;
      c.index_offset = base + static_cast<std::uint32_t>(f.slots()) + index_first(g0);
      c.index_stride = rb;
    } else {
      const std::uint32_t load_cols = plan_.weight_loads[w.load].blocks[0].rows, slots = w.gc * f.n;
      c.weight_offset = (nb - w.block0) * pc * slots;
      c.weight_stride = slots;
      c.index_stride = index_bytes(w.g0, w.gc);
      c.index_offset = load_cols * slots + (nb - w.block0) * pc * c.index_stride;
    }
    c.g0 = g0;
    c.gc = gc;
    c.slots = gc * f.n;
    c.steps = ceil_div(c.slots, G_.pe.macs_per_pe);
    return c;
  }

  TilePlan tile(std::uint32_t mb, std::uint32_t nb) const {
    const GemmLayout& l = G_.layout;
    TilePlan t;
    t.m0 = mb * G_.pe.rows;
    t.rows = std::min(G_.pe.rows, G_.g.m - t.m0);
    t.n0 = nb * G_.pe.cols;
    t.cols = std::min(G_.pe.cols, G_.g.n - t.n0);
    const std::uint32_t eb = G_.eb;
    if (l.out.transpose)
      t.writeback = {l.c_address + std::uint64_t{t.n0} * l.c_stride + std::uint64_t{t.m0} * eb, t.cols,
                     t.rows * eb, l.c_stride, 0};
    else
      t.writeback = {l.c_address + std::uint64_t{t.m0} * l.c_stride + std::uint64_t{t.n0} * eb, t.rows,
                     t.cols * eb, l.c_stride, 0};
    return t;
  }

  void add(TilePlan t, std::uint32_t fill) {
    for (const ChunkPlan& c : t.chunks) t.steps += c.steps;
    t.fill = fill;
    plan_.tiles.push_back(std::move(t));
  }

 private:
  // Packed index bytes: chunks start on a byte (multiples of q groups); the last one ends the row's indices.
  std::uint32_t index_first(std::uint32_t g0) const {
    return static_cast<std::uint32_t>(std::uint64_t{g0} * G_.f.n * G_.f.index_bits / 8);
  }
  std::uint32_t index_bytes(std::uint32_t g0, std::uint32_t gc) const {
    const RowFormat& f = G_.f;
    const std::uint64_t last =
        g0 + gc == f.groups ? f.index_bytes(f.slots()) : f.index_bytes(std::uint64_t{g0 + gc} * f.n);
    return static_cast<std::uint32_t>(last - index_first(g0));
  }

  const Geometry& G_;
  GemmPlan& plan_;
};

// Slots, claims and write-backs of the plan's fills of the output buffer, from each pass's fill.
void place_outputs(const Geometry& G, GemmPlan& plan) {
  const bool psums = plan.tiling.scheme == Tiling::Scheme::kChunked && plan.tiling.psum_blocks > 0;
  const std::uint64_t slot = G.slot_bytes(psums);
  std::vector<TilePlan>& tiles = plan.tiles;
  for (std::size_t i = 0; i < tiles.size();) {
    std::size_t end = i;
    while (end < tiles.size() && tiles[end].fill == tiles[i].fill) ++end;
    // Each output tile of the fill gets a slot, in order of its first pass.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> seen;  // (m0, n0) by slot
    std::vector<std::size_t> first_pass;
    std::uint32_t writes = 0;
    std::uint64_t fill_bytes = 0;  // what the fill's tiles hold, int32 while partial sums live there
    for (std::size_t p = i; p < end; ++p) {
      TilePlan& t = tiles[p];
      const auto key = std::make_pair(t.m0, t.n0);
      auto it = std::find(seen.begin(), seen.end(), key);
      const bool first = it == seen.end();
      if (first) {
        seen.push_back(key);
        it = seen.end() - 1;
        fill_bytes += std::uint64_t{t.rows} * t.cols * (psums ? 4 : G.eb);
      }
      t.slot.offset = static_cast<std::uint32_t>(std::uint64_t(it - seen.begin()) * slot);
      t.slot.accumulate = !first;
      t.slot.claim = p == i;
      t.slot.complete = p + 1 == end;
      t.writeback.local_offset = t.slot.offset;
    }
    for (std::size_t p = i; p < end; ++p) {
      // The last pass over a tile writes it back; the earlier ones leave partial sums.
      TilePlan& t = tiles[p];
      bool later = false;
      for (std::size_t r = p + 1; r < end && !later; ++r) later = tiles[r].m0 == t.m0 && tiles[r].n0 == t.n0;
      t.writes_back = !later;
      t.slot.partial = later;
      writes += t.writes_back ? 1 : 0;
    }
    tiles[i].slot.fill_bytes = fill_bytes;
    plan.writeback_groups.push_back(writes);
    i = end;
  }
}

GemmPlan build(const Geometry& G, Tiling t) {
  using Scheme = Tiling::Scheme;
  const std::uint32_t groups = G.f.groups;
  if (t.scheme == Scheme::kWhole) t.chunk_groups = groups;
  if (t.scheme == Scheme::kSplit) t.chunk_groups = G.split_groups();
  if (!fits(G, t)) throw std::invalid_argument("plan_gemm: the tiling " + t.describe() + " does not fit");
  GemmPlan plan;
  plan.gemm = G.g;
  plan.layout = G.layout;
  plan.format = G.f;
  plan.tiling = t;
  PlanBuilder b(G, plan);
  const bool wr = t.w_resident;
  const std::uint32_t nr = G.r_blocks(wr), ns = G.s_blocks(wr), gr = t.resident_blocks;
  // Loads of R and S blocks, and chunks and tiles, by (resident, streamed) block.
  auto load_r = [&](std::uint32_t b0, std::uint32_t n, std::uint32_t g0, std::uint32_t gc,
                    std::uint32_t uses) {
    return wr ? b.load_w(b0, n, g0, gc, uses) : b.load_a(b0, n, g0, gc, uses);
  };
  auto load_s = [&](std::uint32_t b0, std::uint32_t g0, std::uint32_t gc, std::uint32_t uses) {
    return wr ? b.load_a(b0, 1, g0, gc, uses) : b.load_w(b0, 1, g0, gc, uses);
  };
  auto chunk = [&](std::uint32_t r, std::uint32_t s, const Held& hr, const Held& hs, std::uint32_t g0,
                   std::uint32_t gc) {
    return wr ? b.chunk(s, r, hs, hr, g0, gc) : b.chunk(r, s, hr, hs, g0, gc);
  };
  auto tile = [&](std::uint32_t r, std::uint32_t s) { return wr ? b.tile(s, r) : b.tile(r, s); };
  std::uint32_t tiles = 0;  // output tiles so far, for fills of out_tiles
  auto next_fill = [&] { return tiles++ / t.out_tiles; };

  switch (t.scheme) {
    case Scheme::kWhole:
      for (std::uint32_t r0 = 0; r0 < nr; r0 += gr) {
        const std::uint32_t n = std::min(gr, nr - r0);
        const Held hr = load_r(r0, n, 0, groups, n * ns);
        for (std::uint32_t s = 0; s < ns; ++s) {
          const Held hs = load_s(s, 0, groups, n);
          for (std::uint32_t r = r0; r < r0 + n; ++r) {
            TilePlan tp = tile(r, s);
            tp.chunks.push_back(chunk(r, s, hr, hs, 0, groups));
            b.add(std::move(tp), next_fill());
          }
        }
      }
      break;
    case Scheme::kSplit: {
      const std::uint32_t c0 = t.chunk_groups, c1 = groups - c0;
      const bool s_whole = G.s_bytes(wr, 1, groups) <= G.s_half(wr);
      for (std::uint32_t r0 = 0; r0 < nr; r0 += gr) {
        const std::uint32_t n = std::min(gr, nr - r0);
        const Held hr0 = load_r(r0, n, 0, c0, n * ns), hr1 = load_r(r0, n, c0, c1, n * ns);
        for (std::uint32_t s = 0; s < ns; ++s) {
          Held hs0, hs1;
          if (s_whole) {
            hs0 = hs1 = load_s(s, 0, groups, 2 * n);
          } else {
            hs0 = load_s(s, 0, c0, n);
            hs1 = load_s(s, c0, c1, n);
          }
          for (std::uint32_t r = r0; r < r0 + n; ++r) {
            TilePlan tp = tile(r, s);
            tp.chunks.push_back(chunk(r, s, hr0, hs0, 0, c0));
            tp.chunks.push_back(chunk(r, s, hr1, hs1, c0, c1));
            b.add(std::move(tp), next_fill());
          }
        }
      }
      break;
    }
    case Scheme::kChunked:
      if (t.psum_blocks == 0) {
        // Each tile streams its own chunks.
        for (std::uint32_t r = 0; r < nr; ++r)
          for (std::uint32_t s = 0; s < ns; ++s) {
            TilePlan tp = tile(r, s);
            for (std::uint32_t g0 = 0; g0 < groups; g0 += t.chunk_groups) {
              const std::uint32_t gc = std::min(t.chunk_groups, groups - g0);
              tp.chunks.push_back(chunk(r, s, load_r(r, 1, g0, gc, 1), load_s(s, g0, gc, 1), g0, gc));
            }
            b.add(std::move(tp), next_fill());
          }
      } else {
        // Partial sums: a pass per chunk over each tile of the group, which keeps one output half.
        std::uint32_t fill = 0;
        for (std::uint32_t r0 = 0; r0 < nr; r0 += gr)
          for (std::uint32_t s0 = 0; s0 < ns; s0 += t.psum_blocks, ++fill) {
            const std::uint32_t n = std::min(gr, nr - r0), m = std::min(t.psum_blocks, ns - s0);
            for (std::uint32_t g0 = 0; g0 < groups; g0 += t.chunk_groups) {
              const std::uint32_t gc = std::min(t.chunk_groups, groups - g0);
              const Held hr = load_r(r0, n, g0, gc, n * m);
              for (std::uint32_t s = s0; s < s0 + m; ++s) {
                const Held hs = load_s(s, g0, gc, n);
                for (std::uint32_t r = r0; r < r0 + n; ++r) {
                  TilePlan tp = tile(r, s);
                  tp.chunks.push_back(chunk(r, s, hr, hs, g0, gc));
                  b.add(std::move(tp), fill);
                }
              }
            }
          }
      }
  }
  place_outputs(G, plan);
  return plan;
}

}  // namespace

GemmPlan plan_gemm(const GemmParams& g, const pe_array::Params& pe, const BufferHalves& halves,
                   const GemmLayout& layout, const Tiling& tiling) {
  const Geometry G(g, pe, halves, layout);
  check_tileable(G);
  return build(G, tiling);
}

Tiling greedy_tiling(const GemmParams& g, const pe_array::Params& pe, const BufferHalves& halves,
                     const GemmLayout& layout) {
  const Geometry G(g, pe, halves, layout);
  check_tileable(G);
  return greedy(G);
}

GemmPlan plan_gemm(const GemmParams& g, const pe_array::Params& pe, std::uint64_t act_half_bytes,
                   std::uint64_t weight_half_bytes, std::uint64_t out_half_bytes, const GemmLayout& layout) {
  const BufferHalves h{act_half_bytes, weight_half_bytes, out_half_bytes};
  return plan_gemm(g, pe, h, layout, greedy_tiling(g, pe, h, layout));
}

std::vector<Tiling> enumerate_tilings(const GemmParams& g, const pe_array::Params& pe,
                                      const BufferHalves& halves, const GemmLayout& layout) {
  using Scheme = Tiling::Scheme;
  const Geometry G(g, pe, halves, layout);
  check_tileable(G);
  std::vector<Tiling> out{greedy(G)};
  auto add = [&](const Tiling& t) {
    Tiling c = t;
    if (c.scheme == Scheme::kWhole) c.chunk_groups = G.f.groups;
    if (c.scheme == Scheme::kSplit) c.chunk_groups = G.split_groups();
    if (fits(G, c) && std::none_of(out.begin(), out.end(), [&](const Tiling& o) { return same(o, c); }))
      out.push_back(c);
  };
  std::vector<std::uint32_t> fills;
  for (std::uint32_t o = 1; o <= 8 && o * G.slot_bytes(false) <= G.h.out; o *= 2) fills.push_back(o);
  for (const bool wr : {false, true})
    for (const std::uint32_t gr : group_sizes(G.r_blocks(wr)))
      for (const std::uint32_t o : fills) {
        add({Scheme::kWhole, wr, gr, 0, 0, o});
        add({Scheme::kSplit, wr, gr, 0, 0, o});
        if (gr == 1) add({Scheme::kChunked, wr, 1, G.largest_chunk(wr, 1), 0, o});
      }
  if (G.pe.partial_sums && !G.whole_fits())
    for (const bool wr : {false, true})
      for (const std::uint32_t gr : group_sizes(G.r_blocks(wr)))
        for (const std::uint32_t gs : group_sizes(G.s_blocks(wr)))
          if (gr * gs >= 2) add({Scheme::kChunked, wr, gr, G.largest_chunk(wr, gr), gs, 1});
  return out;
}

control::Program to_program(const GemmPlan& plan) {
  control::Program prog;
  prog.act_loads = plan.act_loads;
  prog.weight_loads = plan.weight_loads;
  for (const TilePlan& tp : plan.tiles) {
    pe_array::TileCommand cmd;
    cmd.shape = {tp.rows, tp.cols, tp.steps, plan.format.sparse()};
    cmd.out_half = static_cast<int>(tp.fill % 2);
    cmd.output = plan.layout.out;
    cmd.slot = tp.slot;
    for (const ChunkPlan& c : tp.chunks) {
      pe_array::ChunkCommand cc;
      cc.act_half = static_cast<int>(c.act_load % 2);
      cc.weight_half = static_cast<int>(c.weight_load % 2);
      cc.act_offset = c.act_offset;
      cc.act_stride = c.act_stride;
      cc.weight_offset = c.weight_offset;
      cc.weight_stride = c.weight_stride;
      cc.slots = c.slots;
      if (plan.format.sparse()) {
        cc.n = plan.format.n;
        cc.m = plan.format.m;
        cc.index_bits = plan.format.index_bits;
        cc.index_offset = c.index_offset;
        cc.index_stride = c.index_stride;
      }
      cmd.chunks.push_back(cc);
    }
    prog.tiles.push_back(std::move(cmd));
    if (tp.writes_back) prog.writebacks.push_back(tp.writeback);
  }
  prog.writeback_groups = plan.writeback_groups;
  return prog;
}

GemmWeights prune_weights(const GemmParams& g, std::vector<std::int8_t> w) {
  GemmWeights out;
  const sparsity::NmSpec spec =
      g.sparsity.format == WeightFormat::kNm ? g.sparsity.nm : sparsity::NmSpec{1, 1};
  if (spec.is_dense()) {
    out.image.assign(w.begin(), w.end());
    out.w = std::move(w);
    return out;
  }
  sparsity::Int8Matrix m(static_cast<int>(g.n), static_cast<int>(g.k));
  m.data = std::move(w);
  const sparsity::NmMatrix nm = sparsity::prune_nm(m, spec);
  out.w = sparsity::to_dense(nm).data;
  // The stored rows, without the stream's header: row r at r * row_bytes, as layout_gemm expects.
  const auto stream = sparsity::encode_nm(nm, sparsity::NmEncoding::kIndex);
  out.image.assign(stream.begin() + sparsity::kNmHeaderBytes, stream.end());
  return out;
}

GemmOperands make_operands(const GemmParams& g, std::uint64_t seed) {
  GemmOperands ops;
  Rng rng(seed);
  ops.a.resize(std::size_t{g.m} * g.k);
  std::vector<std::int8_t> w(std::size_t{g.n} * g.k);
  for (auto& x : ops.a) x = rng.int8();
  for (auto& x : w) x = rng.int8();
  GemmWeights pw = prune_weights(g, std::move(w));
  ops.w = std::move(pw.w);
  ops.weight_image = std::move(pw.image);
  return ops;
}

std::vector<std::int32_t> reference_gemm(const GemmParams& g, const GemmOperands& ops) {
  std::vector<std::int32_t> c(std::size_t{g.m} * g.n);
  for (std::uint32_t i = 0; i < g.m; ++i)
    for (std::uint32_t j = 0; j < g.n; ++j) {
      std::int32_t s = 0;
      for (std::uint32_t q = 0; q < g.k; ++q)
        s += std::int32_t{ops.a[std::size_t{i} * g.k + q]} * std::int32_t{ops.w[std::size_t{j} * g.k + q]};
      c[std::size_t{i} * g.n + j] = s;
    }
  return c;
}

}  // namespace tacsim::workloads
