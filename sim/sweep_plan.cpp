#include "sim/sweep_plan.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "sim/cli.h"
#include "sim/config.h"
#include "sim/output.h"
#include "sim/sweep_hash.h"

namespace po = boost::program_options;

namespace tacsim::sim {

namespace fs = std::filesystem;

namespace {

// The `tacsim run` options whose whole effect is the configuration they resolve to; any other run option (a
// later one this code does not know) joins a point's identity as written.
const std::set<std::string> kConfigOptions = {"config", "set",     "seed",  "workload",
                                              "model",  "seq-len", "batch", "check"};

// Parsed options point into their description: it lives as long as the program.
po::parsed_options parse_run_args(const std::vector<std::string>& run_args) {
  static const po::options_description description = run_options();
  return po::command_line_parser(run_args).options(description).run();
}

std::string extra_options(const po::parsed_options& parsed) {
  std::string out;
  for (const auto& o : parsed.options)
    if (!kConfigOptions.count(o.string_key)) out += "option " + text::join(o.original_tokens, " ") + "\n";
  return out;
}

std::string pairs_text(const SimConfig& cfg) {
  std::string out;
  for (const auto& [k, v] : to_pairs(cfg)) out += k + "=" + v + "\n";
  return out;
}

std::string short_id(const std::string& identity) {
  return sha256_hex(identity).substr(0, kIdDigits);
}

// Every key a point may set: the default configuration's.
std::vector<std::string> known_keys() {
  std::vector<std::string> keys;
  for (const auto& [k, v] : to_pairs(resolve_config("", {}))) keys.push_back(k);
  return keys;
}

void check_key(const std::vector<std::string>& known, const std::string& key, const std::string& where) {
  if (std::find(known.begin(), known.end(), key) != known.end()) return;
  const auto near = text::closest(key, known);
  throw InputError(fmt::format("{} {}: unknown config key{}", where, key,
                               near ? " (did you mean " + *near + "?)" : " (tacsim run --help lists them)"));
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw InputError(fmt::format("{}: cannot read", p.string()));
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

std::vector<std::string> SweepPlan::point_args(const SweepPoint& p) const {
  std::vector<std::string> args = run_args;
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    args.push_back("--set");
    args.push_back(parameters[i] + "=" + p.values[i]);
  }
  return args;
}

const SweepPoint* SweepPlan::find(const std::string& id) const {
  for (const auto& p : points)
    if (p.id == id) return &p;
  return nullptr;
}

std::string SweepPlan::describe(const SweepPoint& p) const {
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < parameters.size(); ++i) parts.push_back(parameters[i] + "=" + p.values[i]);
  return text::join(parts, " ");
}

bool SweepDir::done(const std::string& id) const {
  std::error_code ec;
  return fs::is_directory(point(id), ec);
}

bool SweepDir::failed_before(const std::string& id) const {
  std::error_code ec;
  return fs::exists(failed(id), ec);
}

std::string point_identity(const std::vector<std::string>& run_args) {
  po::variables_map vm;
  const auto parsed = parse_run_args(run_args);
  po::store(parsed, vm);
  po::notify(vm);
  const RunOptions o = run_options_from(vm);
  return pairs_text(resolve_config(o.config_path, o.overrides)) + extra_options(parsed);
}

std::string point_id(const std::vector<std::string>& run_args) {
  return short_id(point_identity(run_args));
}

std::string result_id(const fs::path& result_dir, const std::vector<std::string>& run_args) {
  return short_id(pairs_text(resolve_config((result_dir / "config.ini").string(), {})) +
                  extra_options(parse_run_args(run_args)));
}

SweepPlan plan_sweep(const SweepSpec& spec, const std::vector<std::string>& run_args) {
  spec.validate();
  const auto known = known_keys();
  for (const auto* axes : {&spec.grid, &spec.zip})
    for (const auto& a : *axes) check_key(known, a.key, a.where);
  for (const auto& a : spec.random) check_key(known, a.key, a.where);
  for (const auto& b : spec.base) check_key(known, b.substr(0, b.find('=')), "[base]");

  SweepPlan plan;
  for (const auto& b : spec.base) {
    plan.run_args.push_back("--set");
    plan.run_args.push_back(b);
  }
  plan.run_args.insert(plan.run_args.end(), run_args.begin(), run_args.end());
  plan.parameters = spec.parameters();
  plan.metrics = spec.metrics;
  const auto all = spec.expand();
  std::set<std::string> ids;
  for (std::size_t i = 0; i < all.size(); ++i) {
    SweepPoint p{"", all[i]};
    try {
      p.id = point_id(plan.point_args(p));
    } catch (const InputError& e) {
      throw InputError(
          fmt::format("sweep point {} of {} ({}): {}", i + 1, all.size(), plan.describe(p), e.what()));
    }
    if (ids.insert(p.id).second)
      plan.points.push_back(std::move(p));
    else
      ++plan.merged;
  }
  return plan;
}

void write_manifest(const SweepDir& dir, const SweepPlan& plan) {
  nlohmann::ordered_json j;
  j["tacsim_sweep"] = 1;
  j["run_args"] = plan.run_args;
  j["parameters"] = plan.parameters;
  j["metrics"] = plan.metrics;
  j["points"] = nlohmann::ordered_json::array();
  for (const auto& p : plan.points) j["points"].push_back({{"id", p.id}, {"values", p.values}});
  write_file_atomic(dir.root.string(), dir.manifest().filename().string(), j.dump(1) + "\n");
}

SweepPlan read_manifest(const SweepDir& dir) {
  const std::string path = dir.manifest().string();
  SweepPlan plan;
  try {
    const auto j = nlohmann::json::parse(read_text(dir.manifest()));
    plan.run_args = j.at("run_args").get<std::vector<std::string>>();
    plan.parameters = j.at("parameters").get<std::vector<std::string>>();
    plan.metrics = j.at("metrics").get<std::vector<std::string>>();
    for (const auto& p : j.at("points")) {
      plan.points.push_back({p.at("id").get<std::string>(), p.at("values").get<std::vector<std::string>>()});
      if (plan.points.back().values.size() != plan.parameters.size())
        throw InputError(fmt::format("{}: point {} has {} values for {} parameters", path,
                                     plan.points.back().id, plan.points.back().values.size(),
                                     plan.parameters.size()));
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: not a tacsim sweep manifest ({})", path, e.what()));
  }
  return plan;
}

void claim_sweep_dir(const SweepDir& dir, const SweepPlan& plan) {
  const std::string root = dir.root.string();
  std::error_code ec;
  if (fs::exists(dir.root, ec) && fs::is_directory(dir.root, ec)) {
    if (fs::exists(dir.manifest(), ec)) {
      const SweepPlan old = read_manifest(dir);
      const bool same = old.parameters == plan.parameters && old.points.size() == plan.points.size() &&
                        std::equal(old.points.begin(), old.points.end(), plan.points.begin(),
                                   [](const SweepPoint& a, const SweepPoint& b) { return a.id == b.id; });
      if (!same)
        throw InputError(
            fmt::format("{}: holds another sweep ({} points over {}); this one has {} points over {}. Use "
                        "another --out, or "
                        "remove {} to start again",
                        root, old.points.size(), text::join(old.parameters), plan.points.size(),
                        text::join(plan.parameters), root));
    } else if (std::any_of(fs::directory_iterator(dir.root, ec), fs::directory_iterator(),
                           [&](const fs::directory_entry& e) { return e.path() != dir.lock(); })) {
      throw InputError(
          fmt::format("{}: exists and is not a sweep folder (no sweep.json); use another --out", root));
    }
  }
  prepare_output_dir(root);
  fs::create_directories(dir.points(), ec);
  if (ec) throw InputError(fmt::format("{}: cannot create ({})", dir.points().string(), ec.message()));
  write_manifest(dir, plan);
}

}  // namespace tacsim::sim
