#pragma once
// A sweep's results: for every point of the plan, its state and the metrics read from its result folder,
// written as DIR/results.csv: `point,status,<swept keys...>,<metrics...>`, one row per point in the plan's
// order, so the file depends on nothing but the results (no times, no host).
//
// A metric names one figure of a point's result as `tacsim diff` names them (sim/result_diff.h): a bare name
// is a summary figure (cycles -> summary.cycles, latency_ns_p99), a dotted one any other figure
// (modules.accel.memory.row_hits, config.pe_array.rows, layers.csv.1.cycles).
#include <optional>
#include <string>
#include <vector>

#include "sim/sweep_plan.h"

namespace tacsim::sim {

// What results.csv keeps when the sweep names no metric.
const std::vector<std::string>& default_metrics();

std::string metric_figure(const std::string& metric);

// What can be checked before anything runs: a bare name must be a summary figure tacsim writes, a
// config.<key> a config key. Throws InputError naming the metric.
void check_metric_names(const std::vector<std::string>& metrics);

enum class PointState { kDone, kFailed, kPending };

struct SweepRow {
  const SweepPoint* point = nullptr;
  PointState state = PointState::kPending;
  std::vector<std::optional<std::string>>
      metrics;  // in SweepTable::metrics order; nullopt: not in the result
};

struct SweepTable {
  std::vector<std::string> parameters, metrics;
  std::vector<SweepRow> rows;  // in the plan's order
  // One message per metric that no finished point has (a misspelt name?), with the closest figure name.
  std::vector<std::string> unknown_metrics;
  std::size_t count(PointState s) const;
};

// Reads each finished point's figures.
SweepTable gather_results(const SweepDir& dir, const SweepPlan& plan,
                          const std::vector<std::string>& metrics);
// Throws InputError with the first of table.unknown_metrics, if any.
void check_metrics_found(const SweepTable& table);

std::string results_csv(const SweepTable& table);
// Rewrites DIR/results.csv atomically.
void write_results_csv(const SweepDir& dir, const SweepTable& table);

// A CSV field, quoted when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& s);

}  // namespace tacsim::sim
