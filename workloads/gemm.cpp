#include "workloads/gemm.h"

#include <algorithm>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/rng.h"

namespace tacsim::workloads {

std::string GemmParams::validate() const {
  if (m == 0) return "m: must be at least 1, got 0";
  if (n == 0) return "n: must be at least 1, got 0";
  if (k == 0) return "k: must be at least 1, got 0";
  return "";
}

namespace {
std::uint64_t align4k(std::uint64_t a) { return (a + 4095) & ~std::uint64_t{4095}; }
std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return (a + b - 1) / b; }
}  // namespace

GemmLayout layout_gemm(const GemmParams& g, std::uint64_t base) {
  GemmLayout l;
  l.a_address = align4k(base);
  l.w_address = align4k(l.a_address + std::uint64_t{g.m} * g.k);
  l.c_address = align4k(l.w_address + std::uint64_t{g.n} * g.k);
  l.end = l.c_address + std::uint64_t{g.m} * g.n * 4;
  return l;
}

std::uint64_t GemmPlan::bytes_loaded() const {
  std::uint64_t b = 0;
  for (const auto& l : act_loads) b += l.bytes();
  for (const auto& l : weight_loads) b += l.bytes();
  return b;
}

std::string GemmPlan::describe() const {
  std::uint64_t wb = 0;
  for (const auto& t : tiles) wb += t.writeback.bytes();
  const std::uint64_t a_bytes = std::uint64_t{gemm.m} * gemm.k, w_bytes = std::uint64_t{gemm.n} * gemm.k;
  std::uint64_t la = 0, lw = 0;
  for (const auto& l : act_loads) la += l.bytes();
  for (const auto& l : weight_loads) lw += l.bytes();
  return fmt::format(
      "GEMM {}x{}x{}: {} tiles, reduction chunk {} ({} per tile), {} resident in groups of {}; loads A {:.2f}x "
      "and W {:.2f}x their size ({} + {} bytes), writes {} bytes",
      gemm.m, gemm.n, gemm.k, tiles.size(), kc, ceil_div(gemm.k, kc), n_outer ? "W" : "A", resident_blocks,
      double(la) / double(a_bytes), double(lw) / double(w_bytes), la, lw, wb);
}

GemmPlan plan_gemm(const GemmParams& g, const pe_array::Params& pe, std::uint64_t act_half_bytes,
                   std::uint64_t weight_half_bytes, std::uint64_t out_half_bytes, const GemmLayout& layout) {
  GemmPlan plan;
  plan.gemm = g;
  plan.layout = layout;
  const std::uint32_t rows = std::min(pe.rows, g.m), cols = std::min(pe.cols, g.n);
  const std::uint32_t lanes = pe.macs_per_pe;

  if (std::uint64_t{rows} * cols * 4 > out_half_bytes)
    throw InputError(fmt::format(
        "out_buffer.capacity_kib: a {}x{} tile of int32 outputs needs {} bytes per half ({} KiB in all), "
        "the buffer has {} bytes per half",
        rows, cols, rows * cols * 4, ceil_div(std::uint64_t{rows} * cols * 8, 1024), out_half_bytes));
  // A chunk narrower than one step of every lane would waste lanes at every chunk boundary: require >= lanes.
  const std::uint64_t min_kc = std::min<std::uint64_t>(lanes, g.k);
  if (std::uint64_t{rows} * min_kc > act_half_bytes)
    throw InputError(fmt::format("act_buffer.capacity_kib: a {}-row tile needs at least {} bytes per half, the "
                                 "buffer has {}",
                                 rows, rows * min_kc, act_half_bytes));
  if (std::uint64_t{cols} * min_kc > weight_half_bytes)
    throw InputError(fmt::format("weight_buffer.capacity_kib: a {}-column tile needs at least {} bytes per "
                                 "half, the buffer has {}",
                                 cols, cols * min_kc, weight_half_bytes));

  std::uint64_t kc = std::min<std::uint64_t>({g.k, act_half_bytes / rows, weight_half_bytes / cols});
  if (kc < g.k) kc -= kc % lanes;  // chunk boundaries fall on step boundaries
  plan.kc = static_cast<std::uint32_t>(kc);
  const std::uint32_t mblocks = ceil_div(g.m, pe.rows), nblocks = ceil_div(g.n, pe.cols);
  const std::uint32_t nchunks = ceil_div(g.k, kc);

  auto act_load = [&](std::uint32_t mb, std::uint32_t k0, std::uint32_t kcc, std::uint32_t uses) {
    const std::uint32_t m0 = mb * pe.rows, rt = std::min(pe.rows, g.m - m0);
    plan.act_loads.push_back({layout.a_address + std::uint64_t{m0} * g.k + k0, rt, kcc, g.k, uses});
    return static_cast<std::uint32_t>(plan.act_loads.size() - 1);
  };
  auto weight_load = [&](std::uint32_t nb, std::uint32_t k0, std::uint32_t kcc, std::uint32_t uses) {
    const std::uint32_t n0 = nb * pe.cols, ct = std::min(pe.cols, g.n - n0);
    plan.weight_loads.push_back({layout.w_address + std::uint64_t{n0} * g.k + k0, ct, kcc, g.k, uses});
    return static_cast<std::uint32_t>(plan.weight_loads.size() - 1);
  };
  auto tile = [&](std::uint32_t mb, std::uint32_t nb) {
    TilePlan t;
    t.m0 = mb * pe.rows;
    t.rows = std::min(pe.rows, g.m - t.m0);
    t.n0 = nb * pe.cols;
    t.cols = std::min(pe.cols, g.n - t.n0);
    t.writeback = {layout.c_address + (std::uint64_t{t.m0} * g.n + t.n0) * 4, t.rows, t.cols * 4,
                   std::uint64_t{g.n} * 4, 1};
    return t;
  };
  auto chunk = [&](std::uint32_t al, std::uint32_t wl, std::uint32_t k0, std::uint32_t kcc) {
    return ChunkPlan{al, wl, 0, 0, k0, kcc, ceil_div(kcc, lanes)};
  };

  if (nchunks == 1) {
    // Groups of one operand's blocks stay resident; each block of the other streams past a whole group.
    const std::uint64_t a_bytes = std::uint64_t{g.m} * g.k, w_bytes = std::uint64_t{g.n} * g.k;
    const std::uint32_t ga = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(mblocks, act_half_bytes / (std::uint64_t{rows} * g.k)));
    const std::uint32_t gw = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(nblocks, weight_half_bytes / (std::uint64_t{cols} * g.k)));
    const std::uint64_t a_resident = a_bytes + ceil_div(mblocks, ga) * w_bytes;
    const std::uint64_t w_resident = w_bytes + ceil_div(nblocks, gw) * a_bytes;
    plan.n_outer = w_resident < a_resident;
    const std::uint32_t res_blocks = plan.n_outer ? nblocks : mblocks, str_blocks = plan.n_outer ? mblocks : nblocks;
    const std::uint32_t group = plan.n_outer ? gw : ga;
    plan.resident_blocks = group;
    for (std::uint32_t r0 = 0; r0 < res_blocks; r0 += group) {
      const std::uint32_t gsize = std::min(group, res_blocks - r0);
      // One load covers the group's rows: blocks r0 .. r0 + gsize - 1 are consecutive rows in memory.
      std::uint32_t resident;
      if (plan.n_outer) {
        resident = weight_load(r0, 0, g.k, gsize * str_blocks);
        plan.weight_loads.back().rows = std::min(gsize * pe.cols, g.n - r0 * pe.cols);
      } else {
        resident = act_load(r0, 0, g.k, gsize * str_blocks);
        plan.act_loads.back().rows = std::min(gsize * pe.rows, g.m - r0 * pe.rows);
      }
      for (std::uint32_t s = 0; s < str_blocks; ++s) {
        const std::uint32_t streamed = plan.n_outer ? act_load(s, 0, g.k, gsize) : weight_load(s, 0, g.k, gsize);
        for (std::uint32_t r = r0; r < r0 + gsize; ++r) {
          const std::uint32_t mb = plan.n_outer ? s : r, nb = plan.n_outer ? r : s;
          TilePlan t = tile(mb, nb);
          ChunkPlan c = plan.n_outer ? chunk(streamed, resident, 0, g.k) : chunk(resident, streamed, 0, g.k);
          const std::uint32_t offset = (r - r0) * (plan.n_outer ? pe.cols : pe.rows) * g.k;
          (plan.n_outer ? c.weight_offset : c.act_offset) = offset;
          t.chunks.push_back(c);
          t.steps = c.steps;
          plan.tiles.push_back(std::move(t));
        }
      }
    }
  } else {
    for (std::uint32_t mb = 0; mb < mblocks; ++mb)
      for (std::uint32_t nb = 0; nb < nblocks; ++nb) {
        TilePlan t = tile(mb, nb);
        for (std::uint32_t k0 = 0; k0 < g.k; k0 += kc) {
          const std::uint32_t kcc = std::min<std::uint32_t>(kc, g.k - k0);
          t.chunks.push_back(chunk(act_load(mb, k0, kcc, 1), weight_load(nb, k0, kcc, 1), k0, kcc));
          t.steps += t.chunks.back().steps;
        }
        plan.tiles.push_back(std::move(t));
      }
  }
  return plan;
}

control::Program to_program(const GemmPlan& plan) {
  control::Program prog;
  prog.act_loads = plan.act_loads;
  prog.weight_loads = plan.weight_loads;
  for (std::size_t t = 0; t < plan.tiles.size(); ++t) {
    const TilePlan& tp = plan.tiles[t];
    pe_array::TileCommand cmd;
    cmd.shape = {tp.rows, tp.cols, tp.steps, false};
    cmd.out_half = static_cast<int>(t % 2);
    for (const ChunkPlan& c : tp.chunks) {
      pe_array::ChunkCommand cc;
      cc.act_half = static_cast<int>(c.act_load % 2);
      cc.weight_half = static_cast<int>(c.weight_load % 2);
      cc.act_offset = c.act_offset;
      cc.weight_offset = c.weight_offset;
      cc.act_stride = plan.act_loads[c.act_load].row_bytes;
      cc.weight_stride = plan.weight_loads[c.weight_load].row_bytes;
      cc.slots = c.kc;
      cc.steps = c.steps;
      cmd.chunks.push_back(cc);
    }
    prog.tiles.push_back(std::move(cmd));
    prog.writebacks.push_back(tp.writeback);
  }
  return prog;
}

GemmOperands make_operands(const GemmParams& g, std::uint64_t seed) {
  GemmOperands ops;
  Rng rng(seed);
  ops.a.resize(std::size_t{g.m} * g.k);
  ops.w.resize(std::size_t{g.n} * g.k);
  for (auto& x : ops.a) x = rng.int8();
  for (auto& x : ops.w) x = rng.int8();
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
