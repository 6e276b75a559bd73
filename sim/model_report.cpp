#include "sim/model_report.h"

#include <algorithm>
#include <cmath>
#include <iostream>

#include <fmt/format.h>

#include "sim/energy_report.h"
#include "sim/model_workload.h"
#include "sim/stats_dump.h"
#include "sim/summary.h"
#include "workloads/roofline.h"

namespace tacsim::sim {

using workloads::Op;
using workloads::OpKind;

namespace {

std::string kind_name(OpKind k) {
  return workloads::to_string(k);
}

// "layer3.seq2.head5.qk" -> "layer3.head5.qk": the operation of the model graph a batch member's op is.
std::string graph_name(const std::string& name) {
  const auto at = name.find(".seq");
  if (at == std::string::npos) return name;
  const auto end = name.find('.', at + 1);
  return name.substr(0, at) + (end == std::string::npos ? "" : name.substr(end));
}

// Nearest rank: the smallest value that at least p percent of `sorted` do not exceed.
std::uint64_t percentile(const std::vector<std::uint64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * double(sorted.size())));
  return sorted[std::max<std::size_t>(rank, 1) - 1];
}

// What holds an operation (or the operations of one graph node, summed) back most: for the datapath's GEMMs
// the largest of its cycles at peak, its waits for operands, for an output half or the column ports, and for
// the SFU; an SFU operation beside the array is held by the array when it waited for it more than half its
// time.
const char* limited_by(OpKind kind, double cycles_at_peak, std::uint64_t operand_waits,
                       std::uint64_t output_waits, std::uint64_t sfu_wait, bool beside_array,
                       std::uint64_t array_wait, std::uint64_t cycles) {
  if (workloads::is_gemm(kind)) {
    const std::pair<std::uint64_t, const char*> parts[] = {
        {static_cast<std::uint64_t>(cycles_at_peak), "compute"},
        {operand_waits, "operands"},
        {output_waits, "output"},
        {sfu_wait, "sfu"}};
    return std::max_element(std::begin(parts), std::end(parts),
                            [](const auto& a, const auto& b) { return a.first < b.first; })
        ->second;
  }
  if (kind == OpKind::kTopkAttention) return "topk_unit";
  return beside_array && 2 * array_wait > cycles ? "array" : "sfu";
}

}  // namespace

RunReport::RunReport(const SimConfig& cfg, const RunOptions& opts, const workloads::ModelSpec& spec,
                     bool sparse_rows, const ClockDomain& clock)
    : cfg_(cfg),
      opts_(opts),
      spec_(spec),
      sparse_rows_(sparse_rows),
      clock_(clock),
      per_operation_(cfg.sim.workload == "model"),
      requests_csv_(opts.write_dir(), "requests.csv"),
      batches_csv_(opts.write_dir(), "batches.csv"),
      queue_csv_(opts.write_dir(), "queue.csv"),
      engines_csv_(opts.write_dir(), "engines.csv"),
      layers_(spec.layers),
      engine_pe_macs_(cfg.engines.size(), 0),
      busy_run_(cfg.engines.size()),
      busy_open_(cfg.engines.size(), false) {
  // Roofline: the engines' peak MACs per cycle together, and the memory's peak bytes per accelerator cycle.
  for (const engine::Params& e : cfg.engines) peak_macs_ += double(e.pe_array.peak_macs_per_cycle());
  peak_bytes_ = memory_bytes_per_cycle(cfg);
  requests_csv_.write("id,arrival_ns,start_ns,finish_ns,latency_ns,seq_len,padded_len\n");
  batches_csv_.write(
      "batch,slot,admitted_ns,start_ns,finish_ns,requests,tokens,padded_tokens,padding_macs\n");
  queue_csv_.write("time_ns,waiting,in_flight\n");
  engines_csv_.write("engine,start_ns,end_ns\n");
}

std::uint64_t RunReport::ns(Cycle c) const {
  return (clock_.fs_at(c) + 500000) / 1000000;
}

void RunReport::queue_changed(Cycle at, std::size_t waiting, std::size_t in_flight) {
  // Several changes in one cycle: the state after the last of them.
  if (queue_pending_ && at != queue_at_)
    queue_csv_.write(fmt::format("{},{},{}\n", ns(queue_at_), queue_waiting_, queue_in_flight_));
  queue_pending_ = true;
  queue_at_ = at;
  queue_waiting_ = waiting;
  queue_in_flight_ = in_flight;
  max_waiting_ = std::max(max_waiting_, waiting);
}

void RunReport::busy(std::size_t engine, Cycle start, Cycle end) {
  auto& run = busy_run_[engine];
  if (busy_open_[engine] && run.second == start) {
    run.second = end;
    return;
  }
  flush_busy(engine);
  run = {start, end};
  busy_open_[engine] = true;
}

void RunReport::flush_busy(std::size_t engine) {
  if (!busy_open_[engine]) return;
  engines_csv_.write(
      fmt::format("{},{},{}\n", engine, ns(busy_run_[engine].first), ns(busy_run_[engine].second)));
  busy_open_[engine] = false;
}

std::uint64_t RunReport::effective_macs(const OpRecord& r) const {
  // HP and unstructured GEMMs: the MACs the datapath performed (their density is known once pruned).
  return r.op->kind == OpKind::kWeightGemm && sparse_rows_ ? r.pe_macs : r.op->effective_macs;
}

void RunReport::batch_done(const scheduler::Batch& batch, Cycle start, Cycle finish, std::vector<Op> ops,
                           std::vector<OpRecord> records, std::uint64_t padding_macs) {
  // Its requests.
  std::uint32_t tokens = 0;
  for (const scheduler::Member& m : batch.members) {
    const std::uint64_t finish_ns = ns(finish);
    const std::uint64_t latency = finish_ns - std::min(finish_ns, m.request.arrival_ns);
    requests_csv_.write(fmt::format("{},{},{},{},{},{},{}\n", m.request.id, m.request.arrival_ns, ns(start),
                                    finish_ns, latency, m.request.length, m.padded_length));
    latencies_ns_.push_back(latency);
    tokens += m.request.length;
    first_arrival_ = std::min(first_arrival_, m.request.arrival);
  }
  batches_csv_.write(fmt::format("{},{},{},{},{},{},{},{},{}\n", batch.id, batch.slot, ns(batch.admitted),
                                 ns(start), ns(finish), batch.members.size(), tokens, batch.tokens(),
                                 padding_macs));
  tokens_ += tokens;
  padded_tokens_ += batch.tokens();
  padding_macs_ += padding_macs;
  batches_ += 1;
  last_finish_ = std::max(last_finish_, finish);

  // Its operations: per kind, per layer, per operation of the graph (a trace) or kept whole (a model's own).
  std::vector<Cycle> first(spec_.layers, kNever), last(spec_.layers, 0);
  for (const OpRecord& r : records) {
    const Op& op = *r.op;
    ops_done_ += 1;
    KindTotals& kt = by_kind_[kind_name(op.kind)];
    kt.cycles += r.cycles;
    kt.macs += op.macs;
    kt.pe_macs += r.pe_macs;
    kt.dram_bytes += r.dram_bytes;
    const double op_roofline = roofline_cycles(r);
    kt.roofline_cycles += op_roofline;
    roofline_cycles_ += op_roofline;
    sfu_idle_for_array_ += r.array_wait;
    LayerTotals& lt = layers_[op.layer];
    lt.macs += op.macs;
    lt.dram_bytes += r.dram_bytes;
    lt.operand_stall += r.operand_stall;
    lt.out_stall += r.out_stall;
    lt.drain_stall += r.drain_stall;
    lt.conflicts += r.conflicts;
    lt.pe_macs += r.pe_macs;
    if (!workloads::is_gemm(op.kind)) lt.sfu_cycles += r.cycles;
    // The array waits for the SFU: the whole of the operations that run alone (residual, layernorm, GELU),
    // and the pipelined softmax's share (recorded on S.V). A fused epilogue's operations run beside the
    // array: its waits are on their GEMM.
    const bool alone = !r.beside_array && (op.kind == OpKind::kResidualAdd || op.kind == OpKind::kLayerNorm ||
                                           op.kind == OpKind::kGelu);
    lt.sfu_wait += (alone ? r.cycles : 0) + r.sfu_wait;
    first[op.layer] = std::min(first[op.layer], r.start);
    last[op.layer] = std::max(last[op.layer], r.end);
    macs_ += op.macs;
    pe_macs_ += r.pe_macs;
    engine_pe_macs_[r.engine] += r.pe_macs;
    operand_stall_ += r.operand_stall;
    out_stall_ += r.out_stall;
    drain_stall_ += r.drain_stall;
    sfu_only_ += (alone ? r.cycles : 0) + r.sfu_wait;
    if (per_operation_) continue;
    const std::string name = graph_name(op.name);
    auto [it, added] = op_index_.try_emplace(name, op_totals_.size());
    if (added) op_totals_.push_back({name, op.kind, op.layer, op.head, r.engine, r.beside_array});
    OpTotals& t = op_totals_[it->second];
    t.count += 1;
    t.cycles += r.cycles;
    t.macs += op.macs;
    t.effective_macs += effective_macs(r);
    t.dram_bytes += r.dram_bytes;
    t.operand_stall += r.operand_stall;
    t.out_stall += r.out_stall;
    t.drain_stall += r.drain_stall;
    t.conflicts += r.conflicts;
    t.sfu_wait += r.sfu_wait;
    t.array_wait += r.array_wait;
    t.pe_macs += r.pe_macs;
    t.compulsory_bytes += r.compulsory_bytes;
    t.roofline_cycles += op_roofline;
  }
  // A layer's cycles in a batch run from its first operation's start to its last one's end; over several
  // batches they add up.
  for (std::uint32_t l = 0; l < spec_.layers; ++l)
    if (first[l] != kNever) layers_[l].cycles += last[l] - first[l];
  if (per_operation_) kept_.push_back({std::move(ops), std::move(records), batch.tokens()});
}

double RunReport::roofline_cycles(const OpRecord& r) const {
  const double peak = double(cfg_.engines[r.engine].pe_array.peak_macs_per_cycle());
  return workloads::Roofline{peak, peak_bytes_}.cycles(effective_macs(r), r.compulsory_bytes);
}

std::string RunReport::op_row(const OpRecord& r, std::size_t index, std::uint32_t tokens) const {
  const Op& op = *r.op;
  const std::uint64_t op_eff = effective_macs(r);
  const double achieved = r.cycles ? double(op_eff) / double(r.cycles) : 0.0;
  double roof = 0;
  std::string bound = "-";
  if (op_eff > 0) {
    const double by_memory = r.dram_bytes ? double(op_eff) / double(r.dram_bytes) * peak_bytes_ : peak_macs_;
    const double peak = double(cfg_.engines[r.engine].pe_array.peak_macs_per_cycle());
    roof = std::min(peak, by_memory);
    bound = by_memory < peak ? "memory" : "compute";
  }
  const double engine_peak = double(cfg_.engines[r.engine].pe_array.peak_macs_per_cycle());
  const char* limit =
      limited_by(op.kind, double(r.pe_macs) / engine_peak, r.operand_stall + r.conflicts,
                 r.out_stall + r.drain_stall, r.sfu_wait, r.beside_array, r.array_wait, r.cycles);
  return fmt::format(
      "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3f},{:.3f},{},{},{},{:.1f},\"{}\"\n",
      r.sequence, tokens, index, op.name, kind_name(op.kind), op.layer, op.head, r.start, r.end, r.cycles,
      op.macs, op_eff, r.dram_bytes, r.operand_stall, r.out_stall, r.drain_stall, r.conflicts, r.sfu_wait,
      r.array_wait, achieved, roof, bound, limit, r.compulsory_bytes, roofline_cycles(r), r.tiling);
}

std::string RunReport::totals_row(const OpTotals& t) const {
  const double achieved = t.cycles ? double(t.effective_macs) / double(t.cycles) : 0.0;
  const double peak = double(cfg_.engines.front().pe_array.peak_macs_per_cycle());
  double roof = 0;
  std::string bound = "-";
  if (t.effective_macs > 0) {
    const double by_memory =
        t.dram_bytes ? double(t.effective_macs) / double(t.dram_bytes) * peak_bytes_ : peak;
    roof = std::min(peak, by_memory);
    bound = by_memory < peak ? "memory" : "compute";
  }
  const char* limit =
      limited_by(t.kind, double(t.pe_macs) / double(cfg_.engines[t.engine].pe_array.peak_macs_per_cycle()),
                 t.operand_stall + t.conflicts, t.out_stall + t.drain_stall, t.sfu_wait, t.beside_array,
                 t.array_wait, t.cycles);
  return fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3f},{:.3f},{},{},{},{:.1f}\n", t.name,
                     kind_name(t.kind), t.layer, t.head, t.count, t.cycles, t.macs, t.effective_macs,
                     t.dram_bytes, t.operand_stall, t.out_stall, t.drain_stall, t.conflicts, t.sfu_wait,
                     t.array_wait, achieved, roof, bound, limit, t.compulsory_bytes, t.roofline_cycles);
}

void RunReport::finish(const ModelRunTotals& totals) {
  const Cycle cycles = last_finish_;
  const std::size_t engines = cfg_.engines.size();
  if (queue_pending_)
    queue_csv_.write(fmt::format("{},{},{}\n", ns(queue_at_), queue_waiting_, queue_in_flight_));
  for (std::size_t e = 0; e < engines; ++e) flush_busy(e);

  std::string csv;
  if (per_operation_) {
    csv =
        "sequence,seq_len,index,name,kind,layer,head,start_cycle,end_cycle,cycles,macs,effective_macs,dram_"
        "bytes,"
        "operand_stall_cycles,out_stall_cycles,drain_stall_cycles,bank_conflict_cycles,sfu_wait_cycles,"
        "array_wait_cycles,achieved_macs_per_cycle,roofline_macs_per_cycle,bound,limited_by,compulsory_bytes,"
        "roofline_cycles,tiling\n";
    std::sort(kept_.begin(), kept_.end(), [](const KeptBatch& a, const KeptBatch& b) {
      return a.records.front().sequence < b.records.front().sequence;
    });
    std::size_t index = 0;
    for (const KeptBatch& b : kept_)
      for (const OpRecord& r : b.records) csv += op_row(r, index++, b.tokens);
  } else {
    csv =
        "name,kind,layer,head,count,cycles,macs,effective_macs,dram_bytes,operand_stall_cycles,out_stall_"
        "cycles,"
        "drain_stall_cycles,bank_conflict_cycles,sfu_wait_cycles,array_wait_cycles,achieved_macs_per_cycle,"
        "roofline_macs_per_cycle,bound,limited_by,compulsory_bytes,roofline_cycles\n";
    for (const OpTotals& t : op_totals_) csv += totals_row(t);
  }

  // Where the cycles went, over every engine's cycles: the named parts, the engines idle without a task,
  // and the rest.
  std::uint64_t busy = 0, bubbles = 0;
  for (const auto& c : totals.engines) busy += c.busy_cycles, bubbles += c.bubble_cycles;
  const double peak = peak_macs_;
  MacFigures mac_figures{macs_, pe_macs_, peak, engines == 1 ? "the PE array" : "the engines' PE arrays"};
  CycleBreakdown breakdown;
  breakdown.cycles = cycles * engines;
  double at_peak = 0;  // engine-cycles the MACs performed would take at each engine's peak
  for (std::size_t e = 0; e < engines; ++e)
    at_peak += double(engine_pe_macs_[e]) / double(cfg_.engines[e].pe_array.peak_macs_per_cycle());
  breakdown.peak_compute = static_cast<std::uint64_t>(at_peak);
  breakdown.operand_stall = operand_stall_;
  breakdown.out_stall = out_stall_;
  breakdown.drain_stall = drain_stall_;
  breakdown.sfu_only = sfu_only_;
  breakdown.idle = cycles * engines - std::min<std::uint64_t>(busy, cycles * engines);

  std::sort(latencies_ns_.begin(), latencies_ns_.end());
  const double span_s =
      double(clock_.fs_at(cycles) - clock_.fs_at(first_arrival_ == kNever ? 0 : first_arrival_)) * 1e-15;
  const double sim_time_ns = double(clock_.fs_at(cycles)) * 1e-6;

  nlohmann::ordered_json summary;
  summary["cycles"] = cycles;
  summary["sim_time_ns"] = sim_time_ns;
  summary["check"] = totals.check;
  if (totals.check != "off") summary["check_mismatches"] = totals.check_mismatches;
  summary["requests"] = latencies_ns_.size();
  summary["batches"] = batches_;
  summary["tokens"] = tokens_;
  summary["throughput_seq_per_s"] = span_s > 0 ? double(latencies_ns_.size()) / span_s : 0.0;
  summary["throughput_tokens_per_s"] = span_s > 0 ? double(tokens_) / span_s : 0.0;
  summary["latency_ns_p50"] = percentile(latencies_ns_, 50);
  summary["latency_ns_p95"] = percentile(latencies_ns_, 95);
  summary["latency_ns_p99"] = percentile(latencies_ns_, 99);
  summary["latency_ns_max"] = latencies_ns_.empty() ? 0 : latencies_ns_.back();
  summary["padding_macs"] = padding_macs_;
  summary["padded_tokens"] = padded_tokens_ - tokens_;
  summary["max_waiting_requests"] = max_waiting_;
  if (totals.trace) {
    summary["truncated_requests"] = totals.truncated;
    summary["dropped_requests"] = totals.dropped;
  }
  summary["bubble_cycles"] = bubbles;
  for (std::size_t e = 0; e < engines; ++e) {
    const auto& c = totals.engines[e];
    const std::string p = "engine" + std::to_string(e) + "_";
    summary[p + "busy_cycles"] = c.busy_cycles;
    summary[p + "utilization"] = cycles ? double(c.busy_cycles) / double(cycles) : 0.0;
    summary[p + "bubble_cycles"] = c.bubble_cycles;
  }
  mac_figures.add_to(summary, cycles);
  summary["dram_bytes"] = totals.dram_bytes;
  summary["weight_bytes"] = totals.weight_bytes;
  summary["bank_conflict_cycles"] = totals.bank_conflict_cycles;
  breakdown.add_to(summary);
  summary["sfu_idle_for_array_cycles"] = sfu_idle_for_array_;
  summary["roofline_cycles"] = roofline_cycles_;
  summary["roofline_fraction"] = cycles ? roofline_cycles_ / double(cycles) : 0.0;
  // Per kind, flat: busy_cycles_<kind> (operations of a kind may overlap others: these add up to more than
  // the run), dense_macs_<kind>, dram_bytes_<kind>, and for the PE array's kinds pe_utilization_<kind>
  // (performed MACs over one engine's peak during that kind's busy cycles).
  const double engine_peak = double(cfg_.engines.front().pe_array.peak_macs_per_cycle());
  for (const auto& [k, v] : by_kind_) {
    summary["busy_cycles_" + k] = v.cycles;
    summary["dense_macs_" + k] = v.macs;
    summary["dram_bytes_" + k] = v.dram_bytes;
    summary["roofline_cycles_" + k] = v.roofline_cycles;
    if (v.pe_macs > 0 && v.cycles > 0)
      summary["pe_utilization_" + k] = double(v.pe_macs) / (engine_peak * double(v.cycles));
  }

  std::string layer_csv =
      "layer,cycles,macs,dram_bytes,operand_stall_cycles,out_stall_cycles,drain_stall_cycles,bank_conflict_"
      "cycles,"
      "sfu_cycles,sfu_wait_cycles,pe_utilization\n";
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const LayerTotals& t = layers_[l];
    layer_csv +=
        fmt::format("{},{},{},{},{},{},{},{},{},{},{:.4f}\n", l, t.cycles, t.macs, t.dram_bytes,
                    t.operand_stall, t.out_stall, t.drain_stall, t.conflicts, t.sfu_cycles, t.sfu_wait,
                    t.cycles ? double(t.pe_macs) / (engine_peak * double(t.cycles)) : 0.0);
  }
  write_file_atomic(opts_.write_dir(), "ops.csv", csv);
  write_file_atomic(opts_.write_dir(), "layers.csv", layer_csv);
  for (StreamedFile* f : {&requests_csv_, &batches_csv_, &queue_csv_, &engines_csv_}) f->commit();
  const auto stats = write_results(
      opts_.write_dir(), cfg_, summary,
      {{"cycles_per_s", double(cycles) / totals.wall_s}, {"reference_wall_s", totals.reference_wall_s}},
      totals.wall_s);

  if (opts_.quiet) return;
  auto row = [](const std::string& k, const std::string& v) { std::cout << summary_row(k, v); };
  if (totals.trace)
    std::cout << fmt::format(
        "tacsim run: {} ({} layers, hidden {}), trace {}, weights {}, {} policy, {} engine{}\n", spec_.name,
        spec_.layers, spec_.hidden, cfg_.trace.file, cfg_.model.weights.text(), cfg_.scheduler.policy,
        engines, engines == 1 ? "" : "s");
  else
    std::cout << fmt::format(
        "tacsim run: {} ({} layers, hidden {}), sequence length {}, weights {}, {} ops\n", spec_.name,
        spec_.layers, spec_.hidden, cfg_.model.seq_lens, cfg_.model.weights.text(), ops_done_);
  row("cycles", fmt::format("{}  ({:.3f} us at {:g} MHz)", cycles, sim_time_ns * 1e-3, cfg_.accel.clock_mhz));
  if (totals.trace || latencies_ns_.size() > 1) {
    row("requests",
        fmt::format("{} in {} batches ({:.1f} tokens a batch, {} of them padding)", latencies_ns_.size(),
                    batches_, batches_ ? double(padded_tokens_) / double(batches_) : 0.0,
                    padded_tokens_ - tokens_));
    row("throughput",
        fmt::format("{:.1f} sequences/s, {:.0f} tokens/s", summary["throughput_seq_per_s"].get<double>(),
                    summary["throughput_tokens_per_s"].get<double>()));
    row("latency",
        fmt::format("p50 {:.3f} ms, p95 {:.3f} ms, p99 {:.3f} ms, max {:.3f} ms (arrival to finish)",
                    percentile(latencies_ns_, 50) * 1e-6, percentile(latencies_ns_, 95) * 1e-6,
                    percentile(latencies_ns_, 99) * 1e-6,
                    (latencies_ns_.empty() ? 0 : latencies_ns_.back()) * 1e-6));
    for (std::size_t e = 0; e < engines; ++e)
      row("engine" + std::to_string(e),
          fmt::format("busy {:.1f} % of the run; {:.1f} % idle while requests waited (bubbles)",
                      100.0 * summary["engine" + std::to_string(e) + "_utilization"].get<double>(),
                      cycles ? 100.0 * double(totals.engines[e].bubble_cycles) / double(cycles) : 0.0));
    if (padding_macs_ > 0) row("padding", fmt::format("{} MACs on padded tokens", padding_macs_));
    if (totals.truncated + totals.dropped > 0)
      row("trace", fmt::format("{} requests truncated, {} dropped (trace.over_max = {})", totals.truncated,
                               totals.dropped, cfg_.trace.over_max));
  }
  std::cout << mac_figures.describe(cycles);
  row("bytes moved (DRAM)", fmt::format("{}", totals.dram_bytes));
  row("roofline bound",
      fmt::format("{:.0f} cycles: the run reaches {:.1f} % of it (per operation, the larger of "
                  "MACs at peak and each operand moved once at peak bandwidth)",
                  roofline_cycles_, 100.0 * summary["roofline_fraction"].get<double>()));
  std::cout << breakdown.describe(cfg_.engines.front().pe_array.peak_macs_per_cycle());
  std::cout << "  busy cycles per kind (operations overlap, e.g. the softmax beside the array: more than the "
               "run)\n";
  for (const auto& [k, v] : by_kind_)
    std::cout << fmt::format("    {:<26}{:>12}{}\n", k, v.cycles,
                             v.pe_macs > 0
                                 ? fmt::format("  PE utilization {:.1f} %",
                                               100.0 * double(v.pe_macs) / (engine_peak * double(v.cycles)))
                                 : std::string());
  std::cout << describe_energy(stats);
  row("wall time", fmt::format("{:.3f} s", totals.wall_s));
  row("sim cycles / s", fmt::format("{:.3g}", double(cycles) / totals.wall_s));
  if (totals.check == "pass")
    row("check", fmt::format("pass (every layer's output equals the C++ reference, {:.2f} s)",
                             totals.reference_wall_s));
  else if (totals.check != "off")
    row("check",
        fmt::format("FAIL: {} mismatches; first: {}", totals.check_mismatches, totals.check.substr(6)));
  else
    row("check", "off (timing only; --check compares every layer with a C++ reference)");
  std::cout << fmt::format("  results in {}/ (stats.json, requests.csv, ops.csv, layers.csv, config.ini)\n",
                           opts_.out_dir);
}

}  // namespace tacsim::sim
