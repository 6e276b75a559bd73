#include "sim/sweep_analysis.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "sim/result_diff.h"

namespace tacsim::sim {

namespace {

// a dominates b: no worse in every objective, better in one.
bool dominates(const std::vector<double>& a, const std::vector<double>& b,
               const std::vector<bool>& maximize) {
  bool better = false;
  for (std::size_t k = 0; k < a.size(); ++k) {
    const double x = maximize[k] ? -a[k] : a[k], y = maximize[k] ? -b[k] : b[k];
    if (x > y) return false;
    better |= x < y;
  }
  return better;
}

bool uses_fraction(const std::string& weights) {
  return weights == "hp" || weights == "unstructured";
}

const std::vector<std::string> kColumns = {"model",    "task",   "weights", "pruned_fraction",
                                           "accuracy", "method", "source"};

}  // namespace

std::vector<std::size_t> pareto_front(const std::vector<std::vector<double>>& values,
                                      const std::vector<bool>& maximize) {
  std::vector<std::size_t> front;
  for (std::size_t i = 0; i < values.size(); ++i) {
    bool dominated = false;
    for (std::size_t j = 0; j < values.size() && !dominated; ++j)
      dominated = j != i && dominates(values[j], values[i], maximize);
    if (!dominated) front.push_back(i);
  }
  return front;
}

std::vector<std::string> AccuracyTable::tasks() const {
  std::vector<std::string> out;
  for (const auto& e : entries)
    if (std::find(out.begin(), out.end(), e.task) == out.end()) out.push_back(e.task);
  return out;
}

AccuracyTable read_accuracy_table(const std::string& path) {
  AccuracyTable table;
  table.path = path;
  std::ifstream in = text::open_input(path, "accuracy table");
  std::vector<std::string> header;
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    const std::string t = text::trim(line);
    if (t.empty() || t.front() == '#') continue;
    const auto fields = split_csv_line(t, path, static_cast<std::size_t>(n));
    const std::string where = fmt::format("{}:{}: ", path, n);
    if (header.empty()) {
      header = fields;
      if (header != kColumns) throw InputError(where + "expected the header " + text::join(kColumns, ","));
      continue;
    }
    if (fields.size() != header.size())
      throw InputError(where + fmt::format("{} fields, the header has {}", fields.size(), header.size()));
    AccuracyEntry e;
    e.line = n;
    e.model = text::trim(fields[0]);
    e.task = text::trim(fields[1]);
    e.weights = text::trim(fields[2]);
    const std::string fraction = text::trim(fields[3]);
    if (uses_fraction(e.weights) != !fraction.empty())
      throw InputError(where +
                       fmt::format("pruned_fraction: {} for hp and unstructured weights, empty otherwise",
                                   "a number in [0, 1)"));
    if (!fraction.empty()) {
      e.pruned_fraction = text::parse_double(fraction, where + "pruned_fraction");
      if (*e.pruned_fraction < 0 || *e.pruned_fraction >= 1)
        throw InputError(where +
                         fmt::format("pruned_fraction: expected a number in [0, 1), got {}", fraction));
    }
    e.accuracy = text::parse_double(text::trim(fields[4]), where + "accuracy");
    if (e.accuracy < 0 || e.accuracy > 1)
      throw InputError(where + fmt::format("accuracy: expected a fraction in [0, 1], got {}", fields[4]));
    e.method = text::trim(fields[5]);
    e.source = text::trim(fields[6]);
    if (e.task.empty() || e.weights.empty() || e.source.empty())
      throw InputError(where + "task, weights and source must not be empty (every number needs its source)");
    table.entries.push_back(std::move(e));
  }
  if (header.empty()) throw InputError(fmt::format("{}: empty accuracy table", path));
  return table;
}

std::string SparsitySetting::describe() const {
  return uses_fraction(weights) ? fmt::format("{} {:g}", weights, pruned_fraction) : weights;
}

const AccuracyEntry* find_accuracy(const AccuracyTable& table, const std::string& task,
                                   const SparsitySetting& s) {
  const AccuracyEntry* best = nullptr;
  for (const auto& e : table.entries) {
    if (e.task != task || e.weights != s.weights || !(e.model.empty() || e.model == s.model)) continue;
    if (e.pruned_fraction && std::fabs(*e.pruned_fraction - s.pruned_fraction) > 1e-9) continue;
    if (!best || e.accuracy > best->accuracy) best = &e;
  }
  return best;
}

double parse_duration_ns(const std::string& text_in, const std::string& what) {
  const std::string t = text::trim(text_in);
  const auto unit_at = t.find_first_not_of("0123456789.eE+-");
  const std::string number = text::trim(t.substr(0, unit_at)),
                    unit = unit_at == std::string::npos ? "" : text::trim(t.substr(unit_at));
  const auto v = text::to_double(number);
  double scale = 0;
  if (unit == "ns")
    scale = 1;
  else if (unit == "us")
    scale = 1e3;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "s")
    scale = 1e9;
  if (!v || *v < 0 || scale == 0)
    throw InputError(
        fmt::format("{}: expected a duration such as 5ms, 250us, 300ns or 1.5s, got '{}'", what, text_in));
  return *v * scale;
}

}  // namespace tacsim::sim
