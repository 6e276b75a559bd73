#include "sim/memtest.h"
#include "sim/energy_report.h"

#include <chrono>
#include <exception>
#include <iostream>
#include <memory>

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
#include "sim/result_set.h"
#include "sim/stats_dump.h"
#include "sim/version.h"
#include "sim/waves_control.h"
#include "traces/dram_trace.h"

namespace tacsim::sim {

namespace {

// The requests come from the pattern or the trace one at a time, so memory stays flat in the trace's length.
// The trace was checked before the run (trace_requests); should it change meanwhile, a bad line ends the
// requests and is thrown again after the run (`error`).
dram::TrafficGenerator::Source source_for(const SimConfig& cfg, std::exception_ptr& error) {
  const std::uint64_t capacity = cfg.dram.capacity_bytes();
  const std::uint32_t burst = cfg.dram.burst_bytes();
  if (cfg.memtest_trace.empty()) {
    auto pattern = std::make_shared<dram::PatternSource>(cfg.memtest, capacity, burst);
    return [pattern](dram::TrafficRequest& r) { return pattern->next(r); };
  }
  auto reader = std::make_shared<traces::DramTraceReader>(cfg.memtest_trace, capacity);
  return [reader, burst, &error, path = cfg.memtest_trace](dram::TrafficRequest& r) {
    traces::DramRequest t;
    try {
      if (!reader->next(t)) {
        if (reader->requests() == 0) throw InputError(fmt::format("{}: the trace holds no requests", path));
        return false;
      }
    } catch (const InputError&) {
      error = std::current_exception();  // the requests in flight complete, then the run stops
      return false;
    }
    r = {t.address / burst * burst, burst, t.is_write, t.cycle};  // one burst per line
    return true;
  };
}

// The trace read through once before the run, one line at a time: a bad line fails before anything is
// simulated (not on a SystemC thread's stack), and the progress line knows the total.
std::uint64_t trace_requests(const SimConfig& cfg) {
  traces::DramTraceReader reader(cfg.memtest_trace, cfg.dram.capacity_bytes());
  traces::DramRequest r;
  while (reader.next(r)) {
  }
  if (reader.requests() == 0)
    throw InputError(fmt::format("{}: the trace holds no requests", cfg.memtest_trace));
  return reader.requests();
}

class MemtestTop : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(MemtestTop);
  MemtestTop(const sc_core::sc_module_name& name, const SimConfig& cfg, std::exception_ptr& error)
      : sc_module(name),
        memory("memory", cfg.dram),
        generator("generator", memory.clock(), source_for(cfg, error), cfg.memtest_max_outstanding,
                  cfg.memtest_requests_per_cycle, check_data(cfg)) {
    generator.initiator_socket.bind(memory.target_socket);
    // Without data checks nothing reads what was written: the memory keeps no data, and its size no growth.
    memory.store().set_retain(check_data(cfg));
    SC_THREAD(stop_when_done);
  }
  static bool check_data(const SimConfig& cfg) { return cfg.sim.check != "false"; }  // auto: checked

  dram::Dram memory;
  dram::TrafficGenerator generator;

 private:
  void stop_when_done() {
    if (!generator.done()) sc_core::wait(generator.finished());
    sc_core::sc_stop();
  }
};

}  // namespace

int memtest_command(const RunOptions& opts) {
  const SimConfig cfg = resolve_config(opts.config_path, opts.overrides);
  std::exception_ptr trace_error;
  if (opts.waves.list) {
    init_kernel();
    MemtestTop top("memtest", cfg, trace_error);
    WaveSession waves(opts.waves);
    waves.attach(top.memory);
    waves.check_selection();
    waves.print_list(std::cout);
    return 0;
  }
  ResultSet results(opts.out_dir);

  const std::uint64_t total =
      cfg.memtest_trace.empty()
          ? dram::PatternSource(cfg.memtest, cfg.dram.capacity_bytes(), cfg.dram.burst_bytes()).count()
          : trace_requests(cfg);
  init_kernel();
  MemtestTop top("memtest", cfg, trace_error);
  std::unique_ptr<WaveSession> waves;
  if (!opts.waves.vcd.empty()) {
    waves = std::make_unique<WaveSession>(opts.waves, results, top.memory.clock());
    waves->attach(top.memory);
    waves->check_selection();
  }
  std::unique_ptr<ProgressLine> progress;
  if (ProgressLine::wanted(opts.quiet))
    progress = std::make_unique<ProgressLine>("progress", top.memory.clock(), "requests", [&top, total] {
      return ProgressLine::Status{top.generator.completed(), total};
    });
  const auto t0 = std::chrono::steady_clock::now();
  sc_core::sc_start();
  progress.reset();
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (trace_error) std::rethrow_exception(trace_error);
  if (!top.generator.done()) throw std::runtime_error("memtest ended before every request completed");
  if (waves) waves->write();
  const std::uint64_t n = top.generator.requests();

  const auto& mem = top.memory.stats();
  const Cycle cycles = top.generator.last_response();
  const std::uint64_t errors = top.generator.data_errors();
  const std::string check = !MemtestTop::check_data(cfg) ? "off"
                            : errors == 0                ? "pass"
                                          : fmt::format("fail: {} reads returned wrong data", errors);
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

  const auto stats = write_results(results.staging_dir(), cfg, summary,
                                   {{"dram_cycles_per_s", double(cycles) / wall_s}}, wall_s);
  results.commit();

  if (!opts.quiet) {
    const auto num = [](const nlohmann::ordered_json& j) { return j.is_null() ? 0.0 : j.get<double>(); };
    std::cout << fmt::format("tacsim memtest: {} on {} ({} channel(s), {} MHz)\n",
                             cfg.memtest_trace.empty() ? "pattern " + cfg.memtest.pattern : cfg.memtest_trace,
                             cfg.dram_preset, cfg.dram.channels, cfg.dram.clock_mhz);
    auto row = [](const std::string& k, const std::string& v) {
      std::cout << fmt::format("  {:<22}{}\n", k, v);
    };
    row("requests", fmt::format("{}", n));
    row("DRAM cycles", fmt::format("{}", cycles));
    row("bandwidth", fmt::format("{:.2f} GB/s of {:.1f} peak", num(summary["bandwidth_gbps"]),
                                 num(summary["peak_bandwidth_gbps"])));
    row("read latency", fmt::format("{:.1f} ns mean, {:.1f} ns p99", num(summary["read_latency_ns_mean"]),
                                    num(summary["read_latency_ns_p99"])));
    row("row hit rate", fmt::format("{:.1f} %", 100 * num(summary["row_hit_rate"])));
    std::cout << describe_energy(stats);
    row("wall time", fmt::format("{:.3f} s", wall_s));
    row("DRAM cycles / s", fmt::format("{:.3g}", double(cycles) / wall_s));
    row("check", check);
    std::cout << fmt::format("  results in {}/ (stats.json, config.ini)\n", opts.out_dir);
    if (waves) std::cout << waves->describe();
  }
  return errors == 0 ? 0 : 1;
}

}  // namespace tacsim::sim
