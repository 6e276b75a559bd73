#include "sim/capacity_search.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "sim/config.h"
#include "sim/output.h"

namespace tacsim::sim {

namespace fs = std::filesystem;

std::string CapacitySearch::validate() const {
  if (slo_p99_ns == 0) return "--slo-p99: must be a positive time";
  if (!(rate_lo > 0) || rate_lo > 1e9)
    return fmt::format("--rate-lo: must be in (0, 1e9] requests/s, got {}", rate_lo);
  if (rate_hi != 0 && (!(rate_hi > rate_lo) || rate_hi > 1e9))
    return fmt::format("--rate-hi: must be above --rate-lo ({}) and at most 1e9, got {}", rate_lo, rate_hi);
  if (!(tolerance > 0) || tolerance > 1)
    return fmt::format("--rate-tol: must be in (0, 1], got {}", tolerance);
  return "";
}

namespace {

struct Probe {
  double rate = 0;
  std::uint64_t p99_ns = 0, p50_ns = 0;
  double throughput = 0;
  bool meets = false;
  std::string dir;
};

// `tacsim run` in a child process; returns its exit code. Its output goes to `log`.
int run_child(const std::vector<std::string>& args, const std::string& log) {
  std::cout.flush();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    std::FILE* f = std::fopen(log.c_str(), "w");
    if (f != nullptr) {
      dup2(fileno(f), STDOUT_FILENO);
      dup2(fileno(f), STDERR_FILENO);
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (text::starts_with(line, "tacsim:")) return line;
  return "";
}

}  // namespace

int find_max_rate(const RunOptions& opts, const CapacitySearch& search) {
  if (const std::string e = search.validate(); !e.empty()) throw InputError(e);
  const SimConfig cfg = resolve_config(opts.config_path, opts.overrides);
  if (cfg.sim.workload != "trace")
    throw InputError(
        "--find-max-rate: re-times a trace's requests (sim.workload = trace; drop --seq-len/--batch)");
  prepare_output_dir(opts.out_dir);
  // Every probe runs this configuration, its arrivals re-timed.
  write_file_atomic(opts.out_dir, "config.ini", to_ini(cfg));
  const std::string config = (fs::path(opts.out_dir) / "config.ini").string();
  std::vector<Probe> probes;
  auto probe = [&](double rate) -> const Probe& {
    Probe p;
    p.rate = rate;
    p.dir = (fs::path(opts.out_dir) / "probes" / fmt::format("rate-{:.6g}", rate)).string();
    fs::create_directories(p.dir);
    const std::string log = p.dir + ".log";
    const int code = run_child({"tacsim", "run", "--config", config, "--set",
                                fmt::format("trace.rate_per_s={:.17g}", rate), "--out", p.dir, "--quiet"},
                               log);
    if (code != 0) {
      const std::string why = first_line(log);
      throw InputError(fmt::format("--find-max-rate: the probe at {:.6g} requests/s failed (exit {}){}{}",
                                   rate, code, why.empty() ? "" : ": ",
                                   why.empty() ? "see " + log : why.substr(8)));
    }
    std::ifstream in(p.dir + "/stats.json");
    const auto stats = nlohmann::json::parse(in);
    p.p99_ns = stats["summary"]["latency_ns_p99"].get<std::uint64_t>();
    p.p50_ns = stats["summary"]["latency_ns_p50"].get<std::uint64_t>();
    p.throughput = stats["summary"]["throughput_seq_per_s"].get<double>();
    p.meets = p.p99_ns <= search.slo_p99_ns;
    if (!opts.quiet)
      std::cout << fmt::format("  probe {:>12.6g} requests/s: p99 {:>10.3f} ms  {}\n", rate,
                               double(p.p99_ns) * 1e-6, p.meets ? "meets" : "misses");
    probes.push_back(p);
    return probes.back();
  };

  if (!opts.quiet)
    std::cout << fmt::format(
        "tacsim run --find-max-rate: p99 latency at most {:.3f} ms, trace {} ({}), {} policy\n",
        double(search.slo_p99_ns) * 1e-6, cfg.trace.file, cfg.model.name, cfg.scheduler.policy);
  std::optional<double> met, missed;
  if (probe(search.rate_lo).meets) {
    met = search.rate_lo;
    if (search.rate_hi > 0) {
      if (probe(search.rate_hi).meets)
        met = search.rate_hi;
      else
        missed = search.rate_hi;
    } else {
      for (double r = 2 * search.rate_lo; r <= 1e9 && !missed; r *= 2) (probe(r).meets ? met : missed) = r;
    }
    while (missed && *missed / *met - 1 > search.tolerance) {
      const double mid = std::sqrt(*met * *missed);
      (probe(mid).meets ? met : missed) = mid;
    }
  }

  std::string csv = "rate_per_s,latency_ns_p99,latency_ns_p50,throughput_seq_per_s,meets_slo,probe\n";
  for (const Probe& p : probes)
    csv += fmt::format("{:.6g},{},{},{:.3f},{},{}\n", p.rate, p.p99_ns, p.p50_ns, p.throughput,
                       p.meets ? 1 : 0, fs::path(p.dir).filename().string());
  nlohmann::ordered_json answer;
  answer["slo_p99_ns"] = search.slo_p99_ns;
  answer["max_rate_per_s"] = met ? nlohmann::ordered_json(*met) : nlohmann::ordered_json(nullptr);
  answer["first_missing_rate_per_s"] =
      missed ? nlohmann::ordered_json(*missed) : nlohmann::ordered_json(nullptr);
  answer["probes"] = probes.size();
  write_file_atomic(opts.out_dir, "max_rate.csv", csv);
  write_file_atomic(opts.out_dir, "max_rate.json", answer.dump(2) + "\n");
  if (!opts.quiet) {
    if (!met)
      std::cout << fmt::format("  no rate from {:.6g} requests/s meets the SLO\n", search.rate_lo);
    else if (!missed)
      std::cout << fmt::format("  max rate: at least {:.6g} requests/s (every rate tried meets the SLO)\n",
                               *met);
    else
      std::cout << fmt::format("  max rate: {:.6g} requests/s (p99 misses the SLO at {:.6g})\n", *met,
                               *missed);
    std::cout << fmt::format("  results in {}/ (max_rate.csv, max_rate.json, probes/)\n", opts.out_dir);
  }
  return 0;
}

}  // namespace tacsim::sim
