#include "sim/model_run.h"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <systemc>

#include "modules/common/error.h"
#include "sim/output.h"
#include "sim/stats_dump.h"
#include "sim/top.h"
#include "sim/version.h"
#include "workloads/gemm.h"
#include "workloads/hp_gemm.h"
#include "workloads/lowering.h"
#include "workloads/model.h"

namespace tacsim::sim {

std::string default_models_dir() {
  if (const char* env = std::getenv("TACSIM_MODELS_DIR"); env != nullptr && *env != '\0') return env;
#ifdef TACSIM_MODELS_DIR
  return TACSIM_MODELS_DIR;
#else
  return "workloads/models";
#endif
}

namespace {

using workloads::Op;
using workloads::OpKind;

// Bytes per element as operations store them: GEMMs read int8 and write int32 accumulators; the SFU reads
// what its producer wrote and writes int8 for the next GEMM (requantisation is part of the SFU op).
constexpr std::uint32_t kAccBytes = 4, kActBytes = 1;

// Addresses for one operation's tensors, reused once the device is full (timing does not depend on values).
class Allocator {
 public:
  explicit Allocator(std::uint64_t capacity) : capacity_(capacity) {}
  std::uint64_t take(std::uint64_t bytes) {
    bytes = (bytes + 4095) & ~std::uint64_t{4095};
    if (next_ + bytes > capacity_) next_ = 0;
    const std::uint64_t a = next_;
    next_ += bytes;
    return a;
  }

 private:
  std::uint64_t capacity_;
  std::uint64_t next_ = 0;
};

void rebase(control::Program& p, std::uint64_t offset) {
  for (auto* loads : {&p.act_loads, &p.weight_loads})
    for (auto& l : *loads)
      for (auto& b : l.blocks) b.address += offset;
  for (auto& w : p.writebacks) w.address += offset;
}

struct OpRecord {
  std::size_t sequence = 0;
  const Op* op = nullptr;
  Cycle start = 0, end = 0;
  std::uint64_t dram_bytes = 0, operand_stall = 0, out_stall = 0, drain_stall = 0, conflicts = 0, pe_macs = 0;
};

std::string kind_name(OpKind k) { return workloads::to_string(k); }

}  // namespace

int run_model(const SimConfig& cfg, const RunOptions& opts) {
  const auto spec = workloads::load_model(cfg.model.name, default_models_dir());
  const auto lengths = cfg.model.lengths();
  for (const auto L : lengths)
    if (const std::string e = spec.check_seq_len(L); !e.empty()) throw InputError("config: model.seq_lens: " + e);
  workloads::LoweringOptions lo;
  // The lowering knows N:M; HP and unstructured weights are pruned when each GEMM is mapped, so their layers
  // lower as dense and take the sparsity afterwards (no per-layer overrides then).
  const bool sparse_rows = cfg.model.weight_sparsity == "hp" || cfg.model.weight_sparsity == "unstructured";
  if (sparse_rows && !cfg.model.sparsity_overrides.empty())
    throw InputError(fmt::format("config: sparsity.overrides: per-layer overrides take N:M ratios; they cannot be "
                                 "combined with sparsity.weights = {}",
                                 cfg.model.weight_sparsity));
  lo.weight_sparsity = sparse_rows ? "dense" : cfg.model.weight_sparsity;
  lo.topk = cfg.model.topk;
  if (!cfg.model.sparsity_overrides.empty())
    lo.per_layer_override = workloads::load_sparsity_overrides(cfg.model.sparsity_overrides);
  if (const std::string e = lo.validate(); !e.empty() && e.rfind("weight_sparsity", 0) == 0)
    throw InputError("config: sparsity.weights" + e.substr(std::string("weight_sparsity").size()));
  else if (!e.empty())
    throw InputError("config: " + e);

  // Lower every sequence and check every GEMM maps before simulating anything.
  std::vector<std::vector<Op>> sequences;
  for (const auto L : lengths) {
    try {
      sequences.push_back(workloads::lower_model(spec, L, lo));
      if (sparse_rows)
        for (Op& op : sequences.back())
          if (op.kind == OpKind::kWeightGemm) op.gemm.sparsity = cfg.model.weight_sparsity;
    } catch (const InputError& e) {
      const std::string m = e.what();
      if (m.rfind("weight_sparsity: ", 0) == 0) throw InputError("config: sparsity.weights: " + m.substr(17));
      throw;
    }
  }
  auto gemm_params = [&cfg](const Op& op) {
    workloads::GemmParams g = cfg.gemm;  // hp block shape, target sparsity
    g.m = op.gemm.m;
    g.n = op.gemm.n;
    g.k = op.gemm.k;
    g.sparsity = op.gemm.sparsity;
    if (const std::string e = g.validate(); !e.empty()) throw InputError(fmt::format("model: {}: gemm.{}", op.name, e));
    return g;
  };
  for (const auto& ops : sequences)
    for (const Op& op : ops)
      if (workloads::is_gemm(op.kind) && op.kind != OpKind::kTopkAttention) gemm_params(op);
  prepare_output_dir(opts.out_dir);

  init_kernel();
  Top top("accel", cfg);
  top.pe_array.set_compute_values(false);
  top.hp_datapath.set_compute_values(false);
  Allocator alloc(cfg.memory_capacity_bytes());
  std::vector<OpRecord> records;

  // STA keeps a head's attention on chip: Q.K^T's scores go to the softmax unit and its probabilities to S.V
  // without a DRAM round trip, when one head's L x L int32 scores fit the score buffer.
  std::uint32_t seq_len = 0;
  auto attention_on_chip = [&] {
    return cfg.model.attention_on_chip &&
           std::uint64_t{seq_len} * seq_len * kAccBytes <= std::uint64_t{cfg.sfu.score_buffer_kib} * 1024;
  };

  // Builds one operation's program or SFU op right before it runs, so memory holds one operation at a time.
  auto run_gemm = [&](const Op& op) {
    const workloads::GemmParams g = gemm_params(op);
    control::Program prog;
    try {
      if (g.sparse_rows()) {
        sparsity::HpParams hp;
        hp.banks = static_cast<int>(cfg.hp_datapath.bank.banks);
        auto s = workloads::map_sparse_rows_gemm(g, hp, cfg.sim.seed, cfg.pe_array.rows, cfg.act_buffer.half_bytes(),
                                                 cfg.weight_buffer.half_bytes(), cfg.out_buffer.half_bytes());
        prog = std::move(s.program);
        const std::uint64_t base = alloc.take(s.end);
        rebase(prog, base);
        // The walk's timing depends on where the non-zeros are: the decoder needs the real encoded weights.
        top.memory.store().write(base + s.w_address, s.weight_image.data(), s.weight_image.size());
      } else {
        const auto probe = workloads::layout_gemm(g);
        const auto layout = workloads::layout_gemm(g, alloc.take(probe.end));
        prog = workloads::to_program(workloads::plan_gemm(g, cfg.pe_array, cfg.act_buffer.half_bytes(),
                                                          cfg.weight_buffer.half_bytes(),
                                                          cfg.out_buffer.half_bytes(), layout));
      }
    } catch (const InputError& e) {
      throw InputError(fmt::format("model: {}: {}", op.name, e.what()));
    }
    if (attention_on_chip() && op.kind == OpKind::kScores)
      for (auto& w : prog.writebacks) w.on_chip = true;
    if (attention_on_chip() && op.kind == OpKind::kContext)
      for (auto& l : prog.act_loads)
        for (auto& b : l.blocks) b.on_chip = true;
    top.controller.start(std::move(prog));
    sc_core::wait(top.controller.finished());
  };
  auto run_sfu = [&](const Op& op) {
    sfu::SfuOp s;
    s.rows = op.rows;
    s.row_len = op.row_len;
    s.causal = op.causal;
    std::uint32_t in_bytes = kActBytes;
    switch (op.kind) {
      case OpKind::kSoftmax: s.kind = sfu::SfuKind::kSoftmax; in_bytes = kAccBytes; break;
      case OpKind::kGelu: s.kind = sfu::SfuKind::kGelu; in_bytes = kAccBytes; break;
      case OpKind::kResidualAdd: s.kind = sfu::SfuKind::kResidualAdd; in_bytes = kAccBytes; break;
      case OpKind::kLayerNorm: s.kind = sfu::SfuKind::kLayerNorm; break;
      default: throw InputError(fmt::format("model: {}: {} is not simulated yet", op.name, kind_name(op.kind)));
    }
    auto block = [&](std::uint32_t elem_bytes, std::uint64_t local) {
      const std::uint32_t row_bytes = s.row_len * elem_bytes;
      return control::BlockMove{alloc.take(std::uint64_t{s.rows} * row_bytes), s.rows, row_bytes, row_bytes, local};
    };
    s.inputs.push_back(block(in_bytes, 0));
    // The residual add also reads the sub-block's input (int8).
    if (op.kind == OpKind::kResidualAdd) s.inputs.push_back(block(kActBytes, std::uint64_t{s.rows} * s.row_len * in_bytes));
    s.output = block(kActBytes, 0);
    if (attention_on_chip() && op.kind == OpKind::kSoftmax) s.inputs[0].on_chip = s.output.on_chip = true;
    top.sfu.run(s);
  };

  const auto& pe = top.pe_array.engine().counters();
  const auto& hpc = top.hp_datapath.engine().counters();
  top.set_driver([&] {
    for (std::size_t q = 0; q < sequences.size(); ++q)
      for (const Op& op : sequences[q]) {
        seq_len = lengths[q];
        OpRecord r{q, &op, top.clock.now(), 0, top.memory.bytes_transferred(), pe.operand_stall_cycles,
                   pe.out_stall_cycles, pe.drain_stall_cycles, hpc.conflict_cycles, pe.macs + hpc.macs};
        if (workloads::is_gemm(op.kind))
          run_gemm(op);
        else
          run_sfu(op);
        r.end = top.clock.now();
        r.dram_bytes = top.memory.bytes_transferred() - r.dram_bytes;
        r.operand_stall = pe.operand_stall_cycles - r.operand_stall;
        r.out_stall = pe.out_stall_cycles - r.out_stall;
        r.drain_stall = pe.drain_stall_cycles - r.drain_stall;
        r.conflicts = hpc.conflict_cycles - r.conflicts;
        r.pe_macs = pe.macs + hpc.macs - r.pe_macs;
        records.push_back(r);
      }
  });

  const auto t0 = std::chrono::steady_clock::now();
  sc_core::sc_start();
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::size_t total_ops = 0;
  for (const auto& s : sequences) total_ops += s.size();
  if (records.size() != total_ops) throw std::runtime_error("simulation ended before the model finished");

  // Roofline: the array's peak MACs per cycle, and the memory's peak bytes per accelerator cycle.
  const double peak_macs = double(cfg.pe_array.peak_macs_per_cycle());
  const double mem_bytes_per_s =
      cfg.memory.model == "dram"
          ? double(cfg.dram.channels) * cfg.dram.burst_bytes() / cfg.dram.burst_cycles() * cfg.dram.clock_mhz * 1e6
          : double(cfg.fixed_memory.bytes_per_cycle) * cfg.fixed_memory.clock_mhz * 1e6;
  const double peak_bytes = mem_bytes_per_s / (cfg.accel.clock_mhz * 1e6);

  std::string csv =
      "sequence,seq_len,index,name,kind,layer,head,start_cycle,end_cycle,cycles,macs,effective_macs,dram_bytes,"
      "operand_stall_cycles,out_stall_cycles,drain_stall_cycles,bank_conflict_cycles,achieved_macs_per_cycle,"
      "roofline_macs_per_cycle,bound\n";
  std::map<std::string, std::uint64_t> cycles_by_kind;
  struct LayerTotals {
    std::uint64_t cycles = 0, macs = 0, dram_bytes = 0, operand_stall = 0, out_stall = 0, drain_stall = 0,
                  conflicts = 0, sfu_cycles = 0;
  };
  std::vector<LayerTotals> layers(spec.layers);
  std::uint64_t macs = 0, eff = 0, pe_macs = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const OpRecord& r = records[i];
    const Op& op = *r.op;
    const std::uint64_t cyc = r.end - r.start;
    // HP and unstructured GEMMs: the MACs the datapath performed (their density is known once pruned).
    const bool pruned = op.kind == OpKind::kWeightGemm && sparse_rows;
    const std::uint64_t op_eff = pruned ? r.pe_macs : op.effective_macs;
    const double achieved = cyc ? double(op_eff) / double(cyc) : 0.0;
    double roof = 0;
    std::string bound = "-";
    if (op_eff > 0) {
      const double by_memory = r.dram_bytes ? double(op_eff) / double(r.dram_bytes) * peak_bytes : peak_macs;
      roof = std::min(peak_macs, by_memory);
      bound = by_memory < peak_macs ? "memory" : "compute";
    }
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3f},{:.3f},{}\n", r.sequence,
                       lengths[r.sequence], i, op.name, kind_name(op.kind), op.layer, op.head, r.start, r.end, cyc,
                       op.macs, op_eff, r.dram_bytes, r.operand_stall, r.out_stall, r.drain_stall,
                       r.conflicts, achieved, roof, bound);
    cycles_by_kind[kind_name(op.kind)] += cyc;
    LayerTotals& lt = layers[op.layer];
    lt.cycles += cyc;
    lt.macs += op.macs;
    lt.dram_bytes += r.dram_bytes;
    lt.operand_stall += r.operand_stall;
    lt.out_stall += r.out_stall;
    lt.drain_stall += r.drain_stall;
    lt.conflicts += r.conflicts;
    if (!workloads::is_gemm(op.kind)) lt.sfu_cycles += cyc;
    macs += op.macs;
    eff += op_eff;
    pe_macs += r.pe_macs;
  }
  const Cycle cycles = records.back().end;

  nlohmann::ordered_json summary;
  summary["cycles"] = cycles;
  summary["sim_time_ns"] = double(top.clock.fs_at(cycles)) * 1e-6;
  summary["check"] = "off";
  summary["requests"] = sequences.size();
  summary["macs"] = macs;
  summary["effective_macs"] = eff;
  summary["pe_utilization"] = double(pe_macs) / (peak_macs * double(cycles));
  summary["effective_macs_per_cycle"] = double(macs) / double(cycles);
  summary["dram_bytes"] = top.memory.bytes_transferred();
  summary["weight_bytes"] = top.weight_buffer.stats().value("bytes_written");
  summary["bank_conflict_cycles"] = hpc.conflict_cycles;
  for (const auto& [k, v] : cycles_by_kind) summary["cycles_" + k] = v;

  std::string layer_csv =
      "layer,cycles,macs,dram_bytes,operand_stall_cycles,out_stall_cycles,drain_stall_cycles,bank_conflict_cycles,"
      "sfu_cycles\n";
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerTotals& t = layers[l];
    layer_csv += fmt::format("{},{},{},{},{},{},{},{},{}\n", l, t.cycles, t.macs, t.dram_bytes, t.operand_stall,
                             t.out_stall, t.drain_stall, t.conflicts, t.sfu_cycles);
  }
  write_file_atomic(opts.out_dir, "ops.csv", csv);
  write_file_atomic(opts.out_dir, "layers.csv", layer_csv);
  write_results(opts.out_dir, cfg, summary, {{"cycles_per_s", double(cycles) / wall_s}}, wall_s);

  if (!opts.quiet) {
    std::string lens;
    for (auto L : lengths) lens += (lens.empty() ? "" : ",") + std::to_string(L);
    std::cout << fmt::format("tacsim run: {} ({} layers, hidden {}), sequence length {}, weights {}, {} ops\n",
                             spec.name, spec.layers, spec.hidden, lens, cfg.model.weight_sparsity, total_ops);
    auto row = [](const std::string& k, const std::string& v) { std::cout << fmt::format("  {:<22}{}\n", k, v); };
    row("cycles", fmt::format("{}", cycles));
    row("simulated time", fmt::format("{:.3f} us", summary["sim_time_ns"].get<double>() * 1e-3));
    row("PE utilization", fmt::format("{:.1f} %", 100 * summary["pe_utilization"].get<double>()));
    row("MACs (dense-equiv.)", fmt::format("{}", macs));
    row("bytes moved (DRAM)", fmt::format("{}", top.memory.bytes_transferred()));
    for (const auto& [k, v] : cycles_by_kind)
      row("  " + k, fmt::format("{} cycles ({:.1f} %)", v, 100.0 * double(v) / double(cycles)));
    row("wall time", fmt::format("{:.3f} s", wall_s));
    row("sim cycles / s", fmt::format("{:.3g}", double(cycles) / wall_s));
    row("check", "off (model runs are timing only so far)");
    std::cout << fmt::format("  results in {}/ (stats.json, ops.csv, layers.csv, config.ini)\n", opts.out_dir);
  }
  return 0;
}

}  // namespace tacsim::sim
