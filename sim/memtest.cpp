#include "sim/memtest.h"

#include <chrono>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <systemc>

#include "modules/common/clock.h"
#include "modules/common/error.h"
#include "modules/dram/dram.h"
#include "modules/dram/traffic_generator.h"
#include "sim/config.h"
#include "sim/output.h"
#include "sim/progress.h"
#include "sim/stats_dump.h"
#include "sim/version.h"
#include "traces/dram_trace.h"

namespace tacsim::sim {

namespace {

class MemtestTop : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(MemtestTop);
  MemtestTop(const sc_core::sc_module_name& name, const SimConfig& cfg, std::vector<dram::TrafficRequest> reqs)
      : sc_module(name),
        memory("memory", cfg.dram),
        generator("generator", memory.clock(), std::move(reqs), cfg.memtest_max_outstanding,
                  cfg.memtest_requests_per_cycle) {
    generator.initiator_socket.bind(memory.target_socket);
    SC_THREAD(stop_when_done);
  }
  dram::Dram memory;
  dram::TrafficGenerator generator;

 private:
  void stop_when_done() {
    if (!generator.done()) sc_core::wait(generator.finished());
    sc_core::sc_stop();
  }
};

std::vector<dram::TrafficRequest> requests_for(const SimConfig& cfg) {
  const std::uint64_t capacity = cfg.dram.capacity_bytes();
  if (cfg.memtest_trace.empty()) return dram::make_pattern(cfg.memtest, capacity, cfg.dram.burst_bytes());
  std::vector<dram::TrafficRequest> out;
  const std::uint32_t burst = cfg.dram.burst_bytes();
  for (const auto& r : traces::read_dram_trace(cfg.memtest_trace, capacity))
    out.push_back({r.address / burst * burst, burst, r.is_write, r.cycle});  // one burst per line
  if (out.empty()) throw InputError(fmt::format("{}: the trace holds no requests", cfg.memtest_trace));
  return out;
}

}  // namespace

int memtest_command(const RunOptions& opts) {
  const SimConfig cfg = resolve_config(opts.config_path, opts.overrides);
  prepare_output_dir(opts.out_dir);
  auto reqs = requests_for(cfg);
  const std::size_t n = reqs.size();

  init_kernel();
  MemtestTop top("memtest", cfg, std::move(reqs));
  std::unique_ptr<ProgressLine> progress;
  if (ProgressLine::wanted(opts.quiet))
    progress = std::make_unique<ProgressLine>("progress", top.memory.clock(), "requests", [&top, n] {
      return ProgressLine::Status{top.generator.completed(), n};
    });
  const auto t0 = std::chrono::steady_clock::now();
  sc_core::sc_start();
  progress.reset();
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!top.generator.done()) throw std::runtime_error("memtest ended before every request completed");

  const auto& mem = top.memory.stats();
  const Cycle cycles = top.generator.last_response();
  const std::uint64_t errors = top.generator.data_errors();
  const std::string check = errors == 0 ? "pass" : fmt::format("fail: {} reads returned wrong data", errors);
  nlohmann::ordered_json summary;
  summary["cycles"] = cycles;
  summary["sim_time_ns"] = double(top.memory.clock().fs_at(cycles)) * 1e-6;
  summary["check"] = check;
  summary["requests"] = n;
  summary["dram_bytes"] = top.memory.bytes_transferred();
  summary["bandwidth_gbps"] = mem.value("bandwidth_gbps");
  summary["peak_bandwidth_gbps"] = mem.value("peak_bandwidth_gbps");
  summary["read_latency_ns_mean"] = mem.value("read_latency_ns_mean");
  summary["read_latency_ns_p99"] = mem.value("read_latency_ns_p99");
  summary["row_hit_rate"] = mem.value("row_hit_rate");

  write_results(opts.out_dir, cfg, summary, {{"dram_cycles_per_s", double(cycles) / wall_s}}, wall_s);

  if (!opts.quiet) {
    const auto num = [](const nlohmann::ordered_json& j) { return j.is_null() ? 0.0 : j.get<double>(); };
    std::cout << fmt::format("tacsim memtest: {} on {} ({} channel(s), {} MHz)\n",
                             cfg.memtest_trace.empty() ? "pattern " + cfg.memtest.pattern : cfg.memtest_trace,
                             cfg.dram_preset, cfg.dram.channels, cfg.dram.clock_mhz);
    auto row = [](const std::string& k, const std::string& v) { std::cout << fmt::format("  {:<22}{}\n", k, v); };
    row("requests", fmt::format("{}", n));
    row("DRAM cycles", fmt::format("{}", cycles));
    row("bandwidth", fmt::format("{:.2f} GB/s of {:.1f} peak", num(summary["bandwidth_gbps"]),
                                 num(summary["peak_bandwidth_gbps"])));
    row("read latency", fmt::format("{:.1f} ns mean, {:.1f} ns p99", num(summary["read_latency_ns_mean"]),
                                    num(summary["read_latency_ns_p99"])));
    row("row hit rate", fmt::format("{:.1f} %", 100 * num(summary["row_hit_rate"])));
    row("wall time", fmt::format("{:.3f} s", wall_s));
    row("DRAM cycles / s", fmt::format("{:.3g}", double(cycles) / wall_s));
    row("check", check);
    std::cout << fmt::format("  results in {}/ (stats.json, config.ini)\n", opts.out_dir);
  }
  return errors == 0 ? 0 : 1;
}

}  // namespace tacsim::sim
