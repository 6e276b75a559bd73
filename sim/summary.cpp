#include "sim/summary.h"

#include <map>
#include <stdexcept>

#include <fmt/format.h>

namespace tacsim::sim {

namespace {

struct FigureInfo {
  const char* unit;
  const char* description;
};

// Every summary figure a command writes (DESIGN.md section 6), with its unit and meaning.
const std::map<std::string, FigureInfo>& figures() {
  static const std::map<std::string, FigureInfo> table = {
      {"cycles", {"cycles", "the run's length in accelerator cycles (memtest: DRAM cycles)"}},
      {"sim_time_ns", {"ns", "the run's length in simulated time"}},
      {"check", {"", "values against the C++ reference: pass, fail: <first mismatch>, or off"}},
      {"check_mismatches", {"values", "outputs that differ from the reference"}},
      {"requests", {"requests", "sequences (model and trace runs) or memory requests (memtest) served"}},
      {"dense_macs", {"MACs", "multiply-accumulates of the dense computation"}},
      {"macs",
       {"MACs",
        "multiply-accumulates the PE array and the HP datapath performed (sparse weights skip the pruned "
        "ones; the top-k unit's are not counted)"}},
      {"pe_utilization", {"", "macs / (peak MACs per cycle x cycles): how busy the multipliers were"}},
      {"effective_macs_per_cycle", {"MACs/cycle", "dense_macs / cycles: throughput in dense MACs"}},
      {"dram_bytes", {"bytes", "bytes moved between the memory and the accelerator"}},
      {"weight_bytes", {"bytes", "bytes written into the weight buffer (compressed weights and indices)"}},
      {"bank_conflict_cycles",
       {"cycles", "cycles the HP datapath's reads waited on activation-buffer banks"}},
      {"peak_compute_cycles", {"cycles", "macs / peak MACs per cycle: the run's compute bound"}},
      {"operand_stall_cycles", {"cycles", "cycles the PE array waited for operands to load"}},
      {"out_stall_cycles", {"cycles", "cycles the PE array waited for a free output half"}},
      {"drain_stall_cycles", {"cycles", "cycles results waited for the array's column output ports"}},
      {"sfu_only_cycles", {"cycles", "cycles the PE array sat idle while the SFU worked"}},
      {"idle_cycles",
       {"cycles", "engine-cycles without a task: waiting for requests, or for a stage's work"}},
      {"batches", {"batches", "batches run (sequences admitted together)"}},
      {"tokens", {"tokens", "tokens of the sequences served, without padding (model and trace runs)"}},
      {"throughput_seq_per_s",
       {"sequences/s", "requests / (last finish - first arrival): the rate the run served"}},
      {"throughput_tokens_per_s",
       {"tokens/s", "the requests' tokens (unpadded) / (last finish - first arrival)"}},
      {"latency_ns_p50", {"ns", "median request latency, arrival to finish (nearest rank)"}},
      {"latency_ns_p95", {"ns", "95th percentile request latency (nearest rank)"}},
      {"latency_ns_p99", {"ns", "99th percentile request latency (nearest rank)"}},
      {"latency_ns_max", {"ns", "the longest request latency"}},
      {"padding_macs",
       {"MACs",
        "effective MACs spent on padded tokens: padded batches' MACs less the same batches' unpadded"}},
      {"padded_tokens", {"tokens", "padding tokens computed like real ones (padded policy)"}},
      {"max_waiting_requests", {"requests", "the longest queue of requests waiting for a batch"}},
      {"truncated_requests",
       {"requests", "trace requests cut to the model's maximum length (trace.over_max)"}},
      {"dropped_requests",
       {"requests", "trace requests skipped for exceeding the model's maximum (trace.over_max)"}},
      {"bubble_cycles",
       {"cycles", "engine-cycles without a task while some request that had arrived still had work"}},
      {"other_cycles",
       {"cycles", "the rest of the run: pipeline fill and drain, partial tiles, DMA between operations"}},
      {"bandwidth_gbps", {"GB/s", "bytes moved / simulated time"}},
      {"peak_bandwidth_gbps", {"GB/s", "the DRAM's peak: channels x bus width x data rate"}},
      {"read_latency_ns_mean", {"ns", "mean read latency, request accepted to data returned"}},
      {"read_latency_ns_p99", {"ns", "99th percentile of the read latency"}},
      {"row_hit_rate", {"", "column accesses that found their row open"}},
      // Energy and area (sim/energy_report.h), priced by the energy.table.
      {"energy_pj", {"pJ", "energy of every priced action: stats.json energy has it by module and action"}},
      {"area_mm2", {"mm^2", "on-chip area of the priced units: stats.json area has it by module"}},
      {"power_w", {"W", "energy_pj / sim_time_ns: average power"}},
      {"energy_pj_per_sequence", {"pJ", "energy_pj / requests"}},
      {"energy_pj_per_token", {"pJ", "energy_pj / tokens of every sequence"}},
      {"energy_pj_per_mac", {"pJ/MAC", "energy_pj / macs: everything, DRAM included, per MAC performed"}},
      {"tops_per_w", {"TOPS/W", "2 x macs / energy: operations performed per joule, in 1e12"}},
      {"effective_tops_per_w", {"TOPS/W", "2 x dense_macs / energy: in the dense computation's operations"}},
      {"dram_pj_per_bit", {"pJ/bit", "the DRAM's energy (commands, refresh, standby) / bits it moved"}},
      {"edp_j_s", {"J s", "energy-delay product: energy x simulated time"}},
      {"sfu_idle_for_array_cycles",
       {"cycles",
        "fused epilogues (sfu.fuse_epilogues): cycles the SFU sat idle waiting for the array's next "
        "block of outputs (the array's waits for the SFU are in sfu_only_cycles)"}},
      // The roofline bound (workloads/roofline.h).
      {"roofline_cycles",
       {"cycles",
        "sum over operations of max(effective MACs / peak MACs per cycle, compulsory DRAM bytes / peak "
        "bytes per cycle): each operand read once, each result written once"}},
      {"roofline_fraction", {"", "roofline_cycles / cycles: how close the run comes to its roofline bound"}},
  };
  return table;
}

// Per engine: engine<i>_<suffix>.
const std::map<std::string, FigureInfo>& per_engine_figures() {
  static const std::map<std::string, FigureInfo> table = {
      {"_busy_cycles", {"cycles", "cycles this engine ran a task"}},
      {"_utilization", {"", "busy cycles / the run's cycles"}},
      {"_bubble_cycles", {"cycles", "cycles this engine had no task while some arrived request had work"}},
  };
  return table;
}

// Per operation kind (model runs): <prefix><kind>.
const std::map<std::string, FigureInfo>& per_kind_figures() {
  static const std::map<std::string, FigureInfo> table = {
      {"busy_cycles_", {"cycles", "cycles operations of this kind were busy (kinds overlap)"}},
      {"dense_macs_", {"MACs", "dense MACs of this kind's operations"}},
      {"dram_bytes_", {"bytes", "DRAM bytes of this kind's operations"}},
      {"pe_utilization_", {"", "performed MACs / (peak x busy cycles) of this kind's operations"}},
      {"roofline_cycles_", {"cycles", "the roofline bound of this kind's operations (roofline_cycles)"}},
  };
  return table;
}

}  // namespace

nlohmann::ordered_json summary_schema(const nlohmann::ordered_json& summary) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [key, value] : summary.items()) {
    const FigureInfo* info = nullptr;
    if (const auto it = figures().find(key); it != figures().end()) info = &it->second;
    for (const auto& [prefix, i] : per_kind_figures())
      if (!info && key.rfind(prefix, 0) == 0) info = &i;
    if (!info && key.rfind("engine", 0) == 0)
      for (const auto& [suffix, i] : per_engine_figures())
        if (key.size() > suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0)
          info = &i;
    if (!info)
      throw std::logic_error("summary figure '" + key + "' has no unit and description in sim/summary.cpp");
    out[key] = {{"unit", info->unit}, {"description", info->description}};
  }
  return out;
}

std::string summary_row(const std::string& name, const std::string& value) {
  return fmt::format("  {:<22}{}\n", name, value);
}

namespace {
std::uint64_t named(const CycleBreakdown& b) {
  return b.peak_compute + b.operand_stall + b.out_stall + b.drain_stall + b.sfu_only + b.idle;
}
}  // namespace

std::uint64_t CycleBreakdown::other() const {
  return overlapping() ? 0 : cycles - named(*this);
}

bool CycleBreakdown::overlapping() const {
  return named(*this) > cycles;
}

void CycleBreakdown::add_to(nlohmann::ordered_json& summary) const {
  summary["peak_compute_cycles"] = peak_compute;
  summary["operand_stall_cycles"] = operand_stall;
  summary["out_stall_cycles"] = out_stall;
  summary["drain_stall_cycles"] = drain_stall;
  summary["sfu_only_cycles"] = sfu_only;
  summary["idle_cycles"] = idle;
  summary["other_cycles"] = other();
}

std::string CycleBreakdown::describe(double peak_macs_per_cycle) const {
  const double run = cycles ? double(cycles) : 1.0;
  auto line = [&](const std::string& what, std::uint64_t c, const std::string& why) {
    return fmt::format("    {:<26}{:>12}  {:5.1f} %  {}\n", what, c, 100.0 * double(c) / run, why);
  };
  std::string s = overlapping()
                      ? "  where the cycles go (these overlap: the SFU ran beside stalled array work)\n"
                      : "  where the cycles go (adds up to the run)\n";
  s += line("PE array at peak", peak_compute,
            fmt::format("MACs performed / {:g} per cycle", peak_macs_per_cycle));
  s += line("operands late", operand_stall, "the array waits for a load (DRAM, DMA)");
  s += line("output buffer full", out_stall, "no free output half: write-back is slow");
  s += line("column ports busy", drain_stall, "results queue for the array's output ports");
  s += line("SFU alone", sfu_only, "array idle: GELU, layernorm, residual; softmax not hidden");
  if (idle > 0) s += line("engine without a task", idle, "waiting for requests, or for its stage's work");
  s += line("fill, drain, gaps", other(), "pipeline fill/drain, partial tiles, DMA between ops");
  return s;
}

void MacFigures::add_to(nlohmann::ordered_json& summary, Cycle cycles) const {
  summary["dense_macs"] = dense_macs;
  summary["macs"] = macs;
  summary["pe_utilization"] = cycles ? double(macs) / (peak_macs_per_cycle * double(cycles)) : 0.0;
  summary["effective_macs_per_cycle"] = cycles ? double(dense_macs) / double(cycles) : 0.0;
}

std::string MacFigures::describe(Cycle cycles) const {
  const double c = cycles ? double(cycles) : 1.0;
  std::string s =
      summary_row("MACs", fmt::format("{} performed, {} in the dense computation{}", macs, dense_macs,
                                      macs < dense_macs ? " (sparse weights skip the rest)" : ""));
  s += summary_row(
      "PE utilization",
      fmt::format("{:.1f} %  = MACs performed / ({:g} per cycle of {} x cycles)",
                  100.0 * double(macs) / (peak_macs_per_cycle * c), peak_macs_per_cycle, peak_what));
  s += summary_row("effective MACs/cycle", fmt::format("{:.1f}  = dense MACs / cycles ({:g}: dense at peak)",
                                                       double(dense_macs) / c, peak_macs_per_cycle));
  return s;
}

}  // namespace tacsim::sim
