#include "sim/pareto_command.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <numeric>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "sim/sweep_analysis.h"
#include "sim/sweep_plan.h"
#include "sim/sweep_results.h"

namespace po = boost::program_options;

namespace tacsim::sim {

namespace {

// Parses `args` with `desc` and one positional DIR; prints help and returns nullopt when asked.
std::optional<po::variables_map> parse(const std::vector<std::string>& args,
                                       const po::options_description& desc, const char* usage) {
  po::options_description hidden;
  hidden.add_options()("dir", po::value<std::vector<std::string>>(), "");
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("dir", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << usage << "\n" << desc;
    return std::nullopt;
  }
  const auto dirs = vm.count("dir") ? vm["dir"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (dirs.size() != 1) throw InputError(fmt::format("expected one sweep folder (DIR), got {}", dirs.size()));
  return vm;
}

SweepPlan load_plan(const SweepDir& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir.manifest(), ec))
    throw InputError(fmt::format("{}: not a sweep folder (no sweep.json)", dir.root.string()));
  return read_manifest(dir);
}

std::optional<double> number(const std::optional<std::string>& s) {
  return s ? text::to_double(*s) : std::nullopt;
}

// Columns padded to their widest cell, two spaces apart.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    w[c] = header[c].size();
    for (const auto& r : rows) w[c] = std::max(w[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < cells.size(); ++c)
      s += fmt::format("{}{:<{}}", c ? "  " : "", cells[c], w[c]);
    std::cout << text::trim(s) << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

void print_csv(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  auto line = [](const std::vector<std::string>& cells) {
    std::vector<std::string> f;
    for (const auto& c : cells) f.push_back(csv_field(c));
    std::cout << text::join(f, ",") << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

const char* kParetoUsage =
    "usage: tacsim pareto DIR --x METRIC --y METRIC [--z METRIC] [--maximize METRIC]...\n"
    "\n"
    "Prints the Pareto-optimal points of the sweep in DIR: those that no other point matches or beats in "
    "every\n"
    "metric while beating it in one. Metrics are minimised unless --maximize names them (e.g. a "
    "throughput).\n"
    "A metric is any figure of a point's result (cycles, dram_bytes, config.pe_array.rows, ...).\n";

const char* kSelectUsage =
    "usage: tacsim select DIR --cost METRIC [--max-latency 5ms] [--min-accuracy 0.90 --accuracy-table FILE]\n"
    "\n"
    "The HP framework's question (Qi et al., ICCAD 2021): of the sweep's designs, the cheapest by --cost "
    "whose\n"
    "latency meets --max-latency and whose sparsity setting (sparsity.weights, with sparsity.pruned_fraction "
    "for\n"
    "hp and unstructured) reaches --min-accuracy in the accuracy table. The table is yours: the accuracy of "
    "a\n"
    "setting depends on the model, the task and how it was pruned (examples/accuracy/ holds one for "
    "BERT-base\n"
    "with the source of every number). Exit 1 when no design meets the constraints.\n";

}  // namespace

int pareto_main(const std::vector<std::string>& args) {
  po::options_description d("tacsim pareto options");
  d.add_options()("help,h", "print this help")("x", po::value<std::string>()->value_name("METRIC"),
                                               "first metric")(
      "y", po::value<std::string>()->value_name("METRIC"), "second metric")(
      "z", po::value<std::string>()->value_name("METRIC"), "third metric (optional)")(
      "maximize", po::value<std::vector<std::string>>()->composing()->value_name("METRIC"),
      "a metric that is better when larger (repeatable)")(
      "all", "list every finished point with a `pareto` column, not only the front")(
      "format", po::value<std::string>()->default_value("table")->value_name("table|csv"), "how to print");
  const auto vm = parse(args, d, kParetoUsage);
  if (!vm) return 0;
  if (!vm->count("x") || !vm->count("y"))
    throw InputError("pareto: --x and --y name the metrics to trade off");
  std::vector<std::string> metrics = {(*vm)["x"].as<std::string>(), (*vm)["y"].as<std::string>()};
  if (vm->count("z")) metrics.push_back((*vm)["z"].as<std::string>());
  std::vector<bool> maximize(metrics.size(), false);
  if (vm->count("maximize"))
    for (const auto& m : (*vm)["maximize"].as<std::vector<std::string>>()) {
      const auto it = std::find(metrics.begin(), metrics.end(), m);
      if (it == metrics.end())
        throw InputError(fmt::format("--maximize {}: not one of the metrics ({})", m, text::join(metrics)));
      maximize[it - metrics.begin()] = true;
    }
  const std::string format = (*vm)["format"].as<std::string>();
  if (format != "table" && format != "csv")
    throw InputError(fmt::format("--format: expected table or csv, got '{}'", format));
  check_metric_names(metrics);

  const SweepDir dir{(*vm)["dir"].as<std::vector<std::string>>().front()};
  const SweepPlan plan = load_plan(dir);
  const SweepTable table = gather_results(dir, plan, metrics);
  check_metrics_found(table);
  std::vector<const SweepRow*> usable;
  std::vector<std::vector<double>> values;
  std::size_t skipped = 0;
  for (const auto& r : table.rows) {
    std::vector<double> v;
    for (const auto& m : r.metrics)
      if (const auto x = number(m)) v.push_back(*x);
    if (r.state != PointState::kDone || v.size() != metrics.size()) {
      skipped += r.state == PointState::kDone;
      continue;
    }
    usable.push_back(&r);
    values.push_back(std::move(v));
  }
  const auto front = pareto_front(values, maximize);
  std::vector<bool> on_front(usable.size(), false);
  for (auto i : front) on_front[i] = true;

  std::vector<std::string> header = {"point"};
  header.insert(header.end(), plan.parameters.begin(), plan.parameters.end());
  header.insert(header.end(), metrics.begin(), metrics.end());
  const bool all = vm->count("all") > 0;
  if (all) header.push_back("pareto");
  std::vector<std::size_t> order;
  if (all) {
    order.resize(usable.size());
    std::iota(order.begin(), order.end(), 0);
  } else {
    order = front;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  }
  std::vector<std::vector<std::string>> rows;
  for (auto i : order) {
    std::vector<std::string> row = {usable[i]->point->id};
    row.insert(row.end(), usable[i]->point->values.begin(), usable[i]->point->values.end());
    for (const auto& m : usable[i]->metrics) row.push_back(*m);
    if (all) row.push_back(on_front[i] ? "yes" : "no");
    rows.push_back(std::move(row));
  }
  if (format == "csv") {
    print_csv(header, rows);
  } else {
    std::vector<std::string> goals;
    for (std::size_t k = 0; k < metrics.size(); ++k)
      goals.push_back((maximize[k] ? "max " : "min ") + metrics[k]);
    std::cout << fmt::format("Pareto front of {} ({}): {} of {} finished points\n", dir.root.string(),
                             text::join(goals), front.size(), usable.size());
    print_table(header, rows);
  }
  const std::size_t not_done = table.rows.size() - table.count(PointState::kDone);
  if (skipped || not_done)
    std::cerr << fmt::format(
        "tacsim pareto: left out {} points not done{}\n", not_done,
        skipped ? fmt::format(" and {} without a number for every metric", skipped) : "");
  return 0;
}

int select_main(const std::vector<std::string>& args) {
  po::options_description d("tacsim select options");
  d.add_options()("help,h", "print this help")("cost", po::value<std::string>()->value_name("METRIC"),
                                               "what makes a design cheaper: the smaller, the better")(
      "max-latency", po::value<std::string>()->value_name("TIME"),
      "the latency bound: 5ms, 250us, ... (a number in the metric's unit when it is not in ns)")(
      "latency-metric", po::value<std::string>()->value_name("METRIC"),
      "the figure that is the latency (default latency_ns_p99 where the points have it, else sim_time_ns)")(
      "min-accuracy", po::value<std::string>()->value_name("A"), "the accuracy bound: 0.90 or 90%")(
      "accuracy-table", po::value<std::string>()->value_name("FILE"),
      "task accuracy by sparsity setting (CSV)")("task", po::value<std::string>()->value_name("TASK"),
                                                 "the table's task, when it lists several")(
      "top", po::value<std::string>()->default_value("1")->value_name("N"),
      "list the N cheapest designs that qualify");
  const auto vm = parse(args, d, kSelectUsage);
  if (!vm) return 0;
  if (!vm->count("cost"))
    throw InputError("select: --cost names the metric to minimise (e.g. area_mm2, cycles)");
  if (vm->count("min-accuracy") && !vm->count("accuracy-table"))
    throw InputError("--min-accuracy needs --accuracy-table FILE (the accuracy of each sparsity setting)");
  const std::string cost = (*vm)["cost"].as<std::string>();
  const std::size_t top = text::parse_unsigned((*vm)["top"].as<std::string>(), "--top", 1u << 20);
  const SweepDir dir{(*vm)["dir"].as<std::vector<std::string>>().front()};
  const SweepPlan plan = load_plan(dir);

  // The latency figure: as asked, else the trace's p99 where the points have one, else the run's length.
  std::string latency = vm->count("latency-metric") ? (*vm)["latency-metric"].as<std::string>() : "";
  if (latency.empty())
    for (const char* candidate : {"latency_ns_p99", "sim_time_ns"}) {
      try {
        check_metric_names({candidate});
        if (gather_results(dir, plan, {candidate}).unknown_metrics.empty()) {
          latency = candidate;
          break;
        }
      } catch (const InputError&) {
      }
    }
  if (latency.empty()) latency = "sim_time_ns";
  const bool in_ns = text::ends_with(latency, "_ns") || latency.find("_ns_") != std::string::npos;
  std::optional<double> max_latency;
  if (vm->count("max-latency")) {
    const std::string t = (*vm)["max-latency"].as<std::string>();
    max_latency = in_ns ? parse_duration_ns(t, "--max-latency") : text::parse_double(t, "--max-latency");
  }
  std::optional<double> min_accuracy;
  if (vm->count("min-accuracy")) {
    std::string t = text::trim((*vm)["min-accuracy"].as<std::string>());
    const bool percent = text::ends_with(t, "%");
    min_accuracy =
        text::parse_double(percent ? t.substr(0, t.size() - 1) : t, "--min-accuracy") / (percent ? 100 : 1);
    if (*min_accuracy < 0 || *min_accuracy > 1)
      throw InputError(
          fmt::format("--min-accuracy: expected a fraction in [0, 1] or a percentage, got '{}'", t));
  }
  std::optional<AccuracyTable> accuracy;
  std::string task;
  if (vm->count("accuracy-table")) {
    accuracy = read_accuracy_table((*vm)["accuracy-table"].as<std::string>());
    const auto tasks = accuracy->tasks();
    task = vm->count("task") ? (*vm)["task"].as<std::string>() : (tasks.size() == 1 ? tasks.front() : "");
    if (std::find(tasks.begin(), tasks.end(), task) == tasks.end())
      throw InputError(fmt::format("--task: {} lists the tasks {}; name one with --task", accuracy->path,
                                   text::one_of(tasks)));
  }

  const std::vector<std::string> metrics = {latency,
                                            cost,
                                            "config.sim.workload",
                                            "config.model.name",
                                            "config.sparsity.weights",
                                            "config.gemm.sparsity",
                                            "config.sparsity.pruned_fraction"};
  check_metric_names({latency, cost});
  const SweepTable table = gather_results(dir, plan, metrics);
  check_metrics_found(table);

  struct Candidate {
    const SweepRow* row;
    double latency, cost;
    SparsitySetting setting;
    const AccuracyEntry* accuracy;
  };
  std::vector<Candidate> all, feasible;
  for (const auto& r : table.rows) {
    if (r.state != PointState::kDone) continue;
    const auto lat = number(r.metrics[0]), c = number(r.metrics[1]);
    if (!lat || !c) continue;
    SparsitySetting s;
    const bool gemm = r.metrics[2].value_or("") == "gemm";
    s.model = gemm ? "" : std::filesystem::path(r.metrics[3].value_or("")).stem().string();
    s.weights = (gemm ? r.metrics[5] : r.metrics[4]).value_or("");
    s.pruned_fraction = number(r.metrics[6]).value_or(0);
    const AccuracyEntry* acc = accuracy ? find_accuracy(*accuracy, task, s) : nullptr;
    Candidate cand{&r, *lat, *c, s, acc};
    all.push_back(cand);
    const bool fast = !max_latency || *lat <= *max_latency;
    const bool accurate = !min_accuracy || (acc && acc->accuracy >= *min_accuracy);
    if (fast && accurate) feasible.push_back(cand);
  }
  std::stable_sort(feasible.begin(), feasible.end(), [](const Candidate& a, const Candidate& b) {
    return a.cost != b.cost ? a.cost < b.cost : a.latency < b.latency;
  });

  std::vector<std::string> bounds;
  if (max_latency) bounds.push_back(fmt::format("{} <= {}", latency, (*vm)["max-latency"].as<std::string>()));
  if (min_accuracy) bounds.push_back(fmt::format("accuracy >= {:g} ({})", *min_accuracy, task));
  const std::string constraint = bounds.empty() ? "no constraint" : text::join(bounds, " and ");
  if (feasible.empty()) {
    std::cout << fmt::format("tacsim select: none of the {} finished designs meets {}\n", all.size(),
                             constraint);
    if (max_latency && !all.empty()) {
      const auto fastest =
          std::min_element(all.begin(), all.end(), [](auto& a, auto& b) { return a.latency < b.latency; });
      std::cout << fmt::format("  the fastest takes {} = {:g} ({})\n", latency, fastest->latency,
                               plan.describe(*fastest->row->point));
    }
    if (min_accuracy) {
      std::vector<std::string> good;
      for (const auto& c : all)
        if (c.accuracy && c.accuracy->accuracy >= *min_accuracy &&
            std::find(good.begin(), good.end(), c.setting.describe()) == good.end())
          good.push_back(c.setting.describe());
      std::cout << fmt::format("  sparsity settings of this sweep that reach the accuracy: {}\n",
                               good.empty() ? std::string("none") : text::join(good));
    }
    return 1;
  }
  std::cout << fmt::format("tacsim select: {} of {} finished designs meet {}; the cheapest by {}:\n",
                           feasible.size(), all.size(), constraint, cost);
  std::vector<std::string> header = {"point"};
  header.insert(header.end(), plan.parameters.begin(), plan.parameters.end());
  header.push_back(latency);
  if (accuracy) header.push_back("accuracy");
  header.push_back(cost);
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < std::min(top, feasible.size()); ++i) {
    const auto& c = feasible[i];
    std::vector<std::string> row = {c.row->point->id};
    row.insert(row.end(), c.row->point->values.begin(), c.row->point->values.end());
    row.push_back(*c.row->metrics[0]);
    if (accuracy) row.push_back(c.accuracy ? fmt::format("{:g}", c.accuracy->accuracy) : "?");
    row.push_back(*c.row->metrics[1]);
    rows.push_back(std::move(row));
  }
  print_table(header, rows);
  if (feasible.front().accuracy) {
    const auto& e = *feasible.front().accuracy;
    std::cout << fmt::format("accuracy of {} ({}, {}): {}\n", feasible.front().setting.describe(), e.task,
                             e.method, e.source);
  }
  return 0;
}

}  // namespace tacsim::sim
