#include "sim/cli.h"

#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "sim/capacity_search.h"
#include "sim/config.h"
#include "sim/diff_command.h"
#include "sim/format_report.h"
#include "sim/memtest.h"
#include "sim/pareto_command.h"
#include "sim/run.h"
#include "sim/sweep_analysis.h"
#include "sim/sweep_command.h"
#include "sim/trace_command.h"
#include "sim/version.h"

namespace po = boost::program_options;

namespace tacsim::sim {

namespace {

const char* kUsage =
    "usage: tacsim [--help] [--version] <command> [options]\n"
    "\n"
    "commands:\n"
    "  run      simulate a workload on the configured accelerator and write stats.json and config.ini\n"
    "  memtest  drive the DRAM alone with a pattern or a DRAMsim3 trace: bandwidth, latency, row hits\n"
    "  format-report  bytes of one weight matrix in HP, CSR, COO, bitmap, N:M and dense storage\n"
    "  diff     compare two results; exit 1 when a figure moved beyond its tolerance\n"
    "  sweep    run many configurations (a grid, zipped lists, random samples), here or on Slurm; resumable\n"
    "  pareto   the Pareto-optimal points of a sweep over two or three metrics\n"
    "  select   the cheapest design of a sweep that meets a latency and an accuracy constraint\n"
    "  trace    build a request trace (lengths, text or an Azure trace, with arrivals) or describe one\n"
    "\n"
    "`tacsim <command> --help` lists the command's options.\n";

po::options_description common_options(const std::string& title, const std::string& set_example) {
  po::options_description d(title);
  d.add_options()("help,h", "print this help")("config,c", po::value<std::string>()->value_name("FILE"),
                                               "INI configuration file ([section] then key = value lines)")(
      "set,s", po::value<std::vector<std::string>>()->composing()->value_name("KEY=VALUE"),
      ("override one config key, e.g. --set " + set_example + " (repeatable; applied after --config)")
          .c_str())("out,o", po::value<std::string>()->default_value("results/latest")->value_name("DIR"),
                    "folder for stats.json and config.ini")("seed", po::value<std::string>()->value_name("N"),
                                                            "shorthand for --set sim.seed=N")(
      "quiet,q", "print nothing on success");
  return d;
}

}  // namespace

po::options_description run_options() {
  auto d = common_options("tacsim run options", "pe_array.rows=64");
  d.add_options()("workload,w", po::value<std::string>()->value_name("NAME"),
                  "shorthand for --set sim.workload=NAME")(
      "model,m", po::value<std::string>()->value_name("NAME"),
      "the Transformer model: --set model.name=NAME, and without --trace, --set sim.workload=model (its own "
      "sequences, --seq-len)")(
      "seq-len", po::value<std::string>()->value_name("L[,L...]"),
      "the model's own sequences: --set sim.workload=model --set model.seq_lens=L[,L...]")(
      "batch", po::value<std::string>()->value_name("N"),
      "each of them N times: --set sim.workload=model --set model.batch=N")(
      "trace", po::value<std::string>()->value_name("FILE"),
      "requests from a trace (traces/README.md; sst2-dev and azure-conv are bundled): --set "
      "sim.workload=trace "
      "--set trace.file=FILE")("policy", po::value<std::string>()->value_name("P"),
                               "shorthand for --set scheduler.policy=P (fcfs, padded, length-aware)")(
      "engines", po::value<std::string>()->value_name("E"), "shorthand for --set accel.engines=E")(
      "check", "compute values and compare them with the C++ reference: --set sim.check=true")(
      "find-max-rate",
      "search the highest Poisson arrival rate of the trace's requests whose p99 latency meets --slo-p99 "
      "(one run "
      "per probe, each in its own process)")("slo-p99", po::value<std::string>()->value_name("T"),
                                             "--find-max-rate: the p99 latency to meet, e.g. 5ms, 800us")(
      "rate-lo", po::value<std::string>()->value_name("R"),
      "--find-max-rate: the lowest rate tried, requests/s")(
      "rate-hi", po::value<std::string>()->value_name("R"),
      "--find-max-rate: the highest rate tried, requests/s")(
      "rate-tol", po::value<std::string>()->value_name("F"),
      "--find-max-rate: stop when hi / lo - 1 is below this (default 0.02)");
  return d;
}

namespace {

// memtest's own flags are shorthands for memtest.* config keys, so config.ini records them.
const std::vector<std::pair<std::string, std::string>> kMemtestFlags = {
    {"pattern", "memtest.pattern"},
    {"bytes", "memtest.bytes"},
    {"read-ratio", "memtest.read_ratio"},
    {"request-bytes", "memtest.request_bytes"},
    {"stride", "memtest.stride_bytes"},
    {"trace", "memtest.trace"},
    {"preset", "dram.preset"}};

po::options_description memtest_options() {
  auto d = common_options("tacsim memtest options", "dram.tRCD_cycles=20");
  d.add_options()("pattern", po::value<std::string>()->value_name("P"), "stream, random or strided")(
      "bytes", po::value<std::string>()->value_name("N"), "total bytes requested by the pattern")(
      "read-ratio", po::value<std::string>()->value_name("R"), "fraction of requests that read (0..1)")(
      "request-bytes", po::value<std::string>()->value_name("N"), "bytes per request")(
      "stride", po::value<std::string>()->value_name("N"), "address step of the strided pattern")(
      "trace", po::value<std::string>()->value_name("FILE"),
      "replay a DRAMsim3 trace ('0x<addr> READ|WRITE <cycle>' per line) instead of a pattern")(
      "preset", po::value<std::string>()->value_name("NAME"), "shorthand for --set dram.preset=NAME");
  return d;
}

// Waveforms, for the commands that simulate one run (a sweep's points do not take them).
po::options_description wave_options(const std::string& clock) {
  po::options_description d("waveforms (README: Waveforms)");
  d.add_options()("vcd", po::value<std::string>()->value_name("FILE"),
                  "write the run's waveforms to FILE, NAME.vcd, and a GTKWave view beside it, NAME.gtkw")(
      "vcd-window", po::value<std::string>()->value_name("START:END"),
      ("trace only this window: " + clock +
       " cycles, or times with a unit (5us:7.5us); an end may be left out")
          .c_str())("vcd-signals", po::value<std::string>()->value_name("GLOB[,GLOB]"),
                    "trace only the signals these globs select (a module's name selects all of its signals)")(
      "vcd-list", "print the signals --vcd can trace (those --vcd-signals selects), and exit");
  return d;
}

WaveOptions wave_options_from(const po::variables_map& vm) {
  WaveOptions w;
  if (vm.count("vcd")) w.vcd = vm["vcd"].as<std::string>();
  if (vm.count("vcd-window")) w.window = vm["vcd-window"].as<std::string>();
  if (vm.count("vcd-signals"))
    w.signals = text::split_list(vm["vcd-signals"].as<std::string>(), ',', "--vcd-signals");
  w.list = vm.count("vcd-list") > 0;
  if (w.vcd.empty() && !w.list)
    for (const char* flag : {"vcd-window", "vcd-signals"})
      if (vm.count(flag)) throw InputError(fmt::format("--{} applies to --vcd (or --vcd-list)", flag));
  if (w.list && !w.vcd.empty())
    throw InputError("--vcd-list prints the signals and runs nothing: drop --vcd");
  if (w.vcd.empty() && vm.count("vcd")) throw InputError("--vcd: give a file name");
  return w;
}

RunOptions common_run_options(const po::variables_map& vm) {
  RunOptions o;
  if (vm.count("config")) o.config_path = vm["config"].as<std::string>();
  if (vm.count("set")) o.overrides = vm["set"].as<std::vector<std::string>>();
  if (vm.count("seed")) o.overrides.push_back("sim.seed=" + vm["seed"].as<std::string>());
  o.out_dir = vm["out"].as<std::string>();
  o.quiet = vm.count("quiet") > 0;
  return o;
}

}  // namespace

RunOptions run_options_from(const po::variables_map& vm) {
  RunOptions o = common_run_options(vm);
  // Shorthands go first, so an explicit --set still wins.
  std::vector<std::string> shorthand;
  if (vm.count("workload")) shorthand.push_back("sim.workload=" + vm["workload"].as<std::string>());
  if (vm.count("model")) {
    if (!vm.count("trace")) shorthand.push_back("sim.workload=model");
    shorthand.push_back("model.name=" + vm["model"].as<std::string>());
  }
  if (vm.count("trace")) {
    shorthand.push_back("sim.workload=trace");
    shorthand.push_back("trace.file=" + vm["trace"].as<std::string>());
  }
  for (const char* flag : {"seq-len", "batch"})
    if (vm.count(flag)) {
      if (vm.count("trace"))
        throw InputError(
            fmt::format("--{}: a trace's requests have their own lengths (drop --trace to run the "
                        "model's own sequences)",
                        flag));
      shorthand.push_back("sim.workload=model");
    }
  if (vm.count("seq-len")) shorthand.push_back("model.seq_lens=" + vm["seq-len"].as<std::string>());
  if (vm.count("batch")) shorthand.push_back("model.batch=" + vm["batch"].as<std::string>());
  if (vm.count("policy")) shorthand.push_back("scheduler.policy=" + vm["policy"].as<std::string>());
  if (vm.count("engines")) shorthand.push_back("accel.engines=" + vm["engines"].as<std::string>());
  if (vm.count("check")) shorthand.push_back("sim.check=true");
  o.overrides.insert(o.overrides.begin(), shorthand.begin(), shorthand.end());
  return o;
}

namespace {

int run_main(const std::vector<std::string>& args) {
  auto desc = run_options();
  desc.add(wave_options("accelerator"));
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << "usage: tacsim run [options]\n\n"
              << desc << "\nconfig keys (default, meaning, unit):\n"
              << describe_keys(HelpFor::kRun);
    return 0;
  }
  RunOptions o = run_options_from(vm);
  o.waves = wave_options_from(vm);
  const bool search = vm.count("find-max-rate") > 0;
  if (search && (!o.waves.vcd.empty() || o.waves.list))
    throw InputError("--vcd traces one run: --find-max-rate runs many (trace one of its rates instead)");
  for (const char* flag : {"slo-p99", "rate-lo", "rate-hi", "rate-tol"})
    if (vm.count(flag) && !search) throw InputError(fmt::format("--{} applies to --find-max-rate", flag));
  if (search) {
    CapacitySearch s;
    if (!vm.count("slo-p99"))
      throw InputError("--find-max-rate: give the latency to meet, e.g. --slo-p99 5ms");
    const double slo_ns = parse_duration_ns(vm["slo-p99"].as<std::string>(), "--slo-p99");
    if (slo_ns >= 1e18) throw InputError("--slo-p99: at most 1e18 ns");
    s.slo_p99_ns = static_cast<std::uint64_t>(std::llround(slo_ns));  // 0 is refused by validate()
    if (vm.count("rate-lo")) s.rate_lo = text::parse_double(vm["rate-lo"].as<std::string>(), "--rate-lo");
    if (vm.count("rate-hi")) s.rate_hi = text::parse_double(vm["rate-hi"].as<std::string>(), "--rate-hi");
    if (vm.count("rate-tol"))
      s.tolerance = text::parse_double(vm["rate-tol"].as<std::string>(), "--rate-tol");
    return find_max_rate(o, s);
  }
  return run_command(o);
}

int memtest_main(const std::vector<std::string>& args) {
  auto desc = memtest_options();
  desc.add(wave_options("DRAM"));
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << "usage: tacsim memtest [options]\n\n"
              << desc << "\nconfig keys (default, meaning, unit):\n"
              << describe_keys(HelpFor::kMemtest);
    return 0;
  }
  RunOptions o = common_run_options(vm);
  o.waves = wave_options_from(vm);
  for (const auto& [flag, key] : kMemtestFlags)
    if (vm.count(flag)) o.overrides.push_back(key + "=" + vm[flag].as<std::string>());
  return memtest_command(o);
}

}  // namespace

int cli_main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty()) {
      std::cerr << kUsage;
      return 2;
    }
    const std::string cmd = args.front();
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      std::cout << kUsage << "\n"
                << run_options() << "\nconfig keys (default, meaning, unit):\n"
                << describe_keys(HelpFor::kRun);
      return 0;
    }
    if (cmd == "--version") {
      std::cout << "tacsim " << kVersion << "\n";
      return 0;
    }
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (cmd == "run") return run_main(rest);
    if (cmd == "memtest") return memtest_main(rest);
    if (cmd == "format-report") return format_report_main(rest);
    if (cmd == "diff") return diff_main(rest);
    if (cmd == "sweep") return sweep_main(rest);
    if (cmd == "pareto") return pareto_main(rest);
    if (cmd == "select") return select_main(rest);
    if (cmd == "trace") return trace_main(rest);
    std::cerr << fmt::format("tacsim: unknown command '{}'\n{}", cmd, kUsage);
    return 2;
  } catch (const InputError& e) {
    std::cerr << "tacsim: " << e.what() << "\n";
    return 2;
  } catch (const po::error& e) {
    std::cerr << "tacsim: " << e.what() << " (see tacsim --help)\n";
    return 2;
  } catch (const std::exception& e) {
    // A bug or a SystemC protocol error, not the user's input.
    std::cerr << "tacsim: internal error: " << e.what() << "\n";
    return 3;
  }
}

}  // namespace tacsim::sim
