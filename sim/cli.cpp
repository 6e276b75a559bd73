#include "sim/cli.h"

#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "modules/common/error.h"
#include "sim/config.h"
#include "sim/diff_command.h"
#include "sim/format_report.h"
#include "sim/memtest.h"
#include "sim/pareto_command.h"
#include "sim/run.h"
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
  d.add_options()("help,h", "print this help")(
      "config,c", po::value<std::string>()->value_name("FILE"),
      "INI configuration file ([section] then key = value lines)")(
      "set,s", po::value<std::vector<std::string>>()->composing()->value_name("KEY=VALUE"),
      ("override one config key, e.g. --set " + set_example + " (repeatable; applied after --config)").c_str())(
      "out,o", po::value<std::string>()->default_value("results/latest")->value_name("DIR"),
      "folder for stats.json and config.ini")("seed", po::value<std::string>()->value_name("N"),
                                               "shorthand for --set sim.seed=N")(
      "quiet,q", "print nothing on success");
  return d;
}

}  // namespace

po::options_description run_options() {
  auto d = common_options("tacsim run options", "pe_array.rows=64");
  d.add_options()("workload,w", po::value<std::string>()->value_name("NAME"), "shorthand for --set sim.workload=NAME")(
      "model,m", po::value<std::string>()->value_name("NAME"),
      "run a Transformer model: --set sim.workload=model --set model.name=NAME")(
      "seq-len", po::value<std::string>()->value_name("L[,L...]"), "shorthand for --set model.seq_lens=L[,L...]")(
      "batch", po::value<std::string>()->value_name("N"), "shorthand for --set model.batch=N")(
      "check", "compute values and compare them with the C++ reference: --set sim.check=true");
  return d;
}

namespace {

// memtest's own flags are shorthands for memtest.* config keys, so config.ini records them.
const std::vector<std::pair<std::string, std::string>> kMemtestFlags = {
    {"pattern", "memtest.pattern"}, {"bytes", "memtest.bytes"},
    {"read-ratio", "memtest.read_ratio"}, {"request-bytes", "memtest.request_bytes"},
    {"stride", "memtest.stride_bytes"}, {"trace", "memtest.trace"},
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
    shorthand.push_back("sim.workload=model");
    shorthand.push_back("model.name=" + vm["model"].as<std::string>());
  }
  if (vm.count("seq-len")) shorthand.push_back("model.seq_lens=" + vm["seq-len"].as<std::string>());
  if (vm.count("batch")) shorthand.push_back("model.batch=" + vm["batch"].as<std::string>());
  if (vm.count("check")) shorthand.push_back("sim.check=true");
  o.overrides.insert(o.overrides.begin(), shorthand.begin(), shorthand.end());
  return o;
}

namespace {

int run_main(const std::vector<std::string>& args) {
  const auto desc = run_options();
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << "usage: tacsim run [options]\n\n" << desc << "\nconfig keys (default, meaning, unit):\n"
              << describe_keys(HelpFor::kRun);
    return 0;
  }
  return run_command(run_options_from(vm));
}

int memtest_main(const std::vector<std::string>& args) {
  const auto desc = memtest_options();
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << "usage: tacsim memtest [options]\n\n" << desc
              << "\nconfig keys (default, meaning, unit):\n" << describe_keys(HelpFor::kMemtest);
    return 0;
  }
  RunOptions o = common_run_options(vm);
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
      std::cout << kUsage << "\n" << run_options() << "\nconfig keys (default, meaning, unit):\n"
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
