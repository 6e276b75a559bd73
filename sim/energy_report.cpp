#include "sim/energy_report.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <numeric>

#include <fmt/format.h>

#include "modules/common/data_files.h"
#include "modules/common/error.h"
#include "modules/common/text.h"
#include "modules/energy/dram_energy.h"
#include "modules/energy/energy_model.h"
#include "sim/summary.h"

namespace tacsim::sim {

namespace {

using energy::CostTable;
using energy::Ledger;
using Json = nlohmann::ordered_json;

// The last part of a hierarchical name: "accel.engine0.pe_array" -> "pe_array".
std::string leaf(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

double count(const Json& group, const char* name) {
  return group.contains(name) && group[name].is_number() ? group[name].get<double>() : 0.0;
}

// One ping-pong half is its own SRAM; the activation buffer's half is split into the HP bank map's banks.
struct SramShape {
  double kib = 0;
  std::uint32_t banks = 1;  // over the whole buffer
  double bank_kib() const { return kib / banks; }
};

SramShape buffer_shape(const engine::Params& e, const std::string& name) {
  if (name == "act_buffer") return {double(e.act_buffer.capacity_kib), 2 * e.hp_datapath.bank.banks};
  if (name == "weight_buffer") return {double(e.weight_buffer.capacity_kib), 2};
  return {double(e.out_buffer.capacity_kib), 2};
}

// The units of the engine a module belongs to: engine i's for "accel.engine<i>.<unit>", else the shared
// keys' (memtest, and the check of the table before a run).
engine::Params engine_of(const SimConfig& cfg, const std::string& name) {
  const auto at = name.find(".engine");
  if (at != std::string::npos) {
    const std::size_t i = std::strtoul(name.c_str() + at + 7, nullptr, 10);
    if (i < cfg.engines.size()) return cfg.engines[i];
  }
  return cfg.base_engine();
}

// The selector's inputs: the M of the run's N:M weights (1, no selector, for dense, HP and unstructured).
std::uint32_t selector_inputs(const SimConfig& cfg) {
  const workloads::WeightSparsity& w = cfg.sim.workload == "gemm" ? cfg.gemm.sparsity : cfg.model.weights;
  return w.format == workloads::WeightFormat::kNm ? w.nm.m : 1;
}

void price_macs(Ledger& e, const CostTable& t, const std::string& module, double macs) {
  e.add(t, module, "multiply", macs, "energy.int8_mult");
  // Per PE step: macs_per_pe - 1 adder-tree adds and one accumulate, so one add per MAC, priced at 32 bits.
  e.add(t, module, "add", macs, "energy.int32_add");
}

// DRAM cycles the run lasted: the standby energy runs for all of them.
double dram_cycles(const SimConfig& cfg, const Json& summary) {
  const double ns = summary.contains("sim_time_ns") ? summary["sim_time_ns"].get<double>() : 0.0;
  return ns * cfg.dram.clock_mhz * 1e-3;
}

void price_energy(const SimConfig& cfg, const CostTable& t, const Json& summary, const Json& modules,
                  Ledger& e) {
  for (const auto& [name, g] : modules.items()) {
    const std::string kind = leaf(name);
    if (kind == "pe_array") {
      price_macs(e, t, name, count(g, "macs"));
      e.add(t, name, "select", count(g, "selected_macs"), "energy.selector_8b");
    } else if (kind == "hp_datapath") {
      price_macs(e, t, name, count(g, "macs"));
      // The decoder turns each weight entry's block index and in-block offset into an activation address.
      e.add(t, name, "decode", count(g, "reads"), "energy.int16_add");
    } else if (kind == "topk_unit") {
      e.add(t, name, "lut_product", count(g, "lut_products"), "energy.int4_mult");
      price_macs(e, t, name, count(g, "exact_macs") + count(g, "sv_macs"));
    } else if (kind == "sfu") {
      // Each element is requantised (a multiply) and accumulated or offset (an add) in 32 bits.
      e.add(t, name, "multiply", count(g, "elements"), "energy.int32_mult");
      e.add(t, name, "add", count(g, "elements"), "energy.int32_add");
    } else if (kind == "act_buffer" || kind == "weight_buffer" || kind == "out_buffer") {
      const double bank_kib = buffer_shape(engine_of(cfg, name), kind).bank_kib();
      const std::string read = name + ".read", write = name + ".write";
      e.add_priced(name, "read_64b", count(g, "bytes_read") / 8,
                   energy::sram_access_pj(t, "energy.sram_read_64b", bank_kib, read),
                   fmt::format("energy.sram_read_64b at {:g} KiB per bank", bank_kib));
      e.add_priced(name, "write_64b", count(g, "bytes_written") / 8,
                   energy::sram_access_pj(t, "energy.sram_write_64b", bank_kib, write),
                   fmt::format("energy.sram_write_64b at {:g} KiB per bank", bank_kib));
    } else if (kind == "dma") {
      // Address generation: one 32-bit add per transaction; the bytes are priced where they are read and
      // written.
      e.add(t, name, "address", count(g, "transactions"), "energy.int32_add");
    } else if (g.contains("act_commands") && !t.has("dram." + cfg.dram_preset + ".VDD_V")) {
      // A preset the table has no currents for (a user's own): the per-access figure, as for the fixed
      // memory.
      const double bursts = count(g, "rd_commands") + count(g, "rda_commands") + count(g, "wr_commands") +
                            count(g, "wra_commands");
      e.add(t, name, "access_64b", bursts * cfg.dram.burst_bytes() / 8, "energy.memory_access_64b");
    } else if (g.contains("act_commands")) {  // the DRAM (accel.memory, or memtest's dram)
      const auto cur = energy::DramCurrents::from_table(t, cfg.dram_preset);
      const auto c = energy::dram_command_energy(cur, cfg.dram);
      const std::string p = "dram." + cfg.dram_preset + " currents";
      e.add_priced(name, "activate", count(g, "act_commands"), c.act_pj, p);
      e.add_priced(name, "read_burst", count(g, "rd_commands") + count(g, "rda_commands"), c.read_pj, p);
      e.add_priced(name, "write_burst", count(g, "wr_commands") + count(g, "wra_commands"), c.write_pj, p);
      e.add_priced(name, "refresh", count(g, "ref_commands"), c.refresh_pj, p);
      e.add_priced(name, "standby_rank_cycle", dram_cycles(cfg, summary) * cfg.dram.channels * cfg.dram.ranks,
                   c.standby_pj_per_cycle, p);
    } else if (g.contains("bus_busy_cycles")) {  // the fixed-latency memory
      e.add(t, name, "access_64b", (count(g, "read_bytes") + count(g, "write_bytes")) / 8,
            "energy.memory_access_64b");
    }
  }
}

// um^2 of an SRAM of `kib` in `banks` banks.
double sram_um2(const CostTable& t, const std::string& action, double kib, double banks) {
  return kib * 8192 * t.at("area.sram_bitcell", action) / t.at("area.sram_array_efficiency", action) +
         banks * t.at("area.sram_bank_periphery", action);
}

void area_unit(Ledger& a, const CostTable& t, const std::string& module, const std::string& unit, double n,
               const std::string& key, double per = 1) {
  a.add_priced(module, unit, n, per * t.at(key, module + "." + unit) * 1e-6,
               per == 1 ? key : fmt::format("{:g} x {}", per, key));
}

void area_sram(Ledger& a, const CostTable& t, const std::string& module, const std::string& unit, double kib,
               double banks) {
  a.add_priced(module, unit, 1, sram_um2(t, module + "." + unit, kib, banks) * 1e-6,
               fmt::format("{:g} KiB in {:g} banks: area.sram_bitcell / area.sram_array_efficiency + "
                           "area.sram_bank_periphery per bank",
                           kib, banks));
}

void price_area(const SimConfig& cfg, const CostTable& t, const Json& modules, Ledger& a) {
  for (const auto& [name, g] : modules.items()) {
    const std::string kind = leaf(name);
    const engine::Params eng = engine_of(cfg, name);
    if (kind == "pe_array") {
      const auto& p = eng.pe_array;
      const double pes = double(p.rows) * p.cols, mults = pes * p.macs_per_pe;
      area_unit(a, t, name, "multiplier", mults, "area.int8_mult");
      area_unit(a, t, name, "adder", mults, "area.int32_add");  // adder tree and accumulator
      // Per PE: a 32-bit accumulator and each multiplier's two 8-bit operand registers.
      area_unit(a, t, name, "register_bit", pes * (32 + 16.0 * p.macs_per_pe), "area.dff_bit");
      if (const std::uint32_t m = selector_inputs(cfg); m > 1)
        area_unit(a, t, name, "selector", mults, "area.mux2_bit", 8.0 * (m - 1));  // an M:1 mux of 8 bits
    } else if (kind == "hp_datapath") {
      const double mults = double(eng.hp_datapath.lanes) * eng.pe_array.rows;  // lanes x tokens
      area_unit(a, t, name, "multiplier", mults, "area.int8_mult");
      area_unit(a, t, name, "adder", mults, "area.int32_add");
      area_unit(a, t, name, "register_bit", mults * 32, "area.dff_bit");
    } else if (kind == "topk_unit") {
      const auto& p = eng.topk_unit;
      area_unit(a, t, name, "lut_multiplier", double(p.score_lanes) * p.lut_per_lane, "area.int4_mult");
      const double macs =
          double(p.exact_lanes) * p.exact_macs_per_lane + double(p.sv_lanes) * p.sv_macs_per_lane;
      area_unit(a, t, name, "multiplier", macs, "area.int8_mult");
      area_unit(a, t, name, "adder", macs, "area.int32_add");
      area_unit(a, t, name, "quantiser", p.quant_lanes, "area.int8_add");
    } else if (kind == "sfu") {
      const auto& s = eng.sfu;
      const double lanes = double(s.softmax.lanes) + s.vector.lanes;
      area_unit(a, t, name, "multiplier", lanes, "area.int32_mult");
      area_unit(a, t, name, "adder", lanes, "area.int32_add");
      const double rows_kib = (double(s.softmax.row_buffers) * s.softmax.row_buffer_elems +
                               double(s.vector.row_buffers) * s.vector.row_buffer_elems) *
                              4 / 1024;
      area_sram(a, t, name, "row_buffers", rows_kib, s.softmax.row_buffers + s.vector.row_buffers);
      area_sram(a, t, name, "score_buffer", s.score_buffer_kib, 1);
    } else if (kind == "act_buffer" || kind == "weight_buffer" || kind == "out_buffer") {
      const SramShape sh = buffer_shape(eng, kind);
      area_sram(a, t, name, "sram", sh.kib, sh.banks);
    }
  }
}

double summary_number(const Json& summary, const char* key) {
  return summary.contains(key) && summary[key].is_number() ? summary[key].get<double>() : 0.0;
}

// Tokens of the run's sequences: the summary's own count when a command gives one, else the model's lengths.
double tokens(const SimConfig& cfg, const Json& summary) {
  if (summary.contains("tokens")) return summary_number(summary, "tokens");
  if (cfg.sim.workload != "model" || !summary.contains("dense_macs")) return 0;
  const auto lens = cfg.model.lengths();
  return double(std::accumulate(lens.begin(), lens.end(), std::uint64_t{0}));
}

}  // namespace

std::string energy_tables_dir() {
  return data_dir("TACSIM_ENERGY_TABLES_DIR", "energy-tables", TACSIM_SOURCE_ENERGY_TABLES_DIR);
}

std::string energy_table_path(const SimConfig& cfg) {
  const std::string& t = cfg.energy.table;
  if (t.find('/') != std::string::npos || text::ends_with(t, ".ini")) return t;
  return (std::filesystem::path(energy_tables_dir()) / (t + ".ini")).string();
}

void check_energy_config(const SimConfig& cfg) {
  // (A DRAM preset without currents in the table is priced per access: see price_energy.)
  if (!cfg.energy.enabled) return;
  const std::string path = energy_table_path(cfg);
  if (!std::filesystem::is_regular_file(path)) {
    std::vector<std::string> names;
    for (const auto& f : std::filesystem::directory_iterator(energy_tables_dir()))
      if (f.path().extension() == ".ini") names.push_back(f.path().stem().string());
    std::sort(names.begin(), names.end());
    throw InputError(
        fmt::format("config: energy.table: no table '{}' (bundled: {}; or the path of a .ini file)",
                    cfg.energy.table, text::join(names)));
  }
  // Price every kind of module once with no actions: a missing figure fails now, not after the simulation.
  const CostTable t = CostTable::load(path);
  Json modules = Json::object();
  for (const char* m :
       {"pe_array", "hp_datapath", "topk_unit", "sfu", "act_buffer", "weight_buffer", "out_buffer", "dma"})
    modules[std::string("accel.engine0.") + m] = Json::object();
  modules["accel.memory"] =
      cfg.memory.model == "dram" ? Json{{"act_commands", 0}} : Json{{"bus_busy_cycles", 0}};
  Ledger e, a;
  price_energy(cfg, t, Json::object(), modules, e);
  price_area(cfg, t, modules, a);
}

void add_energy_and_area(const SimConfig& cfg, Json& stats) {
  if (!cfg.energy.enabled) return;
  const CostTable t = CostTable::load(energy_table_path(cfg));
  // A copy, put back at the end: adding sections to `stats` moves its members (an ordered_json is a vector).
  Json summary = stats["summary"];
  Ledger e, a;
  price_energy(cfg, t, summary, stats["modules"], e);
  price_area(cfg, t, stats["modules"], a);

  const double pj = e.total(), ns = summary_number(summary, "sim_time_ns");
  const double macs = summary_number(summary, "macs"), dense = summary_number(summary, "dense_macs");
  Json energy = e.to_json("pJ");
  energy["table"] = cfg.energy.table;
  stats["energy"] = energy;
  stats["area"] = a.to_json("mm2");
  Json power = {{"average_w", ns > 0 ? pj / ns * 1e-3 : 0.0}};
  Json by_module = Json::object();
  for (const auto& [m, v] : energy["by_module"].items())
    by_module[m] = ns > 0 ? v["total"].get<double>() / ns * 1e-3 : 0.0;
  power["by_module_w"] = by_module;
  stats["power"] = power;

  summary["energy_pj"] = pj;
  summary["area_mm2"] = a.total();
  summary["power_w"] = power["average_w"];
  if (summary.contains("dense_macs") && summary_number(summary, "requests") > 0 &&
      (cfg.sim.workload == "model" || cfg.sim.workload == "trace"))
    summary["energy_pj_per_sequence"] = pj / summary_number(summary, "requests");
  if (const double n = tokens(cfg, summary); n > 0) summary["energy_pj_per_token"] = pj / n;
  if (macs > 0) {
    summary["energy_pj_per_mac"] = pj / macs;
    // 1 operation per pJ is 1e12 operations per J: TOPS/W. A MAC is two operations.
    summary["tops_per_w"] = 2 * macs / pj;
    summary["effective_tops_per_w"] = 2 * dense / pj;
  }
  summary["edp_j_s"] = pj * 1e-12 * ns * 1e-9;
  // The DRAM's energy (commands, refresh and standby) per bit it moved: the figure DRAM power models quote.
  double dram_pj = 0;
  for (const auto& [name, g] : stats["modules"].items())
    if (g.contains("act_commands")) dram_pj += e.module_total(name);
  if (const double bytes = summary_number(summary, "dram_bytes"); dram_pj > 0 && bytes > 0)
    summary["dram_pj_per_bit"] = dram_pj / (8 * bytes);
  stats["summary"] = summary;
}

Json energy_schema() {
  const char* item =
      "per module: its total and, per action (unit), count, price each, total and the table key";
  return {
      {"energy",
       {{"unit", {{"unit", ""}, {"description", "the unit of every energy figure: pJ"}}},
        {"total", {{"unit", "pJ"}, {"description", "energy of every priced action of the run"}}},
        {"by_module", {{"unit", "pJ"}, {"description", item}}},
        {"table", {{"unit", ""}, {"description", "the cost table that priced them (energy.table)"}}}}},
      {"area",
       {{"unit", {{"unit", ""}, {"description", "the unit of every area figure: mm^2"}}},
        {"total",
         {{"unit", "mm2"}, {"description", "on-chip area of the priced units (the DRAM is off chip)"}}},
        {"by_module", {{"unit", "mm2"}, {"description", item}}}}},
      {"power",
       {{"average_w", {{"unit", "W"}, {"description", "energy / simulated time"}}},
        {"by_module_w", {{"unit", "W"}, {"description", "each module's energy / simulated time"}}}}},
  };
}

std::string describe_energy(const Json& stats) {
  if (!stats.contains("energy")) return "";
  const Json& s = stats["summary"];
  auto num = [&](const char* k) { return summary_number(s, k); };
  // pJ in the largest unit that keeps a digit before the point.
  auto joules = [](double pj) {
    const char* units[] = {"pJ", "nJ", "uJ", "mJ", "J"};
    int u = 0;
    while (u < 4 && pj >= 1000) pj /= 1000, ++u;
    return fmt::format("{:.4g} {}", pj, units[u]);
  };
  std::string line = joules(num("energy_pj"));
  if (s.contains("energy_pj_per_sequence"))
    line += fmt::format(" = {}/sequence", joules(num("energy_pj_per_sequence")));
  if (s.contains("energy_pj_per_token"))
    line += fmt::format(", {}/token", joules(num("energy_pj_per_token")));
  line += fmt::format("; {:.3g} W average", num("power_w"));
  std::string out = summary_row("energy", line);
  // Efficiency, and the three modules that took the most.
  std::vector<std::pair<double, std::string>> parts;
  for (const auto& [m, v] : stats["energy"]["by_module"].items())
    parts.emplace_back(v["total"].get<double>(), leaf(m));
  std::sort(parts.rbegin(), parts.rend());
  std::string split;
  const double total = num("energy_pj");
  for (std::size_t i = 0; i < std::min<std::size_t>(3, parts.size()) && total > 0; ++i)
    split += fmt::format("{}{} {:.1f} %", i ? ", " : "", parts[i].second, 100 * parts[i].first / total);
  if (s.contains("energy_pj_per_mac"))
    out += summary_row(
        "energy efficiency",
        fmt::format("{:.3g} pJ/MAC, {:.3g} TOPS/W ({:.3g} in dense MACs); {}", num("energy_pj_per_mac"),
                    num("tops_per_w"), num("effective_tops_per_w"), split));
  else if (!split.empty())
    out += summary_row("energy by module", split);
  if (num("area_mm2") > 0)
    out += summary_row("area", fmt::format("{:.3f} mm^2 on chip ({})", num("area_mm2"),
                                           stats["energy"]["table"].get<std::string>()));
  if (s.contains("dram_pj_per_bit"))
    out += summary_row("DRAM energy", fmt::format("{:.3g} pJ per bit moved", num("dram_pj_per_bit")));
  return out;
}

}  // namespace tacsim::sim
