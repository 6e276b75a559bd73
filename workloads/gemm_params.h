#pragma once
// One GEMM of a workload: C[m x n] (int32) = A[m x k] (int8 activations) . W^T, W[n x k] (int8 weights, one
// row per output feature, like a PyTorch Linear weight), and the format its weights are stored in.
#include <cstdint>
#include <string>

namespace tacsim::workloads {

struct GemmParams {
  std::uint32_t m = 256;  // tokens; 256 x 768 x 768 is one BERT-base projection over 256 tokens
  std::uint32_t n = 768;
  std::uint32_t k = 768;
  std::string sparsity = "dense";    // "dense", "N:M" (1 <= N <= M <= 16, along k), "hp" or "unstructured"
  double target_sparsity = 0.9;      // hp and unstructured: the fraction of weights pruned
  std::uint32_t hp_block_rows = 16;  // hp: level-1 block shape (also the walk's block for unstructured)
  std::uint32_t hp_block_cols = 16;
  double hp_level1_share = 0.5;  // hp: share of the pruning done by dropping whole blocks

  bool sparse_rows() const { return sparsity == "hp" || sparsity == "unstructured"; }

  std::string validate() const;
};

}  // namespace tacsim::workloads
