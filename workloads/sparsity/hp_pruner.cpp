#include "workloads/sparsity/hp_pruner.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace tacsim::sparsity {
namespace {

// Per-row level-2 choice inside one block: the best column of every bank, then the k best of those.
template <typename T>
void choose_row(const DenseMatrix<T>& w, int r, int c0, const HpParams& p, int k, Mask& mask) {
  const int used_banks = hp_max_nnz_per_row(p);
  std::vector<int> best(static_cast<std::size_t>(used_banks), -1);
  for (int c = 0; c < p.block_cols; ++c) {
    const int b = hp_bank(c, p.block_cols, p.banks);
    // Strictly greater keeps the lower column on ties, since c ascends.
    if (best[b] < 0 || magnitude(w.at(r, c0 + c)) > magnitude(w.at(r, c0 + best[b]))) best[b] = c;
  }
  std::partial_sort(best.begin(), best.begin() + k, best.end(), [&](int a, int b) {
    const float ma = magnitude(w.at(r, c0 + a));
    const float mb = magnitude(w.at(r, c0 + b));
    return ma != mb ? ma > mb : a < b;
  });
  for (int s = 0; s < k; ++s) mask.set(r, c0 + best[s], true);
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
  for (std::int64_t j = 0; j < plan.kept_blocks; ++j) {
    const int r0 = static_cast<int>(order[j] / grid_cols) * p.block_rows;
    const int c0 = static_cast<int>(order[j] % grid_cols) * p.block_cols;
    for (int i = 0; i < p.block_rows; ++i) choose_row(w, r0 + i, c0, p, plan.nnz_per_row, mask);
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
