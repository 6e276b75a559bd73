#pragma once
// The HP datapath's mapper (mapper.h): a GEMM with HP or unstructured sparse weights.
//   C[m x n] (int32) = A[m x k] . W^T, W pruned by HP (workloads/sparsity/hp_pruner.h) or by magnitude
//   (unstructured) as task.pruning says, HP's banks and ports the activation buffer's and its rows processed
//   together the datapath's row engines (hp_datapath.row_engines must divide sparsity.hp_block_rows).
// Memory holds A transposed by token block (each block's K activation columns of its Rt tokens, column-major,
// one bank word per column, the blocks one after another) and W as consecutive row blocks, each encoded on
// its own (an HP stream, or CSR bytes) so that one DMA load brings one block of weight rows: the largest
// block of rows whose every encoding fits half the weight buffer. A tile is Rt tokens x one row block. Rt is
// the PE array's rows unless K activations of that many tokens overflow half the activation buffer; then the
// fewest token blocks that fit, of equal size (the last may be smaller). A group of token blocks (as many as
// fit half the activation buffer) stays resident while the row blocks stream past it, each row block serving
// the group's token blocks in turn, so the weights are loaded once per group. Layout from task.scratch: A^T,
// the weight blocks back to back, then C, each on a 4 KiB boundary.
#include "workloads/mapper.h"

namespace tacsim::workloads {

class HpMapper : public GemmMapper {
 public:
  explicit HpMapper(const EngineShape& engine) : engine_(engine) {}
  Datapath datapath() const override { return Datapath::kHp; }
  // With task.mask (n x k, e.g. from a really pruned model), its kept positions replace the pruner's (the
  // values stay seeded, made non-zero); an HP mask must have the bank property (InputError from to_hp).
  MappedGemm map(const GemmTask& task) const override;

 private:
  EngineShape engine_;
};

}  // namespace tacsim::workloads
