#include "sim/sweep_command.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "sim/cli.h"
#include "sim/progress.h"
#include "sim/sweep_plan.h"
#include "sim/sweep_results.h"
#include "sim/sweep_runner.h"
#include "sim/sweep_slurm.h"

namespace po = boost::program_options;

namespace tacsim::sim {

namespace fs = std::filesystem;

namespace {

const char* kSweepUsage =
    "usage: tacsim sweep [run options] [sweep options] --out DIR\n"
    "       tacsim sweep --collect DIR [--metric NAME...]\n"
    "\n"
    "Runs `tacsim run` once per point of a sweep, each in its own process: the run options below are the "
    "base\n"
    "of every point, and each point sets its swept keys on top (--set KEY=VALUE). Every point's "
    "configuration\n"
    "is resolved before anything runs; a bad key or value stops the sweep at once (exit 2). Results land in\n"
    "DIR/points/<id>/ (id: a hash of the point's resolved configuration) and DIR/results.csv gathers one "
    "row\n"
    "per point. Running the same command again runs only the points that are missing (DIR defaults to\n"
    "results/sweep).\n"
    "\n"
    "A sweep file (--spec) is INI:\n"
    "  [grid]    pe_array.rows = 16, 32, 64        cartesian product of the lists\n"
    "  [zip]     act_buffer.banks = 8, 16          lists of one length, walked together\n"
    "  [random]  accel.clock_mhz = uniform(500, 1500)   also loguniform(lo,hi), int(lo,hi), choice(a,b,...)\n"
    "  [sweep]   metrics = cycles, dram_bytes      samples = N (random points)   seed = N (their seed)\n"
    "  [base]    pe_array.cols = 32                keys every point shares\n"
    "List items in double quotes may hold commas; range(lo, hi[, step]) lists integers, both ends included.\n"
    "A metric is a summary figure (cycles, sim_time_ns, pe_utilization, ...) or any figure as `tacsim diff`\n"
    "names it (modules.accel.memory.row_hits, config.pe_array.rows).\n"
    "\n"
    "Exit codes: 0 every point done; 1 a point failed (or its value check did), or --collect found points "
    "not\n"
    "done; 2 bad input, before anything runs; 130 (143) stopped by Ctrl-C (SIGTERM): the same command "
    "resumes.\n";

po::options_description sweep_options() {
  po::options_description d("tacsim sweep options");
  d.add_options()("spec", po::value<std::string>()->value_name("FILE"), "a sweep file (see above)")(
      "grid", po::value<std::vector<std::string>>()->composing()->value_name("KEY=V1,V2,..."),
      "sweep a key over values; several --grid make their cartesian product")(
      "zip", po::value<std::vector<std::string>>()->composing()->value_name("KEY=V1,V2,..."),
      "lists walked together (all --zip lists have one length)")(
      "random", po::value<std::vector<std::string>>()->composing()->value_name("KEY=DIST"),
      "draw a key per sample: uniform(lo,hi), loguniform(lo,hi), int(lo,hi) or choice(a,b,...)")(
      "samples", po::value<std::string>()->value_name("N"), "random points to draw")(
      "sample-seed", po::value<std::string>()->value_name("N"), "the draws' seed (default 1)")(
      "metric", po::value<std::vector<std::string>>()->composing()->value_name("NAME[,NAME...]"),
      "figures results.csv keeps (default cycles, sim_time_ns, pe_utilization, dram_bytes)")(
      "jobs,j", po::value<std::string>()->value_name("N"), "points run at once here (default: the CPUs)")(
      "backend", po::value<std::string>()->default_value("local")->value_name("local|slurm"),
      "run here, or as a Slurm array job")("points-per-task", po::value<std::string>()->value_name("N"),
                                           "slurm: points per array task (default 16)")(
      "partition", po::value<std::string>()->value_name("P"), "slurm: the partition")(
      "time", po::value<std::string>()->value_name("T"), "slurm: each array task's time limit, e.g. 1:00:00")(
      "sbatch", po::value<std::vector<std::string>>()->composing()->value_name("OPTION"),
      "slurm: a further sbatch option, e.g. --sbatch=--account=abc (repeatable)")(
      "wait", "slurm: wait for the job to finish, then gather results.csv")(
      "collect", po::value<std::string>()->value_name("DIR"), "gather DIR/results.csv from the points done")(
      "dry-run", "list the points and their ids; run nothing");
  return d;
}

po::options_description hidden_options() {
  po::options_description d;
  d.add_options()("slurm-task", po::value<std::string>(), "")("submission", po::value<std::string>(), "");
  return d;
}

std::vector<std::string> strings(const po::variables_map& vm, const char* name) {
  return vm.count(name) ? vm[name].as<std::vector<std::string>>() : std::vector<std::string>{};
}

std::uint64_t unsigned_option(const po::variables_map& vm, const char* name, std::uint64_t fallback,
                              std::uint64_t max) {
  return vm.count(name) ? text::parse_unsigned(vm[name].as<std::string>(), std::string("--") + name, max)
                        : fallback;
}

// The tokens of the run options given, as written, for every point's `tacsim run`: all but --out, --quiet
// and --help, which belong to the sweep.
std::vector<std::string> run_tokens(const po::parsed_options& parsed) {
  const auto run = run_options();
  std::vector<std::string> out;
  for (const auto& o : parsed.options)
    if (run.find_nothrow(o.string_key, false) && o.string_key != "out" && o.string_key != "quiet" &&
        o.string_key != "help")
      out.insert(out.end(), o.original_tokens.begin(), o.original_tokens.end());
  return out;
}

SweepSpec spec_from(const po::variables_map& vm) {
  SweepSpec spec;
  if (vm.count("spec")) read_sweep_file(vm["spec"].as<std::string>(), spec);
  for (const auto& g : strings(vm, "grid")) spec.grid.push_back(parse_axis(g, "--grid"));
  for (const auto& z : strings(vm, "zip")) spec.zip.push_back(parse_axis(z, "--zip"));
  for (const auto& r : strings(vm, "random")) spec.random.push_back(parse_random_axis(r, "--random"));
  spec.samples = unsigned_option(vm, "samples", spec.samples, kMaxSweepPoints);
  spec.sample_seed = unsigned_option(vm, "sample-seed", spec.sample_seed, ~0ull);
  const auto metrics = strings(vm, "metric");
  if (!metrics.empty()) {
    spec.metrics.clear();
    for (const auto& m : metrics)
      for (auto& name : parse_metric_list(m, "--metric")) spec.metrics.push_back(std::move(name));
  }
  if (spec.metrics.empty()) spec.metrics = default_metrics();
  check_metric_names(spec.metrics);
  return spec;
}

void print_plan(const SweepPlan& plan) {
  std::cout << fmt::format("sweep: {} points over {}", plan.points.size(), text::join(plan.parameters));
  if (plan.merged)
    std::cout << fmt::format(" ({} more repeat an earlier point's configuration)", plan.merged);
  std::cout << "\n";
  std::vector<std::size_t> width;
  for (std::size_t i = 0; i < plan.parameters.size(); ++i) {
    width.push_back(plan.parameters[i].size());
    for (const auto& p : plan.points) width[i] = std::max(width[i], p.values[i].size());
  }
  std::string header = fmt::format("  {:<{}}", "point", kIdDigits);
  for (std::size_t i = 0; i < plan.parameters.size(); ++i)
    header += fmt::format("  {:<{}}", plan.parameters[i], width[i]);
  auto print = [](std::string row) { std::cout << row.erase(row.find_last_not_of(' ') + 1) << "\n"; };
  print(header);
  for (const auto& p : plan.points) {
    std::string line = "  " + p.id;
    for (std::size_t i = 0; i < p.values.size(); ++i) line += fmt::format("  {:<{}}", p.values[i], width[i]);
    print(line);
  }
}

// Rewrites results.csv from the points in place and says where the sweep stands; the exit code.
int gather_and_report(const SweepDir& dir, const SweepPlan& plan, bool quiet, const std::string& headline) {
  const SweepTable table = gather_results(dir, plan, plan.metrics);
  write_results_csv(dir, table);
  check_metrics_found(table);
  const std::size_t done = table.count(PointState::kDone), failed = table.count(PointState::kFailed),
                    pending = table.count(PointState::kPending);
  if (!quiet || failed || pending)
    (failed || pending ? std::cerr : std::cout) << fmt::format(
        "tacsim sweep: {}{} of {} points done{}{}; results in {}\n", headline, done, table.rows.size(),
        failed ? fmt::format(", {} failed (why: {}/)", failed, dir.failed("x").parent_path().string()) : "",
        pending ? fmt::format(", {} pending", pending) : "", dir.results().string());
  return failed || pending ? 1 : 0;
}

int collect(const SweepDir& dir, const std::vector<std::string>& metrics, bool quiet) {
  std::error_code ec;
  if (!fs::exists(dir.manifest(), ec))
    throw InputError(fmt::format("{}: not a sweep folder (no sweep.json)", dir.root.string()));
  SweepPlan plan = read_manifest(dir);
  if (!metrics.empty() && metrics != plan.metrics) {
    plan.metrics = metrics;
    write_manifest(dir, plan);
  }
  return gather_and_report(dir, plan, quiet, "");
}

int run_local(const SweepDir& dir, const SweepPlan& plan, unsigned jobs, bool quiet) {
  SweepLock lock(dir, SweepLock::Mode::kExclusive);
  claim_sweep_dir(dir, plan);
  check_no_active_submission(dir);
  std::vector<std::string> ids;
  for (const auto& p : plan.points) ids.push_back(p.id);
  RunnerOptions o;
  o.binary = self_binary();
  o.jobs = jobs;
  o.progress = ProgressLine::wanted(quiet);
  o.quiet = quiet;
  const RunOutcome r = run_points(dir, plan, ids, o);
  if (r.stopped_by) {
    write_results_csv(dir, gather_results(dir, plan, plan.metrics));
    std::cerr << fmt::format("tacsim sweep: stopped by {}: {} of {} points done; the same command resumes\n",
                             r.stopped_by == SIGINT ? "Ctrl-C" : "SIGTERM", r.done_before + r.ran,
                             plan.points.size());
    return 128 + r.stopped_by;
  }
  const std::string headline =
      r.ran + r.failed == 0
          ? ""
          : fmt::format("ran {} in {:.1f} s ({:.3g} points/s, {} at a time); ", r.ran + r.failed, r.wall_s,
                        double(r.ran + r.failed) / std::max(r.wall_s, 1e-9), jobs);
  int code = gather_and_report(dir, plan, quiet, headline);
  if (r.check_failed) {
    std::cerr << fmt::format(
        "tacsim sweep: {} points failed their value check (their `check` figure says how)\n", r.check_failed);
    code = 1;
  }
  return code;
}

int run_slurm(const SweepDir& dir, const SweepPlan& plan, const SlurmOptions& options, bool wait,
              bool quiet) {
  SlurmSubmission sub;
  {
    SweepLock lock(dir, SweepLock::Mode::kExclusive);
    claim_sweep_dir(dir, plan);
    check_no_active_submission(dir);
    std::error_code ec;
    fs::remove_all(dir.tmp(), ec);  // nothing is in flight: what is there, killed tasks left
    std::vector<std::string> ids;
    for (const auto& p : plan.points)
      if (!dir.done(p.id)) ids.push_back(p.id);
    if (ids.empty()) return gather_and_report(dir, plan, quiet, "nothing to submit: ");
    sub = submit_slurm(dir, ids, options);
  }
  if (!quiet)
    std::cerr << fmt::format(
        "tacsim sweep: submitted Slurm job {}: {} points in {} array tasks ({}); "
        "`tacsim sweep --collect {}` gathers the results\n",
        sub.job_id, sub.points, sub.tasks, (sub.folder / "array.sh").string(), dir.root.string());
  if (!wait) return 0;
  while (slurm_job_active(sub.job_id)) std::this_thread::sleep_for(std::chrono::seconds(1));
  return gather_and_report(dir, plan, quiet, fmt::format("Slurm job {} finished: ", sub.job_id));
}

}  // namespace

int sweep_main(const std::vector<std::string>& args) {
  const auto run = run_options();
  const auto sweep = sweep_options();
  po::options_description all;
  all.add(run).add(sweep).add(hidden_options());
  const auto parsed = po::command_line_parser(args).options(all).run();
  po::variables_map vm;
  po::store(parsed, vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << kSweepUsage << "\n"
              << sweep
              << "\nThe run options are the base of every point, except --out (the sweep's folder, default "
              << "results/sweep) and --quiet (the sweep's):\n"
              << run;
    return 0;
  }
  const bool quiet = vm.count("quiet") > 0;
  if (vm.count("slurm-task")) {
    if (!vm.count("submission")) throw InputError("--slurm-task needs --submission");
    return run_slurm_task(vm["submission"].as<std::string>(), unsigned_option(vm, "slurm-task", 0, 1u << 20));
  }
  if (vm.count("collect")) {
    for (const char* o : {"spec", "grid", "zip", "random", "samples"})
      if (vm.count(o))
        throw InputError(fmt::format("--collect gathers a sweep that exists: --{} does not apply", o));
    std::vector<std::string> metrics;
    for (const auto& m : strings(vm, "metric"))
      for (auto& name : parse_metric_list(m, "--metric")) metrics.push_back(std::move(name));
    check_metric_names(metrics);
    return collect(SweepDir{vm["collect"].as<std::string>()}, metrics, quiet);
  }

  const std::string backend = vm["backend"].as<std::string>();
  if (backend != "local" && backend != "slurm")
    throw InputError(fmt::format("--backend: expected local or slurm, got '{}'", backend));
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  const auto jobs = static_cast<unsigned>(unsigned_option(vm, "jobs", cpus, 1024));
  if (jobs == 0) throw InputError("--jobs: must be at least 1");
  SlurmOptions slurm;
  slurm.points_per_task = unsigned_option(vm, "points-per-task", slurm.points_per_task, kMaxSweepPoints);
  if (vm.count("partition")) slurm.partition = vm["partition"].as<std::string>();
  if (vm.count("time")) slurm.time = vm["time"].as<std::string>();
  slurm.sbatch_args = strings(vm, "sbatch");

  const SweepPlan plan = plan_sweep(spec_from(vm), run_tokens(parsed));
  if (vm.count("dry-run")) {
    print_plan(plan);
    return 0;
  }
  const SweepDir dir{vm["out"].defaulted() ? std::string("results/sweep") : vm["out"].as<std::string>()};
  if (plan.merged && !quiet)
    std::cerr << fmt::format("tacsim sweep: {} points repeat an earlier point's configuration and run once\n",
                             plan.merged);
  if (backend == "local") return run_local(dir, plan, jobs, quiet);
  slurm.binary = self_binary();
  slurm.workdir = fs::current_path();
  return run_slurm(dir, plan, slurm, vm.count("wait") > 0, quiet);
}

}  // namespace tacsim::sim
