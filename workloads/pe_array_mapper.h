#pragma once
// The PE array's mapper (mapper.h): a GEMM with dense or N:M weights, tiled by plan_gemm (gemm.h) onto the
// array's rows x cols outputs and chunks of whole groups along the reduction. As engine.tilings says, it
// plans every tiling enumerate_tilings lists, estimates each (plan_cost.h: the engine's closed form fed by
// the memory's bandwidth and latency) and keeps, of those within 1 % of the fastest estimate, the one that
// moves fewest DRAM bytes (then the faster, then the earlier, greedy's first), remembering the choice per
// shape; or takes greedy_tiling, or the pinned one. Its operands stay
// where the caller put them (task.layout); given A and W, it prunes W to N:M by magnitude and returns both as
// stored.
#include <map>
#include <string>
#include <tuple>

#include "workloads/mapper.h"

namespace tacsim::workloads {

class PeArrayMapper : public GemmMapper {
 public:
  explicit PeArrayMapper(const EngineShape& engine) : engine_(engine) {}
  Datapath datapath() const override { return Datapath::kPeArray; }
  MappedGemm map(const GemmTask& task) const override;

 private:
  struct Choice {
    Tiling tiling;
    std::string why;  // for MappedGemm::tiling
  };
  const Choice& choose(const GemmParams& g, const GemmLayout& layout) const;

  EngineShape engine_;
  // By m, n, k, the weights' format and the output's bytes per element: what a plan's cost depends on.
  mutable std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t, std::string, std::uint32_t>,
                   Choice>
      chosen_;
};

}  // namespace tacsim::workloads
