#pragma once
// One GEMM of a workload: C[m x n] (int32) = A[m x k] (int8 activations) . W^T, W[n x k] (int8 weights, one
// row per output feature, like a PyTorch Linear weight), and the format its weights are stored in; and how
// hp and unstructured weights are pruned (PruningParams, the config's sparsity.* keys).
#include <cstdint>
#include <string>

#include "modules/formats/hp.h"
#include "workloads/weight_format.h"

namespace tacsim::workloads {

struct GemmParams {
  std::uint32_t m = 256;  // tokens; 256 x 768 x 768 is one BERT-base projection over 256 tokens
  std::uint32_t n = 768;
  std::uint32_t k = 768;
  WeightSparsity sparsity;  // N:M runs along k

  // "" when valid, else a message starting with the field's name (k must be a multiple of an N:M's M).
  std::string validate() const;
};

// How the pruner thins hp and unstructured weights (workloads/sparsity/hp_pruner.h, unstructured_pruner.h).
struct PruningParams {
  double pruned_fraction = 0.9;      // the fraction of weights removed
  std::uint32_t hp_block_rows = 16;  // hp: level-1 block shape (also the walk's block for unstructured)
  std::uint32_t hp_block_cols = 16;
  double hp_level1_share = 0.5;  // hp: share of the pruning done by dropping whole blocks (log-density)

  std::string validate() const;
  // "" when g's shape fits the blocks its format is pruned in, else a message naming g's field and the key.
  std::string check_fits(const GemmParams& g) const;
  // The HP pruner's parameters, for an activation buffer of `banks` banks of `ports_per_bank` ports read by
  // `row_engines` row engines at once (the rows processed together, FORMATS.md).
  sparsity::HpParams hp(std::uint32_t banks, std::uint32_t ports_per_bank = 1,
                        std::uint32_t row_engines = 1) const;
};

}  // namespace tacsim::workloads
