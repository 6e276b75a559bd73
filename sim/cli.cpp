#include "sim/cli.h"

#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "modules/common/error.h"
#include "sim/config.h"
#include "sim/run.h"
#include "sim/version.h"

namespace po = boost::program_options;

namespace tacsim::sim {

namespace {

const char* kUsage =
    "usage: tacsim [--help] [--version] <command> [options]\n"
    "\n"
    "commands:\n"
    "  run      simulate a workload on the configured accelerator and write stats.json and config.ini\n"
    "\n"
    "`tacsim <command> --help` lists the command's options.\n";

po::options_description run_options() {
  po::options_description d("tacsim run options");
  d.add_options()("help,h", "print this help")(
      "config,c", po::value<std::string>()->value_name("FILE"),
      "INI configuration file ([section] then key = value lines)")(
      "set,s", po::value<std::vector<std::string>>()->composing()->value_name("KEY=VALUE"),
      "override one config key, e.g. --set pe_array.rows=64 (repeatable; applied after --config)")(
      "out,o", po::value<std::string>()->default_value("results/latest")->value_name("DIR"),
      "folder for stats.json and config.ini")("seed", po::value<std::string>()->value_name("N"),
                                               "shorthand for --set sim.seed=N")(
      "quiet,q", "print nothing on success");
  return d;
}

int run_main(const std::vector<std::string>& args) {
  const auto desc = run_options();
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << "usage: tacsim run [options]\n\n" << desc << "\nconfig keys (default, meaning, unit):\n"
              << describe_keys();
    return 0;
  }
  RunOptions o;
  if (vm.count("config")) o.config_path = vm["config"].as<std::string>();
  if (vm.count("set")) o.overrides = vm["set"].as<std::vector<std::string>>();
  if (vm.count("seed")) o.overrides.push_back("sim.seed=" + vm["seed"].as<std::string>());
  o.out_dir = vm["out"].as<std::string>();
  o.quiet = vm.count("quiet") > 0;
  return run_command(o);
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
                << describe_keys();
      return 0;
    }
    if (cmd == "--version") {
      std::cout << "tacsim " << kVersion << "\n";
      return 0;
    }
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (cmd == "run") return run_main(rest);
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
