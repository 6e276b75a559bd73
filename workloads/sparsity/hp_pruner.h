#pragma once
// HP, hierarchical pruning (Qi et al., "Accelerating Framework of Transformer by Hardware Design and Model
// Compression Co-Optimization", ICCAD 2021), as this project defines it (DESIGN.md section 4):
//   level 1 keeps whole block_rows x block_cols blocks of W, those of largest L2 norm;
//   level 2 keeps, in every row of every kept block, exactly nnz_per_row entries whose activation banks
//   (hp_bank() of their column) are pairwise distinct, and no bank holds more than ports_per_bank of the
//   entries of the group_rows rows processed together.
// The result is stored in the HP format (modules/formats/hp.h).
#include <cstdint>

#include "modules/formats/hp.h"
#include "modules/formats/mask.h"
#include "modules/formats/matrix.h"

namespace tacsim::sparsity {

// How a target is split between the levels. With d = 1 - target_sparsity, T blocks and k = nnz_per_row:
//   k = clamp(max(round(d^(1 - level1_share) * block_cols), ceil(d * block_cols)), 1, hp_max_nnz_per_row)
//   kept_blocks = min(T, round(d * T * block_cols / k))
// achieved density = kept_blocks * k / (T * block_cols). The ceil keeps kept_blocks <= T, so the achieved
// sparsity is within block_rows * k / (2 * rows * cols) (half a block) of the target, unless the target
// density exceeds hp_max_nnz_per_row / block_cols, the densest HP can be; then every block is kept with k at
// its cap.
struct HpPlan {
  std::int64_t total_blocks = 0;
  std::int64_t kept_blocks = 0;
  int nnz_per_row = 0;
  double achieved_sparsity = 0.0;
};
// Throws InputError when params are invalid or rows / cols are not multiples of the block shape.
HpPlan plan_hp(int rows, int cols, const HpParams& params);

// The HP pruner. Level 1 ranks blocks by sum of w^2 (ties: lower block id). Level 2, per group of rows of a
// kept block, takes the group's entries by |w| (ties: lower row, then lower column) while their row is short
// and their bank free to it, then moves entries between banks when that leaves a row short (fill_hp_group).
// With group_rows 1 this is, per row, the largest |w| of each bank, then the nnz_per_row largest of those:
// the largest sum of |w| any bank-distinct choice of that many can have. `plan`, when given, receives the
// split and the achieved sparsity.
Mask prune_hp_mask(const Int8Matrix& w, const HpParams& params, HpPlan* plan = nullptr);
Mask prune_hp_mask(const FloatMatrix& w, const HpParams& params, HpPlan* plan = nullptr);
// prune_hp_mask followed by to_hp.
HpMatrix prune_hp(const Int8Matrix& w, const HpParams& params, HpPlan* plan = nullptr);

}  // namespace tacsim::sparsity
