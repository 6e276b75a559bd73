#include "workloads/gemm.h"

#include <algorithm>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/rng.h"
#include "modules/formats/nm.h"
#include "workloads/sparsity/nm_pruner.h"

namespace tacsim::workloads {

namespace {
std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return (a + b - 1) / b; }
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

std::string GemmPlan::describe() const {
  std::uint64_t wb = 0, la = 0, lw = 0;
  for (const auto& t : tiles) wb += t.writeback.bytes();
  for (const auto& l : act_loads) la += l.bytes();
  for (const auto& l : weight_loads) lw += l.bytes();
  const std::uint64_t a_bytes = std::uint64_t{gemm.m} * gemm.k, w_bytes = gemm.n * format.row_bytes();
  const std::uint64_t chunks = ceil_div(format.groups, chunk_groups);
  std::string order = chunks == 1 ? fmt::format("{} resident in groups of {}", n_outer ? "W" : "A", resident_blocks)
                                  : std::string("reduction chunked");
  return fmt::format(
      "GEMM {}x{}x{} {}: {} tiles, reduction chunk {} ({} per tile), {}; loads A {:.2f}x and W {:.2f}x their "
      "size ({} + {} bytes), writes {} bytes",
      gemm.m, gemm.n, gemm.k, gemm.sparsity.text(), tiles.size(), chunk_groups * format.m, chunks, order,
      double(la) / double(a_bytes), double(lw) / double(w_bytes), la, lw, wb);
}

GemmPlan plan_gemm(const GemmParams& g, const pe_array::Params& pe, std::uint64_t act_half_bytes,
                   std::uint64_t weight_half_bytes, std::uint64_t out_half_bytes, const GemmLayout& layout) {
  GemmPlan plan;
  plan.gemm = g;
  plan.layout = layout;
  const RowFormat f = plan.format = row_format(g);
  const std::uint32_t rows = std::min(pe.rows, g.m), cols = std::min(pe.cols, g.n);
  const std::uint64_t row_bytes = f.row_bytes();

  const std::uint32_t eb = layout.out.element_bytes();
  if (std::uint64_t{rows} * cols * eb > out_half_bytes)
    throw InputError(fmt::format(
        "out_buffer.capacity_kib: a {}x{} tile of {} outputs needs {} bytes per half ({} KiB in all), "
        "the buffer has {} bytes per half",
        rows, cols, eb == 4 ? "int32" : "int8", rows * cols * eb, ceil_div(std::uint64_t{rows} * cols * eb * 2, 1024),
        out_half_bytes));

  // Bytes a chunk of gc groups needs in each buffer.
  auto act_bytes = [&](std::uint64_t gc) { return std::uint64_t{rows} * gc * f.m; };
  auto weight_bytes = [&](std::uint64_t gc) { return cols * (gc * f.n + f.index_bytes(gc * f.n)); };
  std::uint64_t gc = f.groups;
  if (act_bytes(gc) > act_half_bytes || weight_bytes(gc) > weight_half_bytes) {
    // Chunk boundaries fall where a step ends (gc * n a multiple of the lanes) and where a column's packed
    // indices start on a byte (gc * n * index_bits a multiple of 8): chunks are multiples of q groups.
    std::uint64_t q = 1;
    while ((q * f.n) % pe.macs_per_pe != 0 || (q * f.n * f.index_bits) % 8 != 0) ++q;
    q = std::min<std::uint64_t>(q, f.groups);
    if (act_bytes(q) > act_half_bytes)
      throw InputError(fmt::format("act_buffer.capacity_kib: a {}-row tile needs at least {} bytes per half, the "
                                   "buffer has {}",
                                   rows, act_bytes(q), act_half_bytes));
    if (weight_bytes(q) > weight_half_bytes)
      throw InputError(fmt::format("weight_buffer.capacity_kib: a {}-column tile needs at least {} bytes per "
                                   "half, the buffer has {}",
                                   cols, weight_bytes(q), weight_half_bytes));
    gc = q;
    while (gc + q <= f.groups && act_bytes(gc + q) <= act_half_bytes && weight_bytes(gc + q) <= weight_half_bytes)
      gc += q;
  }
  plan.chunk_groups = static_cast<std::uint32_t>(gc);
  const std::uint32_t mblocks = ceil_div(g.m, pe.rows), nblocks = ceil_div(g.n, pe.cols);

  auto tile = [&](std::uint32_t mb, std::uint32_t nb) {
    TilePlan t;
    t.m0 = mb * pe.rows;
    t.rows = std::min(pe.rows, g.m - t.m0);
    t.n0 = nb * pe.cols;
    t.cols = std::min(pe.cols, g.n - t.n0);
    if (layout.out.transpose)
      t.writeback = {layout.c_address + std::uint64_t{t.n0} * layout.c_stride + std::uint64_t{t.m0} * eb, t.cols,
                     t.rows * eb, layout.c_stride, 0};
    else
      t.writeback = {layout.c_address + std::uint64_t{t.m0} * layout.c_stride + std::uint64_t{t.n0} * eb, t.rows,
                     t.cols * eb, layout.c_stride, 0};
    return t;
  };
  auto add_load = [](std::vector<Load>& loads, Load l) {
    loads.push_back(std::move(l));
    return static_cast<std::uint32_t>(loads.size() - 1);
  };

  if (gc == f.groups) {
    // Groups of one operand's blocks stay resident; each block of the other streams past a whole group.
    const std::uint64_t a_bytes = std::uint64_t{g.m} * g.k, w_bytes = g.n * row_bytes;
    const std::uint32_t ga = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(mblocks, act_half_bytes / (std::uint64_t{rows} * g.k)));
    const std::uint32_t gw =
        static_cast<std::uint32_t>(std::min<std::uint64_t>(nblocks, weight_half_bytes / (cols * row_bytes)));
    const std::uint64_t a_resident = a_bytes + ceil_div(mblocks, ga) * w_bytes;
    const std::uint64_t w_resident = w_bytes + ceil_div(nblocks, gw) * a_bytes;
    plan.n_outer = w_resident < a_resident;
    const std::uint32_t res_blocks = plan.n_outer ? nblocks : mblocks;
    const std::uint32_t str_blocks = plan.n_outer ? mblocks : nblocks;
    const std::uint32_t group = plan.resident_blocks = plan.n_outer ? gw : ga;
    // Whole rows: A blocks of m rows of k bytes; W blocks of n rows of row_bytes (values then indices).
    auto a_load = [&](std::uint32_t mb, std::uint32_t blocks, std::uint32_t uses) {
      const std::uint32_t m0 = mb * pe.rows, r = std::min(blocks * pe.rows, g.m - m0);
      return add_load(plan.act_loads,
                      {{{layout.a_address + std::uint64_t{m0} * layout.a_stride, r, g.k, layout.a_stride, 0}}, uses});
    };
    auto w_load = [&](std::uint32_t nb, std::uint32_t blocks, std::uint32_t uses) {
      const std::uint32_t n0 = nb * pe.cols, r = std::min(blocks * pe.cols, g.n - n0);
      return add_load(plan.weight_loads,
                      {{{layout.w_address + n0 * layout.w_stride, r, static_cast<std::uint32_t>(row_bytes),
                         layout.w_stride, 0}},
                       uses});
    };
    for (std::uint32_t r0 = 0; r0 < res_blocks; r0 += group) {
      const std::uint32_t gsize = std::min(group, res_blocks - r0);
      const std::uint32_t resident = plan.n_outer ? w_load(r0, gsize, gsize * str_blocks)
                                                  : a_load(r0, gsize, gsize * str_blocks);
      for (std::uint32_t s = 0; s < str_blocks; ++s) {
        const std::uint32_t streamed = plan.n_outer ? a_load(s, 1, gsize) : w_load(s, 1, gsize);
        for (std::uint32_t r = r0; r < r0 + gsize; ++r) {
          const std::uint32_t mb = plan.n_outer ? s : r, nb = plan.n_outer ? r : s;
          TilePlan t = tile(mb, nb);
          ChunkPlan c;
          c.act_load = plan.n_outer ? streamed : resident;
          c.weight_load = plan.n_outer ? resident : streamed;
          c.act_offset = plan.n_outer ? 0 : (r - r0) * pe.rows * g.k;
          c.act_stride = g.k;
          c.weight_offset = plan.n_outer ? static_cast<std::uint32_t>((r - r0) * pe.cols * row_bytes) : 0;
          c.weight_stride = static_cast<std::uint32_t>(row_bytes);
          c.index_offset = c.weight_offset + static_cast<std::uint32_t>(f.slots());
          c.index_stride = static_cast<std::uint32_t>(row_bytes);
          c.g0 = 0;
          c.gc = f.groups;
          c.slots = static_cast<std::uint32_t>(f.slots());
          c.steps = ceil_div(c.slots, pe.macs_per_pe);
          t.steps = c.steps;
          t.chunks.push_back(c);
          plan.tiles.push_back(std::move(t));
        }
      }
    }
  } else {
    // The reduction is cut into chunks: each tile streams its chunks of A and W through the buffers.
    for (std::uint32_t mb = 0; mb < mblocks; ++mb)
      for (std::uint32_t nb = 0; nb < nblocks; ++nb) {
        TilePlan t = tile(mb, nb);
        for (std::uint32_t g0 = 0; g0 < f.groups; g0 += plan.chunk_groups) {
          const std::uint32_t gcc = std::min(plan.chunk_groups, f.groups - g0);
          ChunkPlan c;
          c.g0 = g0;
          c.gc = gcc;
          c.slots = gcc * f.n;
          c.steps = ceil_div(c.slots, pe.macs_per_pe);
          c.act_stride = gcc * f.m;
          c.act_load = add_load(plan.act_loads, {{{layout.a_address + std::uint64_t{t.m0} * layout.a_stride + g0 * f.m,
                                                   t.rows, c.act_stride, layout.a_stride, 0}},
                                                 1});
          const std::uint64_t w_row = layout.w_address + t.n0 * layout.w_stride;
          Load wl{{{w_row + std::uint64_t{g0} * f.n, t.cols, c.slots, layout.w_stride, 0}}, 1};
          c.weight_stride = c.slots;
          if (f.sparse()) {
            // g0 * n * index_bits is a multiple of 8 (chunks are multiples of q groups): a whole byte.
            const std::uint64_t first = std::uint64_t{g0} * f.n * f.index_bits / 8;
            const std::uint64_t last = g0 + gcc == f.groups ? f.index_bytes(f.slots()) : f.index_bytes(g0 * f.n + c.slots);
            c.index_offset = t.cols * c.slots;
            c.index_stride = static_cast<std::uint32_t>(last - first);
            wl.blocks.push_back({w_row + f.slots() + first, t.cols, c.index_stride, layout.w_stride, c.index_offset});
          }
          c.weight_load = add_load(plan.weight_loads, std::move(wl));
          t.steps += c.steps;
          t.chunks.push_back(c);
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
    cmd.shape = {tp.rows, tp.cols, tp.steps, plan.format.sparse()};
    cmd.out_half = static_cast<int>(t % 2);
    cmd.output = plan.layout.out;
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
    prog.writebacks.push_back(tp.writeback);
  }
  return prog;
}

GemmWeights prune_weights(const GemmParams& g, std::vector<std::int8_t> w) {
  GemmWeights out;
  const sparsity::NmSpec spec = g.sparsity.format == WeightFormat::kNm ? g.sparsity.nm : sparsity::NmSpec{1, 1};
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
