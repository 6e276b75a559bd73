#include "workloads/gemm_params.h"

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/formats/nm.h"

namespace tacsim::workloads {

std::string GemmParams::validate() const {
  if (m == 0) return "m: must be at least 1, got 0";
  if (n == 0) return "n: must be at least 1, got 0";
  if (k == 0) return "k: must be at least 1, got 0";
  if (sparse_rows()) {
    if (!(target_sparsity >= 0 && target_sparsity < 1))
      return fmt::format("target_sparsity: must be in [0, 1), got {}", target_sparsity);
    if (hp_block_rows == 0) return "hp_block_rows: must be at least 1, got 0";
    if (hp_block_cols == 0) return "hp_block_cols: must be at least 1, got 0";
    if (k % hp_block_cols != 0)
      return fmt::format("k: must be a multiple of sparsity.hp_block_cols = {} for {} sparsity, got {}",
                         hp_block_cols, sparsity, k);
    if (sparsity == "hp" && n % hp_block_rows != 0)
      return fmt::format("n: must be a multiple of sparsity.hp_block_rows = {} for hp sparsity, got {}",
                         hp_block_rows, n);
    if (!(hp_level1_share >= 0 && hp_level1_share <= 1))
      return fmt::format("hp_level1_share: must be in [0, 1], got {}", hp_level1_share);
    return "";
  }
  sparsity::NmSpec spec;
  try {
    spec = sparsity::parse_nm(sparsity);
  } catch (const InputError& e) {
    return std::string("sparsity: ") + e.what();
  }
  if (!spec.is_dense() && k % spec.m != 0)
    return fmt::format("k: must be a multiple of M = {} for {} sparsity, got {}", spec.m, sparsity, k);
  return "";
}

}  // namespace tacsim::workloads
