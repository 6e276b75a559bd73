#include "sim/diff_command.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "modules/common/error.h"
#include "sim/result_diff.h"

namespace po = boost::program_options;

namespace tacsim::sim {

namespace {

const char* kDiffUsage =
    "usage: tacsim diff [options] OLD NEW\n"
    "\n"
    "Compares two results: OLD and NEW are result folders (stats.json outside `host`, and every .csv file)\n"
    "or two stats.json files. Prints each figure that changed (config keys first, then by module) and exits\n"
    "0 when all are within tolerance, 1 when any moved beyond it, 2 on bad input.\n"
    "Figure names: config.<key>, summary.<name>, modules.<module>.<stat>, <file>.csv.<row>.<column>.\n";

std::string show(const std::optional<std::string>& v) {
  return v ? *v : std::string("(absent)");
}

std::string show_change(const Change& c) {
  std::string s;
  if (!c.old_text)
    s = "added";
  else if (!c.new_text)
    s = "removed";
  else if (!c.relative)
    s = "changed";
  else if (std::isinf(*c.relative))
    s = "from 0";
  else {
    const double sign =
        std::strtold(c.new_text->c_str(), nullptr) < std::strtold(c.old_text->c_str(), nullptr) ? -1 : 1;
    s = fmt::format("{:+.3g} %", sign * 100 * *c.relative);
  }
  if (!c.beyond) s += fmt::format(" (within tolerance {:g})", c.tolerance);
  return s;
}

// Groups in the report's order, each with its changes.
std::vector<std::pair<std::string, std::vector<const Change*>>> by_group(const DiffReport& r) {
  std::vector<std::pair<std::string, std::vector<const Change*>>> out;
  for (const Change& c : r.changes) {
    if (out.empty() || out.back().first != c.group) out.push_back({c.group, {}});
    out.back().second.push_back(&c);
  }
  return out;
}

std::string summary_line(const DiffReport& r) {
  const std::size_t beyond = r.beyond();
  return fmt::format("{} figures compared: {} moved beyond tolerance, {} within", r.compared, beyond,
                     r.changes.size() - beyond);
}

std::string as_table(const DiffReport& r, std::size_t max_rows) {
  std::string out;
  for (const auto& [group, changes] : by_group(r)) {
    out += fmt::format("{} ({} changed)\n", group, changes.size());
    const std::size_t shown = max_rows == 0 ? changes.size() : std::min(max_rows, changes.size());
    std::size_t w_label = 0, w_old = 0, w_new = 0;
    for (std::size_t i = 0; i < shown; ++i) {
      w_label = std::max(w_label, changes[i]->label.size());
      w_old = std::max(w_old, show(changes[i]->old_text).size());
      w_new = std::max(w_new, show(changes[i]->new_text).size());
    }
    for (std::size_t i = 0; i < shown; ++i) {
      const Change& c = *changes[i];
      out += fmt::format("  {:<{}}  {:>{}} -> {:<{}}  {}\n", c.label, w_label, show(c.old_text), w_old,
                         show(c.new_text), w_new, show_change(c));
    }
    if (shown < changes.size())
      out += fmt::format("  ... and {} more in {} (--max-rows 0 shows all)\n", changes.size() - shown, group);
  }
  return out + summary_line(r) + "\n";
}

std::string escape_markdown(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string as_markdown(const DiffReport& r, std::size_t max_rows) {
  std::string out = fmt::format("**tacsim diff**: {}\n\n", summary_line(r));
  if (r.changes.empty()) return out;
  out += "| group | figure | old | new | change |\n|---|---|---|---|---|\n";
  for (const auto& [group, changes] : by_group(r)) {
    const std::size_t shown = max_rows == 0 ? changes.size() : std::min(max_rows, changes.size());
    for (std::size_t i = 0; i < shown; ++i) {
      const Change& c = *changes[i];
      out += fmt::format("| {} | `{}` | {} | {} | {} |\n", escape_markdown(group), escape_markdown(c.label),
                         escape_markdown(show(c.old_text)), escape_markdown(show(c.new_text)),
                         escape_markdown(show_change(c)));
    }
    if (shown < changes.size())
      out += fmt::format("| {} | ... {} more | | | |\n", escape_markdown(group), changes.size() - shown);
  }
  return out;
}

std::string as_json(const DiffReport& r) {
  nlohmann::ordered_json j;
  j["compared"] = r.compared;
  j["beyond_tolerance"] = r.beyond();
  j["changes"] = nlohmann::ordered_json::array();
  for (const Change& c : r.changes) {
    nlohmann::ordered_json e;
    e["group"] = c.group;
    e["key"] = c.key;
    e["old"] = c.old_text ? nlohmann::ordered_json(*c.old_text) : nlohmann::ordered_json();
    e["new"] = c.new_text ? nlohmann::ordered_json(*c.new_text) : nlohmann::ordered_json();
    // JSON has no infinity: a change from 0 has a null relative change.
    e["relative_change"] = c.relative && std::isfinite(*c.relative) ? nlohmann::ordered_json(*c.relative)
                                                                    : nlohmann::ordered_json();
    e["tolerance"] = c.tolerance;
    e["beyond_tolerance"] = c.beyond;
    j["changes"].push_back(e);
  }
  return j.dump(2) + "\n";
}

}  // namespace

int diff_main(const std::vector<std::string>& args) {
  po::options_description d("tacsim diff options");
  d.add_options()("help,h", "print this help")(
      "tol", po::value<std::vector<std::string>>()->composing()->value_name("KEY_OR_GLOB=REL"),
      "relative tolerance for the figures a glob matches, e.g. --tol 'summary.cycles=0.01' (repeatable; the "
      "last match wins; default: exact)")(
      "format", po::value<std::string>()->default_value("table")->value_name("table|json|markdown"),
      "how to print the changes")("max-rows", po::value<std::size_t>()->default_value(20)->value_name("N"),
                                  "changes shown per group in table and markdown output (0: all)")(
      "quiet,q", "print nothing; the exit code says it all");
  po::options_description hidden;
  hidden.add_options()("paths", po::value<std::vector<std::string>>(), "");
  po::options_description all;
  all.add(d).add(hidden);
  po::positional_options_description pos;
  pos.add("paths", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << kDiffUsage << "\n" << d;
    return 0;
  }
  const auto paths =
      vm.count("paths") ? vm["paths"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (paths.size() != 2)
    throw InputError(fmt::format("diff: expected two results (OLD NEW), got {}", paths.size()));
  const std::string format = vm["format"].as<std::string>();
  if (format != "table" && format != "json" && format != "markdown")
    throw InputError(fmt::format("--format: expected table, json or markdown, got '{}'", format));
  std::vector<Tolerance> tolerances;
  if (vm.count("tol"))
    for (const auto& t : vm["tol"].as<std::vector<std::string>>()) tolerances.push_back(parse_tolerance(t));

  const auto old_result = load_result(paths[0]);
  const auto new_result = load_result(paths[1]);
  const DiffReport report = compare_results(old_result, new_result, tolerances);
  if (!vm.count("quiet")) {
    const std::size_t max_rows = vm["max-rows"].as<std::size_t>();
    if (format == "json")
      std::cout << as_json(report);
    else if (format == "markdown")
      std::cout << as_markdown(report, max_rows);
    else
      std::cout << as_table(report, max_rows);
  }
  return report.beyond() == 0 ? 0 : 1;
}

}  // namespace tacsim::sim
