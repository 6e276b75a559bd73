#pragma once
// The HP datapath's mapper (mapper.h): a GEMM with HP or unstructured sparse weights.
//   C[m x n] (int32) = A[m x k] . W^T, W pruned by HP (workloads/sparsity/hp_pruner.h) or by magnitude
//   (unstructured) as task.pruning says, HP's banks the activation buffer's.
// Memory holds A transposed (k x m, so a tile's K activation columns of Rt tokens load column-major, one bank
// word per column) and W as consecutive row blocks, each encoded on its own (an HP stream, or CSR bytes) so
// that one DMA load brings one block of weight rows: the largest block of rows whose every encoding fits half
// the weight buffer. A tile is Rt tokens x one row block; the activation block stays resident while the row
// blocks stream past it. Layout from task.scratch: A^T, the weight blocks back to back, then C, each on a
// 4 KiB boundary.
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
