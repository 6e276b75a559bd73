#include "workloads/sparsity/hp_pruner.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace tacsim::sparsity {
namespace {

// Indices by magnitude, largest first, ties to the lower index. int8 magnitudes are the integers 0..128, so a
// counting sort does it in one pass; other values sort by comparison.
void rank_by_magnitude(const std::vector<float>& mag, std::vector<std::size_t>& rank) {
  const bool small_integers = std::all_of(mag.begin(), mag.end(), [](float m) {
    return m >= 0 && m <= 128 && m == static_cast<float>(static_cast<int>(m));
  });
  if (!small_integers) {
    std::sort(rank.begin(), rank.end(),
              [&](std::size_t a, std::size_t b) { return mag[a] != mag[b] ? mag[a] > mag[b] : a < b; });
    return;
  }
  std::array<std::size_t, 130> start{};  // start[128 - m + 1]: entries of larger magnitude than m
  for (float m : mag) ++start[static_cast<std::size_t>(128 - static_cast<int>(m)) + 1];
  for (std::size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
  for (std::size_t i = 0; i < mag.size(); ++i)
    rank[start[static_cast<std::size_t>(128 - static_cast<int>(mag[i]))]++] = i;
}

// Level 2 inside one block, one group of rows processed together at a time: every (row, column) of the
// group by |w| (ties: lower row, then lower column), taken greedily while the row is short and the bank is
// free to it, then HpGroupFill's augmenting moves for a row left short. With group_rows 1 this is the best
// column of each bank, then the k best of those: no bank-distinct choice of k has a larger sum of |w|.
template <typename T>
void choose_block(const DenseMatrix<T>& w, int r0, int c0, const HpParams& p, int k, HpGroupFill& filler,
                  Mask& mask) {
  const std::size_t n = static_cast<std::size_t>(p.group_rows) * p.block_cols;
  std::vector<std::pair<int, int>> order(n);
  std::vector<std::size_t> rank(n);
  std::vector<float> mag(n);
  std::vector<std::uint8_t> chosen(n);
  for (int g = 0; g < p.block_rows; g += p.group_rows) {
    // Index i = row * block_cols + column orders ties by row, then column.
    for (std::size_t i = 0; i < n; ++i) {
      mag[i] = magnitude(
          w.at(r0 + g + static_cast<int>(i) / p.block_cols, c0 + static_cast<int>(i) % p.block_cols));
      rank[i] = i;
    }
    rank_by_magnitude(mag, rank);
    for (std::size_t i = 0; i < n; ++i)
      order[i] = {static_cast<int>(rank[i]) / p.block_cols, static_cast<int>(rank[i]) % p.block_cols};
    std::fill(chosen.begin(), chosen.end(), 0);
    // plan_hp keeps k within hp_max_nnz_per_row, for which a choice always exists (FORMATS.md).
    if (!filler.fill(chosen, k, order))
      throw std::logic_error("prune_hp: no level-2 choice for rows " + std::to_string(r0 + g));
    for (int i = 0; i < p.group_rows; ++i)
      for (int c = 0; c < p.block_cols; ++c)
        if (chosen[static_cast<std::size_t>(i) * p.block_cols + c]) mask.set(r0 + g + i, c0 + c, true);
  }
}

template <typename T>
Mask hp_mask(const DenseMatrix<T>& w, const HpParams& p, HpPlan* plan_out) {
  const HpPlan plan = plan_hp(w.rows, w.cols, p);
  require_no_nan(w, "prune_hp");
  const int grid_cols = w.cols / p.block_cols;
  std::vector<double> energy(static_cast<std::size_t>(plan.total_blocks), 0.0);
  for (int r = 0; r < w.rows; ++r) {
    const std::size_t grid_row_base = static_cast<std::size_t>(r / p.block_rows) * grid_cols;
    for (int c = 0; c < w.cols; ++c) {
      const double v = static_cast<double>(w.at(r, c));
      energy[grid_row_base + static_cast<std::size_t>(c / p.block_cols)] += v * v;
    }
  }
  std::vector<std::int64_t> order(energy.size());
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::partial_sort(
      order.begin(), order.begin() + plan.kept_blocks, order.end(),
      [&](std::int64_t a, std::int64_t b) { return energy[a] != energy[b] ? energy[a] > energy[b] : a < b; });
  Mask mask(w.rows, w.cols);
  HpGroupFill filler(p);
  for (std::int64_t j = 0; j < plan.kept_blocks; ++j) {
    const int r0 = static_cast<int>(order[j] / grid_cols) * p.block_rows;
    const int c0 = static_cast<int>(order[j] % grid_cols) * p.block_cols;
    choose_block(w, r0, c0, p, plan.nnz_per_row, filler, mask);
  }
  if (plan_out != nullptr) *plan_out = plan;
  return mask;
}

}  // namespace

HpPlan plan_hp(int rows, int cols, const HpParams& p) {
  require_hp_fits(rows, cols, p);
  HpPlan plan;
  plan.total_blocks = static_cast<std::int64_t>(rows / p.block_rows) * (cols / p.block_cols);
  const double d = 1.0 - p.target_sparsity;
  const double bc = p.block_cols;
  const auto k_split = static_cast<int>(std::llround(std::pow(d, 1.0 - p.level1_share) * bc));
  // The small epsilon keeps a density like 1 - 0.75 from rounding up past an exact integer.
  const auto k_floor = static_cast<int>(std::ceil(d * bc - 1e-9));
  plan.nnz_per_row = std::clamp(std::max(k_split, k_floor), 1, hp_max_nnz_per_row(p));
  const double ideal_blocks = d * static_cast<double>(plan.total_blocks) * bc / plan.nnz_per_row;
  plan.kept_blocks = std::min(plan.total_blocks, static_cast<std::int64_t>(std::llround(ideal_blocks)));
  plan.achieved_sparsity = plan.total_blocks == 0
                               ? 0.0
                               : 1.0 - static_cast<double>(plan.kept_blocks) * plan.nnz_per_row /
                                           (static_cast<double>(plan.total_blocks) * bc);
  return plan;
}

Mask prune_hp_mask(const Int8Matrix& w, const HpParams& p, HpPlan* plan) {
  return hp_mask(w, p, plan);
}
Mask prune_hp_mask(const FloatMatrix& w, const HpParams& p, HpPlan* plan) {
  return hp_mask(w, p, plan);
}
HpMatrix prune_hp(const Int8Matrix& w, const HpParams& p, HpPlan* plan) {
  return to_hp(w, prune_hp_mask(w, p, plan), p);
}

}  // namespace tacsim::sparsity
