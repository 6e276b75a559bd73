#include "workloads/pe_array_mapper.h"

#include <stdexcept>

namespace tacsim::workloads {

MappedGemm PeArrayMapper::map(const GemmTask& task) const {
  const GemmParams& g = task.gemm;
  const GemmPlan plan = plan_gemm(g, engine_.pe_array, engine_.act_half_bytes, engine_.weight_half_bytes,
                                  engine_.out_half_bytes, task.layout);
  MappedGemm out;
  out.program = to_program(plan);
  out.tiling = plan.describe();
  out.c_address = task.layout.c_address;
  out.end = task.layout.end;
  if (task.a != nullptr) {
    // Only a packed A (layout_gemm's) can go to memory as one image.
    if (task.layout.a_stride != g.k)
      throw std::invalid_argument("PeArrayMapper: task.a needs a packed layout");
    out.images.push_back({task.layout.a_address, std::vector<std::uint8_t>(task.a->begin(), task.a->end())});
  }
  if (task.w != nullptr) {
    GemmWeights pruned = prune_weights(g, *task.w);
    out.images.push_back({task.layout.w_address, std::move(pruned.image)});
    out.weights = std::move(pruned.w);
  }
  return out;
}

}  // namespace tacsim::workloads
