#include "workloads/hp_gemm.h"

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
}  // namespace

std::string SparseRowsGemm::describe() const {
  std::uint64_t wb = 0;
  for (auto b : block_bytes) wb += b;
  return fmt::format(
      "GEMM {}x{}x{} {} at {:.1f} % sparsity: {} tiles of {} tokens x {} weight rows; weights {} bytes "
      "(CSR of the same weights: {})",
      gemm.m, gemm.n, gemm.k, gemm.sparsity, 100 * achieved_sparsity, program.hp_tiles.size(), tokens,
      rows_per_block, wb, csr_bytes_whole);
}

SparseRowsGemm map_sparse_rows_gemm(const GemmParams& g, const sparsity::HpParams& hp_in, std::uint64_t seed,
                                    std::uint32_t tokens, std::uint64_t act_half_bytes,
                                    std::uint64_t weight_half_bytes, std::uint64_t out_half_bytes,
                                    const sparsity::Mask* given) {
  SparseRowsGemm s;
  s.gemm = g;
  s.hp = g.sparsity == "hp";
  const std::uint32_t rt = std::min(tokens, g.m);
  s.tokens = rt;

  // Seeded operands exactly as the dense and N:M GEMMs draw them, then pruned.
  GemmParams dense = g;
  dense.sparsity = "dense";
  GemmOperands ops = make_operands(dense, seed);
  sparsity::Int8Matrix w(static_cast<int>(g.n), static_cast<int>(g.k));
  w.data = ops.w;
  sparsity::HpParams hp = hp_in;
  hp.block_rows = static_cast<int>(g.hp_block_rows);
  hp.block_cols = static_cast<int>(g.hp_block_cols);
  hp.target_sparsity = g.target_sparsity;
  hp.level1_share = g.hp_level1_share;
  if (const std::string e = hp.validate(); !e.empty()) throw InputError("config: gemm.hp: " + e);
  sparsity::Mask mask;
  sparsity::Int8Matrix pruned;
  if (given != nullptr) {
    if (given->rows != w.rows || given->cols != w.cols)
      throw InputError(fmt::format("mask: {} x {}, expected {} x {}", given->rows, given->cols, w.rows, w.cols));
    for (std::size_t i = 0; i < w.data.size(); ++i)
      if (given->keep[i] && w.data[i] == 0) w.data[i] = 1;  // a kept weight is non-zero
    if (s.hp) {
      const sparsity::HpMatrix x = sparsity::to_hp(w, *given, hp);
      pruned = sparsity::to_dense(x);
      mask = sparsity::slot_mask(x);
    } else {
      mask = *given;
      pruned = sparsity::apply_mask(w, mask);
    }
  } else if (s.hp) {
    const sparsity::HpMatrix x = sparsity::prune_hp(w, hp);
    pruned = sparsity::to_dense(x);
    mask = sparsity::slot_mask(x);
  } else {
    mask = sparsity::prune_unstructured(w, 1.0 - g.target_sparsity);
    pruned = sparsity::apply_mask(w, mask);
  }
  s.achieved_sparsity = 1.0 - sparsity::density(mask);
  s.a = ops.a;
  s.w = pruned.data;
  s.csr_bytes_whole = sparsity::csr_bytes(w.rows, w.cols, sparsity::count_kept(mask), {});

  if (std::uint64_t{g.k} * rt > act_half_bytes)
    throw InputError(fmt::format("act_buffer.capacity_kib: {} tokens x {} activations need {} bytes per half, the "
                                 "buffer has {}",
                                 rt, g.k, std::uint64_t{g.k} * rt, act_half_bytes));
  const std::uint32_t unit = s.hp ? g.hp_block_rows : 1;
  std::uint64_t rows = std::min<std::uint64_t>(g.n, out_half_bytes / (std::uint64_t{rt} * 4));
  rows -= rows % unit;
  if (rows == 0)
    throw InputError(fmt::format("out_buffer.capacity_kib: {} tokens x {} weight rows of int32 need {} bytes per "
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
      blocks.push_back(s.hp ? sparsity::encode_hp(sparsity::to_hp(ws, ms, hp)) : sparsity::encode_csr(ws, ms));
      fits = blocks.back().size() <= weight_half_bytes;
    }
    if (fits) break;
    const std::uint64_t smaller = rows / 2 - (rows / 2) % unit;
    if (smaller == 0)
      throw InputError(fmt::format("weight_buffer.capacity_kib: a block of {} weight rows takes {} bytes, the "
                                   "buffer has {} per half",
                                   rows, blocks.back().size(), weight_half_bytes));
    rows = smaller;
  }
  s.rows_per_block = static_cast<std::uint32_t>(rows);

  // Memory: A^T, the weight blocks back to back, then C.
  s.a_t.resize(std::size_t{g.k} * g.m);
  for (std::uint32_t t = 0; t < g.m; ++t)
    for (std::uint32_t c = 0; c < g.k; ++c)
      s.a_t[std::size_t{c} * g.m + t] = static_cast<std::uint8_t>(ops.a[std::size_t{t} * g.k + c]);
  s.a_address = 0;
  s.w_address = align4k(s.a_t.size());
  for (const auto& b : blocks) {
    s.block_offset.push_back(s.weight_image.size());
    s.block_bytes.push_back(b.size());
    s.weight_image.insert(s.weight_image.end(), b.begin(), b.end());
  }
  s.c_address = align4k(s.w_address + s.weight_image.size());
  s.end = s.c_address + std::uint64_t{g.m} * g.n * 4;

  // Token blocks stay resident; the row blocks stream past each.
  control::Program& prog = s.program;
  const std::uint32_t nblocks = static_cast<std::uint32_t>(blocks.size());
  std::size_t tile = 0;
  for (std::uint32_t m0 = 0, tb = 0; m0 < g.m; m0 += rt, ++tb) {
    const std::uint32_t tokens_here = std::min(rt, g.m - m0);
    prog.act_loads.push_back({{{s.a_address + m0, g.k, tokens_here, g.m, 0}}, nblocks});
    for (std::uint32_t b = 0; b < nblocks; ++b, ++tile) {
      const std::uint32_t n0 = b * s.rows_per_block, count = std::min(s.rows_per_block, g.n - n0);
      const auto bytes = static_cast<std::uint32_t>(s.block_bytes[b]);
      prog.weight_loads.push_back({{{s.w_address + s.block_offset[b], 1, bytes, bytes, 0}}, 1});
      hp::HpTileCommand cmd;
      cmd.act_half = static_cast<int>(tb % 2);
      cmd.weight_half = static_cast<int>(tile % 2);
      cmd.out_half = static_cast<int>(tile % 2);
      cmd.tokens = tokens_here;
      cmd.rows = count;
      cmd.cols = g.k;
      cmd.weight_bytes = bytes;
      cmd.encoding = s.hp ? hp::WeightEncoding::kHp : hp::WeightEncoding::kCsr;
      prog.hp_tiles.push_back(cmd);
      prog.writebacks.push_back({s.c_address + (std::uint64_t{m0} * g.n + n0) * 4, tokens_here, count * 4,
                                 std::uint64_t{g.n} * 4, 0});
    }
  }
  return s;
}

}  // namespace tacsim::workloads
