#include "sim/model_run.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <tuple>

#include <fmt/format.h>
#include <systemc>

#include "modules/common/error.h"
#include "modules/scheduler/dispatch.h"
#include "modules/scheduler/scheduler_engine.h"
#include "sim/model_executor.h"
#include "sim/model_report.h"
#include "sim/output.h"
#include "sim/progress.h"
#include "sim/top.h"
#include "workloads/gemm.h"
#include "workloads/layer_reference.h"
#include "workloads/lowering.h"
#include "workloads/mapper.h"
#include "workloads/memory_plan.h"
#include "workloads/model.h"
#include "workloads/model_mapping.h"
#include "workloads/weight_masks.h"

namespace tacsim::sim {

namespace {

using workloads::Op;
using workloads::OpKind;

// One `tacsim run` of a model: lowered, planned and checked at construction, simulated and reported by run().
class ModelRun {
 public:
  ModelRun(const SimConfig& cfg, const RunOptions& opts);
  int run();

 private:
  // Construction, before anything is simulated.
  void lower();
  void load_masks();
  void plan_memory();
  void preflight() const;
  void prepare_values();

  const SimConfig& cfg_;
  const RunOptions& opts_;
  ModelPlan plan_;
  // HP and unstructured weights: lowered as dense, pruned when each GEMM is mapped, run on the HP datapath.
  bool weights_on_hp_ = false;
  bool check_ = false;
  std::vector<std::array<workloads::WeightSparsity, 6>> layer_sparsity_;  // [layer][role], as lowered
  ModelValues values_;
  double reference_wall_s_ = 0;
};

ModelRun::ModelRun(const SimConfig& cfg, const RunOptions& opts) : cfg_(cfg), opts_(opts) {
  plan_.spec = workloads::load_model(cfg.model.name, models_dir());
  plan_.lengths = cfg.model.lengths();  // each taken by the model (config resolution checked)
  weights_on_hp_ = cfg.model.weights.on_hp_datapath();
  check_ = cfg.sim.check_enabled();
  lower();
  load_masks();
  plan_memory();
  preflight();
  // Timing-only runs use the default requantisers (their values are not computed).
  values_.quant.assign(plan_.sequences.size(), std::vector<workloads::LayerQuant>(plan_.spec.layers));
  if (check_) prepare_values();
}

void ModelRun::lower() {
  const SimConfig& cfg = cfg_;
  // The rules across keys (overrides, checks, top-k) were checked when the configuration resolved.
  workloads::LoweringOptions lo;
  lo.weight_sparsity = weights_on_hp_ ? "dense" : cfg.model.weights.text();
  lo.topk = cfg.model.topk;
  if (!cfg.model.sparsity_overrides.empty())
    lo.per_layer_override = workloads::load_sparsity_overrides(cfg.model.sparsity_overrides);

  // Lower every sequence and check every GEMM's shape before simulating anything.
  for (const auto L : plan_.lengths) {
    try {
      plan_.sequences.push_back(workloads::lower_model(plan_.spec, L, lo));
      if (weights_on_hp_)
        for (Op& op : plan_.sequences.back())
          if (op.kind == OpKind::kWeightGemm) op.gemm.sparsity = cfg.model.weights;
    } catch (const InputError& e) {
      const std::string m = e.what();
      if (m.rfind("weight_sparsity: ", 0) == 0) throw InputError("config: sparsity.weights: " + m.substr(17));
      throw;
    }
  }
  for (const auto& seq : plan_.sequences)
    for (const Op& op : seq)
      if (workloads::is_gemm(op.kind) && op.kind != OpKind::kTopkAttention) model_gemm(cfg_, op);
  layer_sparsity_.resize(plan_.spec.layers);
  for (const Op& op : plan_.sequences.front())
    if (op.kind == OpKind::kWeightGemm)
      layer_sparsity_[op.layer][workloads::role_index(op.role)] = op.gemm.sparsity;
}

void ModelRun::preflight() const {
  // Every GEMM must map onto the buffers before anything is simulated: the mapper's errors name the operation
  // and the buffer. Each distinct shape is planned once; the largest attention block stands for the smaller
  // last one (a smaller m needs no more buffer).
  std::vector<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t, std::string, bool>> seen;
  std::array<std::unique_ptr<workloads::GemmMapper>, 4> mappers;  // by WeightFormat
  for (std::size_t q = 0; q < plan_.sequences.size(); ++q) {
    const std::uint32_t block_rows = plan_.blocks[q].rows;
    for (const Op& op : plan_.sequences[q]) {
      if (!workloads::is_gemm(op.kind) || op.kind == OpKind::kTopkAttention) continue;
      workloads::GemmParams g = model_gemm(cfg_, op);
      if (op.kind != OpKind::kWeightGemm) g.m = std::min(block_rows, g.m);
      workloads::GemmTask task;
      task.gemm = g;
      task.layout = workloads::layout_gemm(g);
      task.layout.out.requant =
          op.kind == OpKind::kContext || workloads::projection_output(op.role, true).requant;
      task.seed = cfg_.sim.seed;
      task.pruning = cfg_.pruning;
      const auto key = std::make_tuple(g.m, g.n, g.k, g.sparsity.text(), task.layout.out.requant);
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
      seen.push_back(key);
      try {
        auto& mapper = mappers[static_cast<std::size_t>(g.sparsity.format)];
        if (!mapper) mapper = workloads::make_mapper(g.sparsity.format, engine_shape(cfg_));
        mapper->map(task);
      } catch (const InputError& e) {
        throw InputError(fmt::format("model: {}: {}", op.name, e.what()));
      }
    }
  }
  // HP masks must have HP's bank property.
  if (cfg_.model.weights.format == workloads::WeightFormat::kHp && !plan_.masks.empty())
    for (std::uint32_t l = 0; l < plan_.spec.layers; ++l)
      for (std::size_t r = 0; r < 6; ++r)
        workloads::check_hp_mask(
            plan_.masks.by_layer[l][r],
            cfg_.pruning.hp(cfg_.hp_datapath.bank.banks, cfg_.hp_datapath.bank.ports_per_bank,
                            cfg_.hp_datapath.row_engines),
            plan_.masks.files[l][r]);
}

void ModelRun::load_masks() {
  // Masks of a pruned model: each N:M layer's must conform to its N:M.
  if (cfg_.model.masks_dir.empty()) return;
  plan_.masks = workloads::load_weight_masks(cfg_.model.masks_dir, plan_.spec);
  if (weights_on_hp_) return;
  for (const Op& op : plan_.sequences.front())
    if (op.kind == OpKind::kWeightGemm) {
      const std::size_t r = workloads::role_index(op.role);
      workloads::check_nm_mask(plan_.masks.by_layer[op.layer][r], op.gemm.sparsity.text(),
                               plan_.masks.files[op.layer][r], op.name);
    }
}

void ModelRun::plan_memory() {
  plan_.memory = workloads::plan_memory(plan_.spec, plan_.lengths, layer_sparsity_, weights_on_hp_);
  const std::uint64_t end = plan_.memory.end;
  if (end > cfg_.memory_capacity_bytes())
    throw InputError(
        fmt::format("config: the model needs {} MiB of memory (weights of every layer, activations, "
                    "inputs); the memory has {} MiB",
                    (end + (1 << 20) - 1) >> 20, cfg_.memory_capacity_bytes() >> 20));
  for (std::size_t q = 0; q < plan_.sequences.size(); ++q) {
    const std::uint32_t L = plan_.lengths[q];
    plan_.blocks.push_back(
        workloads::attention_blocks(L, cfg_.pe_array.rows, std::uint64_t{cfg_.sfu.score_buffer_kib} * 1024,
                                    cfg_.model.attention_block_rows, cfg_.model.attention_on_chip));
    plan_.tensors.push_back(
        workloads::place_tensors(plan_.spec, plan_.sequences[q], plan_.memory, q, L, plan_.blocks[q].rows));
    plan_.epilogues.push_back(workloads::fused_epilogues(plan_.sequences[q], cfg_.sfu.fuse_epilogues));
  }
}

void ModelRun::prepare_values() {
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint32_t l = 0; l < plan_.spec.layers; ++l) {
    std::array<const sparsity::Mask*, 6> m{};
    std::array<const std::vector<std::int8_t>*, 6> v{};
    for (std::size_t r = 0; r < 6; ++r) {
      m[r] = plan_.masks.find(l, r);
      if (m[r] != nullptr && !plan_.masks.values[l][r].empty()) v[r] = &plan_.masks.values[l][r];
    }
    std::array<std::string, 6> sparsity;
    for (std::size_t r = 0; r < 6; ++r) sparsity[r] = layer_sparsity_[l][r].text();
    values_.weights.push_back(
        workloads::make_layer_weights(plan_.spec, l, sparsity, cfg_.sfu.vector, cfg_.sim.seed, m, v));
  }
  values_.expected.resize(plan_.sequences.size());
  for (std::size_t q = 0; q < plan_.sequences.size(); ++q) {
    values_.inputs.push_back(
        workloads::make_layer_input(plan_.spec, plan_.lengths[q], cfg_.sim.seed + 0x1000 + q));
    std::vector<std::int8_t> x = values_.inputs.back();
    for (std::uint32_t l = 0; l < plan_.spec.layers; ++l) {
      auto ref = workloads::reference_layer(plan_.spec, plan_.lengths[q], values_.weights[l],
                                            cfg_.sfu.softmax, cfg_.sfu.vector, x, true, {},
                                            cfg_.model.topk > 0 ? &cfg_.topk_unit : nullptr);
      values_.quant[q][l] = ref.quant;
      values_.expected[q].push_back(ref.out);
      x = std::move(ref.out);
    }
  }
  reference_wall_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int ModelRun::run() {
  init_kernel();
  Top top("accel", cfg_);
  top.set_compute_values(check_);
  const workloads::MemoryMap& mm = plan_.memory;
  if (check_) {
    for (std::size_t q = 0; q < values_.inputs.size(); ++q)
      top.memory.store().write(mm.input + q * mm.input_bytes,
                               reinterpret_cast<const std::uint8_t*>(values_.inputs[q].data()),
                               values_.inputs[q].size());
    for (std::uint32_t l = 0; l < plan_.spec.layers; ++l)
      for (std::size_t r = 0; r < 6; ++r)
        top.memory.store().write(mm.weight_at[l][r], values_.weights[l].image[r].data(),
                                 values_.weights[l].image[r].size());
  }
  // Every sequence is a request at cycle 0, run one after another.
  scheduler::SchedulerEngine engine(scheduler::make_policy(scheduler::PolicyKind::kInOrder));
  for (std::size_t q = 0; q < plan_.sequences.size(); ++q)
    engine.admit(workloads::model_request(plan_.sequences[q], plan_.blocks[q].count(plan_.lengths[q]), q, 0,
                                          plan_.epilogues[q]));
  ModelExecutor executor(cfg_, plan_, values_, check_, top, engine);
  top.set_driver([&] { scheduler::dispatch(engine, executor, top.clock); });
  std::size_t total_ops = 0;
  for (const auto& seq : plan_.sequences) total_ops += seq.size();
  std::unique_ptr<ProgressLine> progress;
  if (ProgressLine::wanted(opts_.quiet))
    progress = std::make_unique<ProgressLine>("progress", top.clock, "operations", [&executor, total_ops] {
      ProgressLine::Status st{0, total_ops};
      for (const auto& rs : executor.records())
        for (const auto& r : rs) st.done += r.ran ? 1 : 0;
      return st;
    });

  const auto t0 = std::chrono::steady_clock::now();
  sc_core::sc_start();
  progress.reset();
  top.rethrow_driver_error();
  ModelRunTotals totals;
  totals.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::vector<const OpRecord*> flat;
  for (const auto& rs : executor.records())
    for (const auto& r : rs)
      if (r.ran) flat.push_back(&r);
  if (flat.size() != total_ops) throw std::runtime_error("simulation ended before the model finished");
  // Every byte the memory moved belongs to exactly one operation.
  std::uint64_t op_bytes = 0;
  Cycle end = 0;
  for (const OpRecord* r : flat) op_bytes += r->dram_bytes, end = std::max(end, r->end);
  if (op_bytes != top.memory.bytes_transferred())
    throw std::logic_error(fmt::format("operations account for {} DRAM bytes, the memory moved {}", op_bytes,
                                       top.memory.bytes_transferred()));
  totals.sim_time_ns = double(top.clock.fs_at(end)) * 1e-6;
  totals.dram_bytes = top.memory.bytes_transferred();
  totals.weight_bytes = top.weight_buffer.stats().value("bytes_written");
  totals.bank_conflict_cycles = top.hp_datapath.engine().counters().conflict_cycles;
  const std::uint64_t mismatches = executor.mismatches();
  totals.check = !check_ ? "off" : mismatches == 0 ? "pass" : "fail: " + executor.first_mismatch();
  totals.check_mismatches = mismatches;
  totals.reference_wall_s = reference_wall_s_;
  report_model_run(cfg_, opts_, plan_.spec, plan_.lengths, flat, weights_on_hp_, totals);
  return mismatches > 0 ? 1 : 0;
}

}  // namespace

int run_model(const SimConfig& cfg, const RunOptions& opts) {
  ModelRun run(cfg, opts);
  return run.run();
}

}  // namespace tacsim::sim
