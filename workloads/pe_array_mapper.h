#pragma once
// The PE array's mapper (mapper.h): a GEMM with dense or N:M weights, tiled by plan_gemm (gemm.h) onto the
// array's rows x cols outputs and chunks of whole groups along the reduction. Its operands stay where the
// caller put them (task.layout); given A and W, it prunes W to N:M by magnitude and returns both as stored.
#include "workloads/mapper.h"

namespace tacsim::workloads {

class PeArrayMapper : public GemmMapper {
 public:
  explicit PeArrayMapper(const EngineShape& engine) : engine_(engine) {}
  Datapath datapath() const override { return Datapath::kPeArray; }
  MappedGemm map(const GemmTask& task) const override;

 private:
  EngineShape engine_;
};

}  // namespace tacsim::workloads
