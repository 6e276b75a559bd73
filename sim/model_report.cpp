#include "sim/energy_report.h"
#include "sim/model_report.h"

#include <algorithm>
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "sim/output.h"
#include "sim/stats_dump.h"
#include "sim/summary.h"
#include "workloads/roofline.h"

namespace tacsim::sim {

using workloads::Op;
using workloads::OpKind;

void report_model_run(const SimConfig& cfg, const RunOptions& opts, const workloads::ModelSpec& spec,
                      const std::vector<std::uint32_t>& lengths, const std::vector<const OpRecord*>& records,
                      bool sparse_rows, const ModelRunTotals& totals) {
  auto kind_name = [](OpKind k) { return std::string(workloads::to_string(k)); };
  // Roofline: the array's peak MACs per cycle, and the memory's peak bytes per accelerator cycle.
  const double peak_macs = double(cfg.pe_array.peak_macs_per_cycle());
  const double peak_bytes = cfg.memory_peak_bytes_per_s() / (cfg.accel.clock_mhz * 1e6);
  const workloads::Roofline roofline{peak_macs, peak_bytes};

  std::string csv =
      "sequence,seq_len,index,name,kind,layer,head,start_cycle,end_cycle,cycles,macs,effective_macs,dram_bytes,"
      "operand_stall_cycles,out_stall_cycles,drain_stall_cycles,bank_conflict_cycles,sfu_wait_cycles,"
      "array_wait_cycles,achieved_macs_per_cycle,roofline_macs_per_cycle,bound,limited_by,compulsory_bytes,"
      "roofline_cycles,tiling\n";
  // Per operation kind: cycles, dense-equivalent MACs, the MACs the datapath performed, DRAM bytes.
  struct KindTotals {
    std::uint64_t cycles = 0, macs = 0, pe_macs = 0, dram_bytes = 0;
    double roofline_cycles = 0;
  };
  std::map<std::string, KindTotals> by_kind;
  struct LayerTotals {
    std::uint64_t cycles = 0, macs = 0, dram_bytes = 0, operand_stall = 0, out_stall = 0, drain_stall = 0,
                  conflicts = 0, sfu_cycles = 0, sfu_wait = 0, pe_macs = 0;
  };
  std::vector<LayerTotals> layers(spec.layers);
  std::uint64_t macs = 0, pe_macs = 0;
  double roofline_cycles = 0;
  std::uint64_t sfu_idle_for_array = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const OpRecord& r = *records[i];
    const Op& op = *r.op;
    const std::uint64_t cyc = r.cycles;
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
    const double op_roofline = roofline.cycles(op_eff, r.compulsory_bytes);
    // What holds the operation back most: for the datapath's GEMMs the largest of its cycles at peak, its
    // waits for operands, for an output half or the column ports, and for the SFU; an SFU operation beside
    // the array is held by the array when it waited for it more than half its time.
    std::string limited_by = "sfu";
    if (workloads::is_gemm(op.kind)) {
      const std::pair<std::uint64_t, const char*> parts[] = {
          {static_cast<std::uint64_t>(double(r.pe_macs) / peak_macs), "compute"},
          {r.operand_stall + r.conflicts, "operands"},
          {r.out_stall + r.drain_stall, "output"},
          {r.sfu_wait, "sfu"}};
      limited_by = std::max_element(std::begin(parts), std::end(parts),
                                    [](const auto& a, const auto& b) { return a.first < b.first; })->second;
    } else if (op.kind == OpKind::kTopkAttention) {
      limited_by = "topk_unit";
    } else if (r.beside_array && 2 * r.array_wait > cyc) {
      limited_by = "array";
    }
    csv += fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3f},{:.3f},{},{},{},{:.1f},\"{}\"\n", r.sequence,
        lengths[r.sequence], i, op.name, kind_name(op.kind), op.layer, op.head, r.start, r.end, cyc, op.macs, op_eff,
        r.dram_bytes, r.operand_stall, r.out_stall, r.drain_stall, r.conflicts, r.sfu_wait, r.array_wait, achieved,
        roof, bound, limited_by, r.compulsory_bytes, op_roofline, r.tiling);
    sfu_idle_for_array += r.array_wait;
    roofline_cycles += op_roofline;
    KindTotals& kt = by_kind[kind_name(op.kind)];
    kt.cycles += cyc;
    kt.macs += op.macs;
    kt.pe_macs += r.pe_macs;
    kt.dram_bytes += r.dram_bytes;
    kt.roofline_cycles += op_roofline;
    LayerTotals& lt = layers[op.layer];
    lt.macs += op.macs;
    lt.dram_bytes += r.dram_bytes;
    lt.operand_stall += r.operand_stall;
    lt.out_stall += r.out_stall;
    lt.drain_stall += r.drain_stall;
    lt.conflicts += r.conflicts;
    lt.pe_macs += r.pe_macs;
    if (!workloads::is_gemm(op.kind)) lt.sfu_cycles += cyc;
    // The array waits for the SFU: the whole of the operations that run alone (residual, layernorm, GELU),
    // and the pipelined softmax's share (recorded on S.V).
    // A fused epilogue's operations run beside the array: its waits are on their GEMM.
    const bool alone = !r.beside_array && (op.kind == OpKind::kResidualAdd || op.kind == OpKind::kLayerNorm ||
                                           op.kind == OpKind::kGelu);
    lt.sfu_wait += (alone ? cyc : 0) + r.sfu_wait;
    macs += op.macs;
    pe_macs += r.pe_macs;
  }
  Cycle cycles = 0;
  for (const OpRecord* r : records) cycles = std::max(cycles, r->end);
  // Layers of one sequence follow each other; over several sequences a layer's cycles add up.
  // A layer's cycles run from its first operation's start to its last one's end (operations overlap).
  {
    std::vector<Cycle> first(spec.layers, kNever), last(spec.layers, 0);
    std::size_t seq = records.empty() ? 0 : records.front()->sequence;
    auto flush = [&] {
      for (std::uint32_t l = 0; l < spec.layers; ++l)
        if (first[l] != kNever) layers[l].cycles += last[l] - first[l];
      std::fill(first.begin(), first.end(), kNever);
      std::fill(last.begin(), last.end(), Cycle{0});
    };
    for (const OpRecord* r : records) {
      if (r->sequence != seq) flush(), seq = r->sequence;
      first[r->op->layer] = std::min(first[r->op->layer], r->start);
      last[r->op->layer] = std::max(last[r->op->layer], r->end);
    }
    flush();
  }

  MacFigures mac_figures{macs, pe_macs, peak_macs, "the PE array"};
  CycleBreakdown breakdown;
  breakdown.cycles = cycles;
  breakdown.peak_compute = static_cast<std::uint64_t>(double(pe_macs) / peak_macs);
  for (const auto& lt : layers) {
    breakdown.operand_stall += lt.operand_stall;
    breakdown.out_stall += lt.out_stall;
    breakdown.drain_stall += lt.drain_stall;
    breakdown.sfu_only += lt.sfu_wait;
  }

  nlohmann::ordered_json summary;
  summary["cycles"] = cycles;
  summary["sim_time_ns"] = totals.sim_time_ns;
  summary["check"] = totals.check;
  if (totals.check != "off") summary["check_mismatches"] = totals.check_mismatches;
  summary["requests"] = lengths.size();
  mac_figures.add_to(summary, cycles);
  summary["dram_bytes"] = totals.dram_bytes;
  summary["weight_bytes"] = totals.weight_bytes;
  summary["bank_conflict_cycles"] = totals.bank_conflict_cycles;
  breakdown.add_to(summary);
  summary["sfu_idle_for_array_cycles"] = sfu_idle_for_array;
  summary["roofline_cycles"] = roofline_cycles;
  summary["roofline_fraction"] = cycles ? roofline_cycles / double(cycles) : 0.0;
  // Per kind, flat: busy_cycles_<kind> (operations of a kind may overlap others: these add up to more than
  // the run), dense_macs_<kind>, dram_bytes_<kind>, and for the PE array's kinds pe_utilization_<kind>
  // (performed MACs over the array's peak during that kind's busy cycles).
  for (const auto& [k, v] : by_kind) {
    summary["busy_cycles_" + k] = v.cycles;
    summary["dense_macs_" + k] = v.macs;
    summary["dram_bytes_" + k] = v.dram_bytes;
    summary["roofline_cycles_" + k] = v.roofline_cycles;
    if (v.pe_macs > 0 && v.cycles > 0) summary["pe_utilization_" + k] = double(v.pe_macs) / (peak_macs * double(v.cycles));
  }

  std::string layer_csv =
      "layer,cycles,macs,dram_bytes,operand_stall_cycles,out_stall_cycles,drain_stall_cycles,bank_conflict_cycles,"
      "sfu_cycles,sfu_wait_cycles,pe_utilization\n";
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerTotals& t = layers[l];
    layer_csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{:.4f}\n", l, t.cycles, t.macs, t.dram_bytes,
                             t.operand_stall, t.out_stall, t.drain_stall, t.conflicts, t.sfu_cycles, t.sfu_wait,
                             t.cycles ? double(t.pe_macs) / (peak_macs * double(t.cycles)) : 0.0);
  }
  write_file_atomic(opts.write_dir(), "ops.csv", csv);
  write_file_atomic(opts.write_dir(), "layers.csv", layer_csv);
  const auto stats = write_results(opts.write_dir(), cfg, summary,
                {{"cycles_per_s", double(cycles) / totals.wall_s}, {"reference_wall_s", totals.reference_wall_s}},
                totals.wall_s);

  if (!opts.quiet) {
    std::string lens;
    for (auto L : lengths) lens += (lens.empty() ? "" : ",") + std::to_string(L);
    std::cout << fmt::format("tacsim run: {} ({} layers, hidden {}), sequence length {}, weights {}, {} ops\n",
                             spec.name, spec.layers, spec.hidden, lens, cfg.model.weights.text(), records.size());
    auto row = [](const std::string& k, const std::string& v) { std::cout << summary_row(k, v); };
    row("cycles", fmt::format("{}  ({:.3f} us at {:g} MHz)", cycles, summary["sim_time_ns"].get<double>() * 1e-3,
                              cfg.accel.clock_mhz));
    std::cout << mac_figures.describe(cycles);
    row("bytes moved (DRAM)", fmt::format("{}", totals.dram_bytes));
    row("roofline bound", fmt::format("{:.0f} cycles: the run reaches {:.1f} % of it (per operation, the larger of "
                                      "MACs at peak and each operand moved once at peak bandwidth)",
                                      roofline_cycles, 100.0 * summary["roofline_fraction"].get<double>()));
    std::cout << breakdown.describe(peak_macs);
    std::cout << "  busy cycles per kind (operations overlap, e.g. the softmax beside the array: more than the run)\n";
    for (const auto& [k, v] : by_kind)
      std::cout << fmt::format("    {:<26}{:>12}{}\n", k, v.cycles,
                               v.pe_macs > 0 ? fmt::format("  PE utilization {:.1f} %",
                                                           100.0 * double(v.pe_macs) / (peak_macs * double(v.cycles)))
                                             : std::string());
    std::cout << describe_energy(stats);
    row("wall time", fmt::format("{:.3f} s", totals.wall_s));
    row("sim cycles / s", fmt::format("{:.3g}", double(cycles) / totals.wall_s));
    if (totals.check == "pass")
      row("check", fmt::format("pass (every layer's output equals the C++ reference, {:.2f} s)",
                               totals.reference_wall_s));
    else if (totals.check != "off")
      row("check", fmt::format("FAIL: {} mismatches; first: {}", totals.check_mismatches, totals.check.substr(6)));
    else
      row("check", "off (timing only; --check compares every layer with a C++ reference)");
    std::cout << fmt::format("  results in {}/ (stats.json, ops.csv, layers.csv, config.ini)\n", opts.out_dir);
  }
}

}  // namespace tacsim::sim
