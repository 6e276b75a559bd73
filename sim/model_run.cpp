#include "sim/model_run.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <systemc>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "modules/formats/hp.h"
#include "modules/scheduler/dispatch.h"
#include "modules/scheduler/scheduler_engine.h"
#include "sim/arrivals.h"
#include "sim/model_executor.h"
#include "sim/model_report.h"
#include "sim/model_workload.h"
#include "sim/output.h"
#include "sim/progress.h"
#include "sim/top.h"
#include "sim/waves_control.h"
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

// The trace read through once before the run: its rows, the progress line's total. A bad row is found here,
// named by file and line, before anything is simulated (and not on a SystemC thread's stack, where an
// exception's unwinding confuses AddressSanitizer); the run's own reader then streams the same rows.
std::uint64_t checked_trace_rows(const std::string& path, const traces::LengthLimit& limit) {
  traces::RequestTraceReader reader(path, limit);
  traces::Request r;
  while (reader.next(r)) {
  }
  return reader.rows();
}

// A step's operation as the waves show it: "layer3.ffn_up", "layer3.head5.qk[2]" for block 2 of a head.
std::string step_name(const BatchRun& run, const scheduler::Batch& batch, const scheduler::Step& step) {
  const Op& op = run.ops[batch.tasks[step.task].op];
  switch (step.stage) {
    case scheduler::Stage::kWhole:
      return op.name;
    case scheduler::Stage::kScores:
      return fmt::format("{}[{}]", op.name, step.block);
    case scheduler::Stage::kContext:
      return fmt::format("{}[{}]", run.ops[op.head_ops.context].name, step.block);
    case scheduler::Stage::kSoftmax:
      break;
  }
  return fmt::format("{}.softmax[{}]", op.name, step.block);
}

// One `tacsim run` of a model, on a trace's requests or on its own sequences: planned and checked at
// construction, simulated and reported by run().
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
  void prepare_weights();
  std::vector<std::vector<bool>> stage_table() const;

  const SimConfig& cfg_;
  const RunOptions& opts_;
  const bool trace_;
  ModelPlan plan_;
  bool check_ = false;
  std::vector<std::uint32_t> lengths_;  // a model's own sequences; empty for a trace
  std::uint32_t max_len_ = 0;           // the longest sequence a batch may hold
  std::uint32_t slot_tokens_ = 0;       // the largest batch's tokens
  std::uint32_t slots_ = 1;
  ModelValues values_;
};

ModelRun::ModelRun(const SimConfig& cfg, const RunOptions& opts)
    : cfg_(cfg), opts_(opts), trace_(cfg.sim.workload == "trace") {
  plan_.spec = workloads::load_model(cfg.model.name, models_dir());
  plan_.weights_on_hp = cfg.model.weights.on_hp_datapath();
  plan_.input_region_per_request = !trace_;
  check_ = cfg.sim.check_enabled();
  if (!trace_) lengths_ = cfg.model.lengths();  // each taken by the model (config resolution checked)
  lower();
  load_masks();
  plan_memory();
  preflight();
  if (check_) prepare_weights();
}

void ModelRun::lower() {
  const SimConfig& cfg = cfg_;
  // The rules across keys (overrides, checks, top-k) were checked when the configuration resolved.
  workloads::LoweringOptions& lo = plan_.lowering;
  lo.weight_sparsity = plan_.weights_on_hp ? "dense" : cfg.model.weights.text();
  lo.topk = cfg.model.topk;
  if (!cfg.model.sparsity_overrides.empty())
    lo.per_layer_override = workloads::load_sparsity_overrides(cfg.model.sparsity_overrides);
  // Every layer's weights as lowered: one sequence stands for all (weights do not depend on lengths).
  std::vector<Op> ops;
  try {
    ops = workloads::lower_model(plan_.spec, lengths_.empty() ? 1 : lengths_.front(), lo);
  } catch (const InputError& e) {
    const std::string m = e.what();
    if (m.rfind("weight_sparsity: ", 0) == 0) throw InputError("config: sparsity.weights: " + m.substr(17));
    throw;
  }
  plan_.layer_sparsity.resize(plan_.spec.layers);
  for (const Op& op : ops)
    if (op.kind == OpKind::kWeightGemm)
      plan_.layer_sparsity[op.layer][workloads::role_index(op.role)] =
          plan_.weights_on_hp ? cfg.model.weights : op.gemm.sparsity;

  // The largest batch the policy can form, which sizes each slot.
  max_len_ = trace_ ? plan_.spec.max_seq_len : *std::max_element(lengths_.begin(), lengths_.end());
  std::uint64_t all_tokens = 0;
  for (auto L : lengths_) all_tokens += L;
  const auto policy = scheduler::parse_policy(cfg.scheduler.policy);
  std::uint64_t tokens = max_len_;
  if (policy == scheduler::PolicyKind::kPadded)
    tokens = std::uint64_t{cfg.scheduler.batch_size} * max_len_;
  else if (policy == scheduler::PolicyKind::kLengthAware)
    tokens = std::max<std::uint64_t>(max_len_, cfg.scheduler.max_batch_tokens);
  if (!trace_) tokens = std::min(tokens, all_tokens);
  if (tokens > (1u << 24))
    throw InputError(
        fmt::format("config: scheduler: a batch of up to {} tokens is beyond 2^24 (scheduler.batch_size "
                    "x the longest sequence, or scheduler.max_batch_tokens)",
                    tokens));
  slot_tokens_ = static_cast<std::uint32_t>(tokens);
  slots_ = cfg.scheduler.max_in_flight != 0 ? cfg.scheduler.max_in_flight
                                            : static_cast<std::uint32_t>(cfg.engines.size());
}

void ModelRun::load_masks() {
  // Masks of a pruned model: each N:M layer's must conform to its N:M.
  if (cfg_.model.masks_dir.empty()) return;
  plan_.masks = workloads::load_weight_masks(cfg_.model.masks_dir, plan_.spec);
  if (plan_.weights_on_hp) return;
  for (std::uint32_t l = 0; l < plan_.spec.layers; ++l)
    for (std::size_t r = 0; r < 6; ++r)
      workloads::check_nm_mask(
          plan_.masks.by_layer[l][r], plan_.layer_sparsity[l][r].text(), plan_.masks.files[l][r],
          fmt::format("layer{}.{}", l, workloads::to_string(workloads::weight_roles()[r])));
}

void ModelRun::plan_memory() {
  workloads::MemoryShape shape;
  shape.input_regions = trace_ ? slots_ : static_cast<std::uint32_t>(lengths_.size());
  shape.input_tokens = slot_tokens_;
  shape.slots = slots_;
  shape.slot_tokens = slot_tokens_;
  shape.max_len = max_len_;
  shape.engines = static_cast<std::uint32_t>(cfg_.engines.size());
  shape.hp_scratch = plan_.weights_on_hp;
  plan_.memory = workloads::plan_memory(plan_.spec, shape, plan_.layer_sparsity);
  const std::uint64_t end = plan_.memory.end;
  if (end > cfg_.memory_capacity_bytes())
    throw InputError(fmt::format(
        "config: the model needs {} MiB of memory (weights of every layer, activations "
        "of {} batch{} in flight, inputs); the memory has {} MiB",
        (end + (1 << 20) - 1) >> 20, slots_, slots_ == 1 ? "" : "es", cfg_.memory_capacity_bytes() >> 20));
}

std::vector<std::vector<bool>> ModelRun::stage_table() const {
  if (cfg_.accel.organisation != "pipeline") return {};
  std::vector<std::vector<bool>> serves;
  for (std::size_t e = 0; e < cfg_.engines.size(); ++e) {
    const auto stage =
        workloads::parse_engine_stage(cfg_.engine_stages[e], fmt::format("config: engine{}.stage", e));
    std::vector<bool> row(2 * plan_.spec.layers);
    for (std::uint32_t l = 0; l < plan_.spec.layers; ++l)
      for (const auto part : {workloads::Sublayer::kAttention, workloads::Sublayer::kFfn})
        row[workloads::stage_group(l, part)] = stage.serves(l, part);
    serves.push_back(std::move(row));
  }
  return serves;
}

void ModelRun::preflight() const {
  // Every GEMM must map onto the buffers of every engine that may run it before anything is simulated: the
  // mapper's errors name the operation and the buffer. Batches that stand for all: each sequence alone, and
  // one as large as a slot (the widest weight GEMMs). Each distinct shape is planned once per engine; the
  // largest attention block stands for the smaller last one (a smaller m needs no more buffer).
  std::set<std::uint32_t> alone(lengths_.begin(), lengths_.end());
  if (trace_) alone.insert(max_len_);
  std::vector<std::vector<std::uint32_t>> batches;
  for (auto L : alone) batches.push_back({L});
  if (slot_tokens_ > max_len_) {
    std::vector<std::uint32_t> full(slot_tokens_ / max_len_, max_len_);
    if (slot_tokens_ % max_len_) full.push_back(slot_tokens_ % max_len_);
    batches.push_back(full);
  }
  const auto serves = stage_table();
  std::set<std::tuple<std::size_t, std::uint32_t, std::uint32_t, std::uint32_t, std::string, bool>> seen;
  for (const auto& lengths : batches) {
    std::vector<Op> ops = workloads::lower_batch(plan_.spec, lengths, plan_.lowering);
    for (std::size_t e = 0; e < cfg_.engines.size(); ++e) {
      const engine::Params& eng = cfg_.engines[e];
      std::unique_ptr<workloads::GemmMapper> mappers[4];
      for (Op& op : ops) {
        if (!workloads::is_gemm(op.kind)) continue;
        if (plan_.weights_on_hp && op.kind == OpKind::kWeightGemm) op.gemm.sparsity = cfg_.model.weights;
        if (!serves.empty() && !serves[e][workloads::stage_group(op)]) continue;
        workloads::GemmParams g = model_gemm(cfg_, op);
        if (op.kind != OpKind::kWeightGemm) {
          const auto blocks =
              workloads::attention_blocks(op.kind == OpKind::kScores ? g.m : g.k, eng.pe_array.rows,
                                          std::uint64_t{eng.sfu.score_buffer_kib} * 1024,
                                          cfg_.model.attention_block_rows, cfg_.model.attention_on_chip);
          g.m = std::min(blocks.rows, g.m);
        }
        workloads::GemmTask task;
        task.gemm = g;
        task.layout = workloads::layout_gemm(g);
        task.layout.out.requant =
            op.kind == OpKind::kContext || workloads::projection_output(op.role, true).requant;
        task.seed = cfg_.sim.seed;
        task.pruning = cfg_.pruning;
        if (!seen.emplace(e, g.m, g.n, g.k, g.sparsity.text(), task.layout.out.requant).second) continue;
        try {
          auto& mapper = mappers[static_cast<std::size_t>(g.sparsity.format)];
          if (!mapper) mapper = workloads::make_mapper(g.sparsity.format, engine_shape(cfg_, eng));
          mapper->map(task);
        } catch (const InputError& err) {
          throw InputError(fmt::format("model: {}{}: {}", op.name,
                                       cfg_.engines.size() > 1 ? fmt::format(" on engine{}", e) : "",
                                       err.what()));
        }
      }
    }
  }
  // HP masks must have HP's bank property on every engine's activation buffer and row engines.
  if (cfg_.model.weights.format == workloads::WeightFormat::kHp && !plan_.masks.empty())
    for (const engine::Params& eng : cfg_.engines)
      for (std::uint32_t l = 0; l < plan_.spec.layers; ++l)
        for (std::size_t r = 0; r < 6; ++r)
          workloads::check_hp_mask(
              plan_.masks.by_layer[l][r],
              cfg_.pruning.hp(eng.hp_datapath.bank.banks, eng.hp_datapath.bank.ports_per_bank,
                              eng.hp_datapath.row_engines),
              plan_.masks.files[l][r]);
}

void ModelRun::prepare_weights() {
  for (std::uint32_t l = 0; l < plan_.spec.layers; ++l) {
    std::array<const sparsity::Mask*, 6> m{};
    std::array<const std::vector<std::int8_t>*, 6> v{};
    for (std::size_t r = 0; r < 6; ++r) {
      m[r] = plan_.masks.find(l, r);
      if (m[r] != nullptr && !plan_.masks.values[l][r].empty()) v[r] = &plan_.masks.values[l][r];
    }
    std::array<std::string, 6> sparsity;
    for (std::size_t r = 0; r < 6; ++r) sparsity[r] = plan_.layer_sparsity[l][r].text();
    values_.weights.push_back(
        workloads::make_layer_weights(plan_.spec, l, sparsity, cfg_.sfu.vector, cfg_.sim.seed, m, v));
  }
}

int ModelRun::run() {
  init_kernel();
  Top top("accel", cfg_);
  WaveSession* waves = opts_.wave_session;
  if (waves) {
    waves->attach(top, true);
    waves->check_selection();
  }
  top.set_compute_values(check_);
  const workloads::MemoryMap& mm = plan_.memory;
  if (check_)
    for (std::uint32_t l = 0; l < plan_.spec.layers; ++l)
      for (std::size_t r = 0; r < 6; ++r)
        top.memory.store().write(mm.weight_at[l][r], values_.weights[l].image[r].data(),
                                 values_.weights[l].image[r].size());

  // Where the requests come from: the trace, streamed, or the model's sequences, all at cycle 0.
  std::unique_ptr<scheduler::ArrivalSource> source;
  TraceArrivals* trace = nullptr;
  std::uint64_t total = lengths_.size();
  if (trace_) {
    const std::string path = trace_path(cfg_.trace.file);
    const traces::LengthLimit limit{plan_.spec.max_seq_len, *traces::parse_over_max(cfg_.trace.over_max)};
    total = checked_trace_rows(path, limit);
    auto t = std::make_unique<TraceArrivals>(traces::RequestTraceReader(path, limit), top.clock,
                                             cfg_.trace.rate_per_s, cfg_.sim.seed);
    trace = t.get();
    source = std::move(t);
  } else {
    source = std::make_unique<SequenceArrivals>(lengths_);
  }

  RunReport report(cfg_, opts_, plan_.spec, plan_.weights_on_hp, top.clock);
  ModelWorkload workload(cfg_, plan_, values_, check_, top.memory.store(), report);
  scheduler::BatchLimits limits;
  limits.batch_size = cfg_.scheduler.batch_size;
  limits.batch_timeout = top.clock.cycle_at_or_after(cfg_.scheduler.batch_timeout_ns * 1000000ull);
  limits.max_batch_tokens = cfg_.scheduler.max_batch_tokens;
  limits.slots = slots_;
  const auto kind = *scheduler::parse_policy(cfg_.scheduler.policy);
  std::optional<QueueWaves> queue_waves;
  if (waves) queue_waves.emplace(waves->scheduler(), report, top.clock);
  scheduler::SchedulerEngine scheduler(
      scheduler::make_policy(kind, limits), limits, cfg_.engines.size(), *source, workload, stage_table(),
      queue_waves ? static_cast<scheduler::Observer*>(&*queue_waves) : &report);
  ModelExecutor executor(cfg_, plan_, values_, check_, top, workload, scheduler);
  std::optional<StepWaves> step_waves;
  if (waves)
    step_waves.emplace(waves->scheduler(), executor, scheduler, top.clock, [&](const scheduler::Step& s) {
      return step_name(workload.run(s.batch), scheduler.batch(s.batch), s);
    });
  scheduler::Executor& runner = step_waves ? static_cast<scheduler::Executor&>(*step_waves) : executor;
  sc_core::sc_event progress_event;
  top.set_driver(
      [&](std::size_t e) { scheduler::dispatch(scheduler, e, runner, top.clock, progress_event); });
  std::unique_ptr<ProgressLine> progress;
  if (ProgressLine::wanted(opts_.quiet))
    progress = std::make_unique<ProgressLine>("progress", top.clock, "requests", [&] {
      return ProgressLine::Status{report.requests_done() + (trace ? trace->reader().dropped() : 0), total};
    });

  const auto t0 = std::chrono::steady_clock::now();
  sc_core::sc_start();
  progress.reset();
  top.rethrow_driver_error();
  if (waves) waves->write();
  ModelRunTotals totals;
  totals.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (scheduler.waiting() != 0 || scheduler.in_flight() != 0 || !source->exhausted())
    throw std::runtime_error("simulation ended before every request finished");
  if (report.requests_done() == 0) throw InputError(fmt::format("{}: no request to run", cfg_.trace.file));
  // Every byte belongs to exactly one operation: of what the memory moved (one engine), or of what the
  // engines asked for (several; model_executor.h).
  std::uint64_t counted = 0;
  for (std::size_t e = 0; e < top.engines.size(); ++e) counted += executor.engine_bytes(e);
  if (executor.op_bytes() != counted)
    throw std::logic_error(fmt::format("operations account for {} DRAM bytes, the engines' counts are {}",
                                       executor.op_bytes(), counted));
  totals.dram_bytes = top.memory.bytes_transferred();
  for (const auto& e : top.engines) {
    totals.weight_bytes += e->weight_buffer.stats().value("bytes_written").get<std::uint64_t>();
    totals.bank_conflict_cycles += e->hp_datapath.engine().counters().conflict_cycles;
  }
  const std::uint64_t mismatches = executor.mismatches();
  totals.check = !check_ ? "off" : mismatches == 0 ? "pass" : "fail: " + executor.first_mismatch();
  totals.check_mismatches = mismatches;
  totals.reference_wall_s = workload.reference_wall_s();
  totals.engines = scheduler.engine_counters();
  totals.trace = trace_;
  if (trace) {
    totals.truncated = trace->reader().truncated();
    totals.dropped = trace->reader().dropped();
  }
  report.finish(totals);
  return mismatches > 0 ? 1 : 0;
}

}  // namespace

int run_model(const SimConfig& cfg, const RunOptions& opts) {
  ModelRun run(cfg, opts);
  return run.run();
}

}  // namespace tacsim::sim
