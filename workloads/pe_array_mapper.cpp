#include "workloads/pe_array_mapper.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace tacsim::workloads {

const PeArrayMapper::Choice& PeArrayMapper::choose(const GemmParams& g, const GemmLayout& layout) const {
  const auto key = std::make_tuple(g.m, g.n, g.k, g.sparsity.text(), layout.out.element_bytes());
  if (const auto it = chosen_.find(key); it != chosen_.end()) return it->second;
  const BufferHalves h{engine_.act_half_bytes, engine_.weight_half_bytes, engine_.out_half_bytes};
  const std::vector<Tiling> tilings = enumerate_tilings(g, engine_.pe_array, h, layout);
  auto estimate = [&](const Tiling& t) {
    return estimate_plan(plan_gemm(g, engine_.pe_array, h, layout, t), engine_.pe_array, engine_.memory);
  };
  std::size_t best = 0;
  PlanCost best_cost, greedy_cost;
  if (engine_.tilings.kind == TilingPolicy::Kind::kPinned) {
    best = std::min<std::size_t>(engine_.tilings.pinned, tilings.size() - 1);
    best_cost = estimate(tilings[best]);
    greedy_cost = estimate(tilings[0]);
  } else {
    std::vector<PlanCost> costs;
    for (const Tiling& t : tilings) costs.push_back(estimate(t));
    greedy_cost = costs[0];
    // Within the estimate's error of the fastest (it models neither the DRAM's row and bank timing nor
    // other units' traffic, such as a fused epilogue beside the GEMM), the tiling that moves fewest bytes;
    // unless the memory is so fast that bytes cost next to nothing (under a tenth of the run).
    auto memory_cycles = [&](const PlanCost& c) {
      return double(c.dram_bytes) / engine_.memory.bytes_per_cycle;
    };
    const PlanCost& f = *std::min_element(
        costs.begin(), costs.end(), [](const PlanCost& a, const PlanCost& b) { return a.cycles < b.cycles; });
    const Cycle fastest = f.cycles;
    const Cycle near = memory_cycles(f) * 10 < double(fastest) ? fastest : fastest + fastest / 100;
    best = tilings.size();
    for (std::size_t i = 0; i < tilings.size(); ++i) {
      const PlanCost& c = costs[i];
      if (c.cycles > near) continue;
      if (best == tilings.size() || c.dram_bytes < best_cost.dram_bytes ||
          (c.dram_bytes == best_cost.dram_bytes && c.cycles < best_cost.cycles)) {
        best = i;
        best_cost = c;
      }
    }
  }
  Choice& choice = chosen_[key];
  choice.tiling = tilings[best];
  choice.why = fmt::format(
      "; {} {} of {} tilings, estimated {} cycles ({} computing), greedy's {}",
      engine_.tilings.kind == TilingPolicy::Kind::kPinned ? "pinned"
                                                          : "within 1 % of the fastest, the fewest bytes:",
      best, tilings.size(), best_cost.cycles, best_cost.compute_cycles, greedy_cost.cycles);
  return choice;
}

MappedGemm PeArrayMapper::map(const GemmTask& task) const {
  const GemmParams& g = task.gemm;
  const BufferHalves h{engine_.act_half_bytes, engine_.weight_half_bytes, engine_.out_half_bytes};
  std::string why;
  Tiling tiling;
  if (engine_.tilings.kind != TilingPolicy::Kind::kGreedy) {
    const Choice& c = choose(g, task.layout);
    tiling = c.tiling;
    why = c.why;
  } else {
    tiling = greedy_tiling(g, engine_.pe_array, h, task.layout);
  }
  const GemmPlan plan = plan_gemm(g, engine_.pe_array, h, task.layout, tiling);
  MappedGemm out;
  out.program = to_program(plan);
  out.tiling = plan.describe() + why;
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
