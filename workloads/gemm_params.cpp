#include "workloads/gemm_params.h"

#include <fmt/format.h>

namespace tacsim::workloads {

std::string GemmParams::validate() const {
  if (m == 0) return "m: must be at least 1, got 0";
  if (n == 0) return "n: must be at least 1, got 0";
  if (k == 0) return "k: must be at least 1, got 0";
  if (sparsity.format == WeightFormat::kNm && k % sparsity.nm.m != 0)
    return fmt::format("k: must be a multiple of M = {} for {} sparsity, got {}", sparsity.nm.m,
                       sparsity.text(), k);
  return "";
}

std::string PruningParams::validate() const {
  if (!(pruned_fraction >= 0 && pruned_fraction < 1))
    return fmt::format("pruned_fraction: must be in [0, 1), got {}", pruned_fraction);
  if (hp_block_rows == 0) return "hp_block_rows: must be at least 1, got 0";
  if (hp_block_cols == 0) return "hp_block_cols: must be at least 1, got 0";
  if (!(hp_level1_share >= 0 && hp_level1_share <= 1))
    return fmt::format("hp_level1_share: must be in [0, 1], got {}", hp_level1_share);
  return "";
}

std::string PruningParams::check_fits(const GemmParams& g) const {
  if (!g.sparsity.on_hp_datapath()) return "";
  if (g.k % hp_block_cols != 0)
    return fmt::format("k: must be a multiple of sparsity.hp_block_cols = {} for {} sparsity, got {}",
                       hp_block_cols, g.sparsity.text(), g.k);
  if (g.sparsity.format == WeightFormat::kHp && g.n % hp_block_rows != 0)
    return fmt::format("n: must be a multiple of sparsity.hp_block_rows = {} for hp sparsity, got {}",
                       hp_block_rows, g.n);
  return "";
}

sparsity::HpParams PruningParams::hp(std::uint32_t banks, std::uint32_t ports_per_bank,
                                     std::uint32_t row_engines) const {
  sparsity::HpParams p;
  p.banks = static_cast<int>(banks);
  p.ports_per_bank = static_cast<int>(ports_per_bank);
  p.group_rows = static_cast<int>(row_engines);
  p.block_rows = static_cast<int>(hp_block_rows);
  p.block_cols = static_cast<int>(hp_block_cols);
  p.target_sparsity = pruned_fraction;
  p.level1_share = hp_level1_share;
  return p;
}

}  // namespace tacsim::workloads
