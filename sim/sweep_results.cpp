#include "sim/sweep_results.h"

#include <algorithm>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "sim/config.h"
#include "sim/output.h"
#include "sim/result_diff.h"
#include "sim/summary.h"

namespace tacsim::sim {

namespace {

const char* state_name(PointState s) {
  switch (s) {
    case PointState::kDone:
      return "done";
    case PointState::kFailed:
      return "failed";
    case PointState::kPending:
      return "pending";
  }
  return "";
}

bool needs_csv_files(const std::vector<std::string>& figures) {
  return std::any_of(figures.begin(), figures.end(),
                     [](const std::string& f) { return f.find(".csv.") != std::string::npos; });
}

}  // namespace

const std::vector<std::string>& default_metrics() {
  static const std::vector<std::string> metrics = {"cycles", "sim_time_ns", "pe_utilization", "dram_bytes"};
  return metrics;
}

std::string metric_figure(const std::string& metric) {
  return metric.find('.') == std::string::npos ? "summary." + metric : metric;
}

void check_metric_names(const std::vector<std::string>& metrics) {
  std::vector<std::string> keys;
  for (const auto& m : metrics) {
    const std::string figure = metric_figure(m);
    if (text::starts_with(figure, "summary.")) {
      // summary_schema() knows every summary figure a command writes (its unit and meaning) and refuses
      // others.
      try {
        summary_schema(nlohmann::ordered_json{{figure.substr(8), 0}});
      } catch (const std::logic_error&) {
        throw InputError(
            fmt::format("--metric {}: tacsim writes no summary figure of that name (a result's "
                        "stats.schema.json lists them; a dotted name such as "
                        "modules.accel.memory.row_hits reaches any other figure)",
                        m));
      }
    } else if (text::starts_with(figure, "config.")) {
      if (keys.empty())
        for (const auto& [k, v] : to_pairs(resolve_config("", {}))) keys.push_back(k);
      const std::string key = figure.substr(7);
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        const auto near = text::closest(key, keys);
        throw InputError(fmt::format("--metric {}: unknown config key '{}'{}", m, key,
                                     near ? " (did you mean config." + *near + "?)" : ""));
      }
    }
  }
}

std::size_t SweepTable::count(PointState s) const {
  return std::count_if(rows.begin(), rows.end(), [s](const SweepRow& r) { return r.state == s; });
}

SweepTable gather_results(const SweepDir& dir, const SweepPlan& plan,
                          const std::vector<std::string>& metrics) {
  SweepTable t;
  t.parameters = plan.parameters;
  t.metrics = metrics;
  std::vector<std::string> figures;
  for (const auto& m : metrics) figures.push_back(metric_figure(m));
  const bool whole_folder = needs_csv_files(figures);
  std::vector<bool> seen(metrics.size(), false);
  std::vector<std::string> first_names;  // the first finished point's figure names, for "did you mean"
  for (const auto& p : plan.points) {
    SweepRow row{&p, PointState::kPending, std::vector<std::optional<std::string>>(metrics.size())};
    if (dir.done(p.id)) {
      row.state = PointState::kDone;
      const auto result =
          load_result(whole_folder ? dir.point(p.id).string() : (dir.point(p.id) / "stats.json").string());
      std::map<std::string, const std::string*> by_key;
      for (const auto& f : result) by_key.emplace(f.key, &f.text);
      if (first_names.empty())
        for (const auto& f : result) first_names.push_back(f.key);
      for (std::size_t i = 0; i < figures.size(); ++i)
        if (const auto it = by_key.find(figures[i]); it != by_key.end()) {
          row.metrics[i] = *it->second;
          seen[i] = true;
        }
    } else if (dir.failed_before(p.id)) {
      row.state = PointState::kFailed;
    }
    t.rows.push_back(std::move(row));
  }
  if (!first_names.empty())
    for (std::size_t i = 0; i < metrics.size(); ++i)
      if (!seen[i]) {
        const auto near = text::closest(figures[i], first_names);
        t.unknown_metrics.push_back(fmt::format("--metric {}: no finished point has the figure {}{}",
                                                metrics[i], figures[i],
                                                near ? " (did you mean " + *near + "?)" : ""));
      }
  return t;
}

void check_metrics_found(const SweepTable& table) {
  if (!table.unknown_metrics.empty()) throw InputError(table.unknown_metrics.front());
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string results_csv(const SweepTable& t) {
  std::vector<std::string> header = {"point", "status"};
  for (const auto* names : {&t.parameters, &t.metrics})
    for (const auto& n : *names) header.push_back(csv_field(n));
  std::string out = text::join(header, ",") + "\n";
  for (const auto& r : t.rows) {
    std::vector<std::string> fields = {r.point->id, state_name(r.state)};
    for (const auto& v : r.point->values) fields.push_back(csv_field(v));
    for (const auto& m : r.metrics) fields.push_back(m ? csv_field(*m) : "");
    out += text::join(fields, ",") + "\n";
  }
  return out;
}

void write_results_csv(const SweepDir& dir, const SweepTable& table) {
  write_file_atomic(dir.root.string(), dir.results().filename().string(), results_csv(table));
}

}  // namespace tacsim::sim
