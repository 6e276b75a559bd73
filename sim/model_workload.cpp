#include "sim/model_workload.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "workloads/roofline.h"

namespace tacsim::sim {

using workloads::Op;
using workloads::OpKind;

double memory_bytes_per_cycle(const SimConfig& cfg) {
  return cfg.memory_peak_bytes_per_s() / (cfg.accel.clock_mhz * 1e6);
}

double estimated_cycles(const Op& op, const engine::Params& e, double memory_bytes_per_cycle) {
  const double peak = double(e.pe_array.peak_macs_per_cycle());
  double compute = 0, bytes = 0;
  if (workloads::is_gemm(op.kind)) {
    const double m = op.gemm.m, n = op.gemm.n, k = op.gemm.k;
    compute = double(op.effective_macs) / peak;
    // Weights as stored, A in int8, C as the output stage writes it (attention's scores stay on chip).
    bytes = op.kind == OpKind::kWeightGemm ? double(op.weight_bytes) + m * k + m * n * 2 : (m + n) * k;
  } else if (op.kind == OpKind::kTopkAttention) {
    compute = double(op.effective_macs) / peak +
              double(op.lut_products) / (e.topk_unit.score_lanes * e.topk_unit.lut_per_lane);
    bytes = 4.0 * op.topk.l_q * op.topk.d;
  } else {
    // Softmax and layernorm make three passes over a row, GELU and the residual add one.
    const bool three = op.kind == OpKind::kSoftmax || op.kind == OpKind::kLayerNorm;
    const double lanes = op.kind == OpKind::kSoftmax ? e.sfu.softmax.lanes : e.sfu.vector.lanes;
    compute = double(op.elements) * (three ? 3 : 1) / lanes;
    bytes = double(op.elements) * (op.kind == OpKind::kLayerNorm || op.kind == OpKind::kSoftmax ? 2 : 5);
  }
  return std::max(compute, bytes / memory_bytes_per_cycle);
}

ModelWorkload::ModelWorkload(const SimConfig& cfg, const ModelPlan& plan, const ModelValues& values,
                             bool check, BackingStore& memory, RunReport& report)
    : cfg_(cfg), plan_(plan), values_(values), check_(check), memory_(memory), report_(report) {}

std::vector<Op> ModelWorkload::lower(const std::vector<std::uint32_t>& lengths) const {
  std::vector<Op> ops = workloads::lower_batch(plan_.spec, lengths, plan_.lowering);
  if (plan_.weights_on_hp)
    for (Op& op : ops)
      if (op.kind == OpKind::kWeightGemm) op.gemm.sparsity = cfg_.model.weights;
  return ops;
}

std::vector<scheduler::Task> ModelWorkload::tasks(const scheduler::Batch& batch) {
  auto run = std::make_unique<BatchRun>();
  std::vector<std::uint32_t> lengths, real;
  bool padded = false;
  for (const auto& m : batch.members) {
    lengths.push_back(m.padded_length);
    real.push_back(m.request.length);
    padded = padded || m.padded_length != m.request.length;
  }
  run->ops = lower(lengths);
  if (padded)
    run->padding_macs =
        workloads::total_effective_macs(run->ops) - workloads::total_effective_macs(lower(real));

  // Each member's heads in blocks of query rows, on each engine (engines differ).
  std::uint64_t score_elements = 0;
  for (const std::uint32_t L : lengths) {
    std::vector<workloads::AttentionBlocks> per_engine;
    for (const engine::Params& e : cfg_.engines) {
      per_engine.push_back(
          workloads::attention_blocks(L, e.pe_array.rows, std::uint64_t{e.sfu.score_buffer_kib} * 1024,
                                      cfg_.model.attention_block_rows, cfg_.model.attention_on_chip));
      score_elements = std::max(score_elements, std::uint64_t{per_engine.back().rows} * L);
    }
    run->blocks.push_back(std::move(per_engine));
  }
  const std::uint32_t region = plan_.input_region_per_request
                                   ? static_cast<std::uint32_t>(batch.members.front().request.index)
                                   : batch.slot;
  run->tensors =
      workloads::place_tensors(plan_.spec, run->ops, plan_.memory, region, batch.slot, score_elements);
  run->records.resize(run->ops.size());
  for (std::size_t i = 0; i < run->ops.size(); ++i) {
    const Op& op = run->ops[i];
    const bool on_chip = op.member >= 0 && run->blocks[static_cast<std::size_t>(op.member)].front().on_chip;
    run->records[i].sequence = batch.id;
    run->records[i].op = &op;
    run->records[i].compulsory_bytes = workloads::compulsory_bytes(run->ops, i, on_chip);
  }
  // Epilogues are fused when every engine's SFU fuses them: the batch's tasks are made before their engines
  // are chosen.
  const bool fuse = std::all_of(cfg_.engines.begin(), cfg_.engines.end(),
                                [](const engine::Params& e) { return e.sfu.fuse_epilogues; });
  run->epilogues = workloads::fused_epilogues(run->ops, fuse);

  // Length-aware ranks: the longest path to the end of a batch of as many members at the running average
  // length, each operation weighted by its estimated cycles (on engine 0).
  std::vector<double> rank;
  if (cfg_.scheduler.policy == "length-aware") {
    const std::vector<Op> at_average =
        lower(std::vector<std::uint32_t>(lengths.size(), batch.ranking_length));
    const double bpc = memory_bytes_per_cycle(cfg_);
    const engine::Params& e0 = cfg_.engines.front();
    rank = workloads::longest_path_to_end(at_average,
                                          [&](const Op& op) { return estimated_cycles(op, e0, bpc); });
  }
  const BatchRun& r = *run;
  auto head_blocks = [&r](const Op& qk) {
    std::vector<std::uint32_t> out;
    for (const auto& b : r.blocks[static_cast<std::size_t>(qk.member)]) out.push_back(b.count(qk.gemm.m));
    return out;
  };
  // With the next-head read ahead off on every engine the heads are not chained: the scheduler chooses as
  // if they were not siblings.
  const bool chain = std::any_of(cfg_.engines.begin(), cfg_.engines.end(),
                                 [](const engine::Params& p) { return p.topk_unit.prefetch_next_head; });
  std::vector<scheduler::Task> tasks =
      workloads::batch_tasks(run->ops, head_blocks, rank, run->epilogues, chain);
  if (check_) prepare_values(batch, *run);
  runs_[batch.id] = std::move(run);
  return tasks;
}

void ModelWorkload::prepare_values(const scheduler::Batch& batch, BatchRun& run) {
  // A batch of one sequence (config resolution refuses a check of more): its input, written where its batch
  // reads it, and the reference of every layer, calibrated on this sequence alone.
  const auto t0 = std::chrono::steady_clock::now();
  const scheduler::Request& req = batch.members.front().request;
  const std::uint32_t L = req.length;
  std::vector<std::int8_t> x = workloads::make_layer_input(plan_.spec, L, cfg_.sim.seed + 0x1000 + req.index);
  memory_.write(run.tensors.input.address, reinterpret_cast<const std::uint8_t*>(x.data()), x.size());
  for (std::uint32_t l = 0; l < plan_.spec.layers; ++l) {
    auto ref =
        workloads::reference_layer(plan_.spec, L, values_.weights[l], cfg_.sfu.softmax, cfg_.sfu.vector, x,
                                   true, {}, cfg_.model.topk > 0 ? &cfg_.topk_unit : nullptr);
    run.quant.push_back(ref.quant);
    run.expected.push_back(ref.out);
    x = std::move(ref.out);
  }
  reference_wall_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void ModelWorkload::finished(const scheduler::Batch& batch, Cycle start, Cycle finish) {
  auto it = runs_.find(batch.id);
  BatchRun& run = *it->second;
  report_.batch_done(batch, start, finish, std::move(run.ops), std::move(run.records), run.padding_macs);
  runs_.erase(it);
}

}  // namespace tacsim::sim
