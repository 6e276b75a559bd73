#include "workloads/hp_mapper.h"

#include <algorithm>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/formats/csr.h"
#include "workloads/sparsity/format_sizes.h"
#include "workloads/sparsity/hp_pruner.h"
#include "workloads/sparsity/unstructured_pruner.h"

namespace tacsim::workloads {

namespace {

// Rows [r0, r0 + count) of a matrix and of its mask.
std::pair<sparsity::Int8Matrix, sparsity::Mask> slice(const sparsity::Int8Matrix& w, const sparsity::Mask& m,
                                                      int r0, int count) {
  sparsity::Int8Matrix ws(count, w.cols);
  sparsity::Mask ms(count, w.cols);
  std::copy(w.data.begin() + static_cast<std::ptrdiff_t>(r0) * w.cols,
            w.data.begin() + static_cast<std::ptrdiff_t>(r0 + count) * w.cols, ws.data.begin());
  std::copy(m.keep.begin() + static_cast<std::ptrdiff_t>(r0) * m.cols,
            m.keep.begin() + static_cast<std::ptrdiff_t>(r0 + count) * m.cols, ms.keep.begin());
  return {ws, ms};
}

// Rebases every address of a program laid out from 0 onto `base`.
void rebase(control::Program& p, std::uint64_t base) {
  for (auto* loads : {&p.act_loads, &p.weight_loads})
    for (auto& l : *loads)
      for (auto& b : l.blocks) b.address += base;
  for (auto& w : p.writebacks) w.address += base;
}

}  // namespace

MappedGemm HpMapper::map(const GemmTask& task) const {
  const GemmParams& g = task.gemm;
  const sparsity::Mask* given = task.mask;
  const std::uint64_t act_half_bytes = engine_.act_half_bytes, weight_half_bytes = engine_.weight_half_bytes,
                      out_half_bytes = engine_.out_half_bytes;
  const bool is_hp = g.sparsity.format == WeightFormat::kHp;
  const hp::HpDatapathParams& datapath = engine_.hp_datapath;
  // A tile's K activation columns of Rt tokens fill half the activation buffer at most: a long reduction
  // takes fewer tokens per tile (the datapath keeps no partial sums), spread evenly over the token blocks.
  const std::uint64_t rt_fit = std::min<std::uint64_t>({engine_.pe_array.rows, g.m, act_half_bytes / g.k});
  if (rt_fit == 0)
    throw InputError(
        fmt::format("act_buffer.capacity_kib: one token's {} activations need {} bytes per half, the buffer "
                    "has {}",
                    g.k, g.k, act_half_bytes));
  const auto token_blocks = static_cast<std::uint32_t>((g.m + rt_fit - 1) / rt_fit);
  const std::uint32_t rt = (g.m + token_blocks - 1) / token_blocks;

  // Seeded weights exactly as the dense and N:M GEMMs draw them (or the caller's), then pruned.
  sparsity::Int8Matrix w(static_cast<int>(g.n), static_cast<int>(g.k));
  if (task.w != nullptr) {
    w.data = *task.w;
  } else {
    GemmParams dense = g;
    dense.sparsity = {};
    w.data = make_operands(dense, task.seed).w;
  }
  const PruningParams& pruning = task.pruning;
  if (is_hp && pruning.hp_block_rows % datapath.row_engines != 0)
    throw InputError(
        fmt::format("hp_datapath.row_engines: {} does not divide sparsity.hp_block_rows = {}: HP "
                    "keeps the reads of the rows the engines walk together apart only within one "
                    "block row",
                    datapath.row_engines, pruning.hp_block_rows));
  const sparsity::HpParams hp =
      pruning.hp(datapath.bank.banks, datapath.bank.ports_per_bank, is_hp ? datapath.row_engines : 1);
  if (const std::string e = hp.validate(); !e.empty()) throw InputError("config: sparsity: " + e);
  sparsity::Mask mask;
  sparsity::Int8Matrix pruned;
  if (given != nullptr) {
    if (given->rows != w.rows || given->cols != w.cols)
      throw InputError(
          fmt::format("mask: {} x {}, expected {} x {}", given->rows, given->cols, w.rows, w.cols));
    for (std::size_t i = 0; i < w.data.size(); ++i)
      if (given->keep[i] && w.data[i] == 0) w.data[i] = 1;  // a kept weight is non-zero
    if (is_hp) {
      const sparsity::HpMatrix x = sparsity::to_hp(w, *given, hp);
      pruned = sparsity::to_dense(x);
      mask = sparsity::slot_mask(x);
    } else {
      mask = *given;
      pruned = sparsity::apply_mask(w, mask);
    }
  } else if (is_hp) {
    // The pruner keeps exactly k per row of a kept block: its mask needs no padding.
    mask = sparsity::prune_hp_mask(w, hp);
    pruned = sparsity::apply_mask(w, mask);
  } else {
    mask = sparsity::prune_unstructured(w, 1.0 - pruning.pruned_fraction);
    pruned = sparsity::apply_mask(w, mask);
  }
  const double achieved_sparsity = 1.0 - sparsity::density(mask);
  const std::uint64_t csr_bytes_whole = sparsity::csr_bytes(w.rows, w.cols, sparsity::count_kept(mask), {});

  const std::uint32_t unit = is_hp ? pruning.hp_block_rows : 1;
  std::uint64_t rows = std::min<std::uint64_t>(g.n, out_half_bytes / (std::uint64_t{rt} * 4));
  rows -= rows % unit;
  if (rows == 0)
    throw InputError(
        fmt::format("out_buffer.capacity_kib: {} tokens x {} weight rows of int32 need {} bytes per "
                    "half, the buffer has {}",
                    rt, unit, std::uint64_t{rt} * unit * 4, out_half_bytes));
  // The largest row block whose every encoding fits half the weight buffer.
  std::vector<std::vector<std::uint8_t>> blocks;
  for (;;) {
    blocks.clear();
    bool fits = true;
    for (std::uint32_t n0 = 0; n0 < g.n && fits; n0 += static_cast<std::uint32_t>(rows)) {
      const int count = static_cast<int>(std::min<std::uint64_t>(rows, g.n - n0));
      const auto [ws, ms] = slice(pruned, mask, static_cast<int>(n0), count);
      blocks.push_back(is_hp ? sparsity::encode_hp(sparsity::to_hp(ws, ms, hp))
                             : sparsity::encode_csr(ws, ms));
      fits = blocks.back().size() <= weight_half_bytes;
    }
    if (fits) break;
    const std::uint64_t smaller = rows / 2 - (rows / 2) % unit;
    if (smaller == 0)
      throw InputError(
          fmt::format("weight_buffer.capacity_kib: a block of {} weight rows takes {} bytes, the "
                      "buffer has {} per half",
                      rows, blocks.back().size(), weight_half_bytes));
    rows = smaller;
  }
  const auto rows_per_block = static_cast<std::uint32_t>(rows);

  // Memory, from 0 (rebased onto task.scratch at the end): A^T by token block (block b's K columns of its
  // tokens, column-major, so a group of blocks is one contiguous load), the weight blocks back to back, then
  // C.
  const std::uint64_t a_address = 0, w_address = align4k(std::uint64_t{g.k} * g.m);
  std::vector<std::uint8_t> weight_image;
  std::vector<std::uint64_t> block_offset, block_bytes;
  for (const auto& b : blocks) {
    block_offset.push_back(weight_image.size());
    block_bytes.push_back(b.size());
    weight_image.insert(weight_image.end(), b.begin(), b.end());
  }
  const std::uint64_t c_address = align4k(w_address + weight_image.size());

  // A group of token blocks stays resident (as many as fit half the activation buffer); each row block is
  // loaded once per group and serves the group's token blocks one after another.
  MappedGemm out;
  control::Program& prog = out.program;
  const std::uint32_t nblocks = static_cast<std::uint32_t>(blocks.size());
  const std::uint32_t group = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(token_blocks, act_half_bytes / (std::uint64_t{g.k} * rt)));
  std::size_t tile = 0, weight_load = 0;
  for (std::uint32_t m0 = 0, load = 0; m0 < g.m; m0 += group * rt, ++load) {
    const std::uint32_t group_tokens = std::min(group * rt, g.m - m0);
    const std::uint32_t blocks_here = (group_tokens + rt - 1) / rt;
    const std::uint32_t bytes = g.k * group_tokens;
    prog.act_loads.push_back(
        {{{a_address + std::uint64_t{m0} * g.k, 1, bytes, bytes, 0}}, nblocks * blocks_here});
    for (std::uint32_t b = 0; b < nblocks; ++b, ++weight_load) {
      const std::uint32_t n0 = b * rows_per_block, count = std::min(rows_per_block, g.n - n0);
      const auto w_bytes = static_cast<std::uint32_t>(block_bytes[b]);
      prog.weight_loads.push_back({{{w_address + block_offset[b], 1, w_bytes, w_bytes, 0}}, blocks_here});
      for (std::uint32_t t0 = 0; t0 < group_tokens; t0 += rt, ++tile) {
        const std::uint32_t tokens_here = std::min(rt, group_tokens - t0);
        hp::HpTileCommand cmd;
        cmd.act_half = static_cast<int>(load % 2);
        cmd.act_offset = g.k * t0;
        cmd.weight_half = static_cast<int>(weight_load % 2);
        cmd.out_half = static_cast<int>(tile % 2);
        cmd.tokens = tokens_here;
        cmd.rows = count;
        cmd.cols = g.k;
        cmd.weight_bytes = w_bytes;
        cmd.encoding = is_hp ? hp::WeightEncoding::kHp : hp::WeightEncoding::kCsr;
        prog.hp_tiles.push_back(cmd);
        prog.writebacks.push_back({c_address + (std::uint64_t{m0 + t0} * g.n + n0) * 4, tokens_here,
                                   count * 4, std::uint64_t{g.n} * 4, 0});
      }
    }
  }
  rebase(prog, task.scratch);
  out.c_address = task.scratch + c_address;
  out.end = out.c_address + std::uint64_t{g.m} * g.n * 4;
  if (task.a != nullptr) {
    const std::vector<std::int8_t>& a = *task.a;
    std::vector<std::uint8_t> a_t(std::size_t{g.k} * g.m);
    for (std::uint32_t m0 = 0; m0 < g.m; m0 += rt) {
      const std::uint32_t tokens = std::min(rt, g.m - m0);
      for (std::uint32_t t = 0; t < tokens; ++t)
        for (std::uint32_t c = 0; c < g.k; ++c)
          a_t[std::size_t{m0} * g.k + std::size_t{c} * tokens + t] =
              static_cast<std::uint8_t>(a[std::size_t{m0 + t} * g.k + c]);
    }
    out.images.push_back({task.scratch + a_address, std::move(a_t)});
  }
  if (task.w != nullptr) out.weights = pruned.data;
  // The walk's timing depends on where the non-zeros are: the decoder needs the real encoded weights.
  out.images.push_back({task.scratch + w_address, std::move(weight_image)});
  std::uint64_t wb = 0;
  for (auto b : block_bytes) wb += b;
  out.tiling = fmt::format(
      "GEMM {}x{}x{} {} at {:.1f} % sparsity: {} tiles of {} tokens x {} weight rows, {} token blocks "
      "resident per weight load; weights {} bytes (CSR of the same weights: {})",
      g.m, g.n, g.k, g.sparsity.text(), 100 * achieved_sparsity, prog.hp_tiles.size(), rt, rows_per_block,
      group, wb, csr_bytes_whole);
  return out;
}

}  // namespace tacsim::workloads
