#include "sim/run.h"

#include <chrono>
#include <ctime>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <systemc>

#include "modules/common/clock.h"
#include "modules/common/error.h"
#include "sim/config.h"
#include "sim/output.h"
#include "sim/stats_dump.h"
#include "sim/top.h"
#include "sim/version.h"
#include "workloads/gemm.h"

namespace tacsim::sim {

namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// "pass", or "fail: <first mismatch>".
std::string check_gemm(const workloads::GemmParams& g, const workloads::GemmOperands& ops,
                       const BackingStore& store, std::uint64_t c_address) {
  const auto ref = workloads::reference_gemm(g, ops);
  std::vector<std::int32_t> got(ref.size());
  store.read(c_address, reinterpret_cast<std::uint8_t*>(got.data()), got.size() * 4);
  for (std::size_t i = 0; i < ref.size(); ++i)
    if (got[i] != ref[i])
      return fmt::format("fail: C[{}][{}] = {}, expected {}", i / g.n, i % g.n, got[i], ref[i]);
  return "pass";
}

}  // namespace

int run_command(const RunOptions& opts) {
  const SimConfig cfg = resolve_config(opts.config_path, opts.overrides);
  prepare_output_dir(opts.out_dir);

  const auto& g = cfg.gemm;
  const auto layout = workloads::layout_gemm(g);
  if (layout.end > cfg.memory_capacity_bytes())
    throw InputError(fmt::format("memory: the GEMM's operands need {} bytes, the {} memory has {}", layout.end,
                                 cfg.memory.model, cfg.memory_capacity_bytes()));
  const auto plan = workloads::plan_gemm(g, cfg.pe_array, cfg.act_buffer.half_bytes(),
                                         cfg.weight_buffer.half_bytes(), cfg.out_buffer.half_bytes(), layout);
  const auto ops = workloads::make_operands(g, cfg.sim.seed);

  init_kernel();
  Top top("accel", cfg);
  top.memory.store().write(layout.a_address, reinterpret_cast<const std::uint8_t*>(ops.a.data()), ops.a.size());
  top.memory.store().write(layout.w_address, ops.weight_image.data(), ops.weight_image.size());
  top.pe_array.set_compute_values(cfg.sim.check);
  top.controller.start(workloads::to_program(plan));

  const auto t0 = std::chrono::steady_clock::now();
  sc_core::sc_start();
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!top.controller.done()) throw std::runtime_error("simulation ended before the workload finished");

  const auto t1 = std::chrono::steady_clock::now();
  const std::string check =
      cfg.sim.check ? check_gemm(g, ops, top.memory.store(), layout.c_address) : std::string("off");
  const double check_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();

  const Cycle cycles = top.controller.finish_cycle();
  const auto& pe = top.pe_array.engine().counters();
  nlohmann::ordered_json summary;
  summary["cycles"] = cycles;
  summary["sim_time_ns"] = double(top.clock.fs_at(cycles)) * 1e-6;
  summary["check"] = check;
  summary["macs"] = pe.macs;
  summary["pe_utilization"] = double(pe.macs) / (double(cfg.pe_array.peak_macs_per_cycle()) * double(cycles));
  summary["dram_bytes"] = top.memory.bytes_transferred();
  summary["weight_bytes"] = top.weight_buffer.stats().value("bytes_written");

  nlohmann::ordered_json stats;
  stats["summary"] = summary;
  stats["modules"] = collect_module_stats();
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  for (const auto& [k, v] : to_pairs(cfg)) config[k] = v;
  stats["config"] = config;
  // Everything that may differ between two runs of the same configuration lives here and only here.
  stats["host"] = {{"wall_s", wall_s},
                   {"cycles_per_s", double(cycles) / wall_s},
                   {"check_wall_s", check_wall_s},
                   {"tacsim_version", kVersion},
                   {"systemc_version", sc_core::sc_release()},
                   {"date_utc", utc_now()}};

  write_file_atomic(opts.out_dir, "config.ini", to_ini(cfg));
  write_file_atomic(opts.out_dir, "stats.json", stats.dump(2) + "\n");

  if (!opts.quiet) {
    std::cout << fmt::format("tacsim run: GEMM {}x{}x{} on a {}x{}x{} PE array at {} MHz\n", g.m, g.n, g.k,
                             cfg.pe_array.rows, cfg.pe_array.cols, cfg.pe_array.macs_per_pe,
                             cfg.accel.clock_mhz);
    std::cout << fmt::format("  {}\n", plan.describe());
    auto row = [](const std::string& k, const std::string& v) { std::cout << fmt::format("  {:<22}{}\n", k, v); };
    row("cycles", fmt::format("{}", cycles));
    row("simulated time", fmt::format("{:.3f} us", summary["sim_time_ns"].get<double>() * 1e-3));
    row("PE utilization", fmt::format("{:.1f} %", 100 * summary["pe_utilization"].get<double>()));
    row("MACs", fmt::format("{}", pe.macs));
    row("bytes moved (DRAM)", fmt::format("{}", top.memory.bytes_transferred()));
    row("weight bytes", fmt::format("{}", summary["weight_bytes"].get<std::uint64_t>()));
    row("wall time", fmt::format("{:.3f} s", wall_s));
    row("sim cycles / s", fmt::format("{:.3g}", double(cycles) / wall_s));
    row("check", check);
    std::cout << fmt::format("  results in {}/ (stats.json, config.ini)\n", opts.out_dir);
  }
  return check == "pass" || check == "off" ? 0 : 1;
}

}  // namespace tacsim::sim
