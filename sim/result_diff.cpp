#include "sim/result_diff.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "modules/common/error.h"

namespace tacsim::sim {

namespace fs = std::filesystem;

namespace {

std::string read_whole(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) throw InputError(fmt::format("{}: not a file", p.string()));
  std::ifstream f(p, std::ios::binary);
  if (!f) throw InputError(fmt::format("{}: cannot read", p.string()));
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void flatten(const nlohmann::ordered_json& j, const std::string& group, const std::string& key,
             std::vector<Figure>& out) {
  if (j.is_object() && !j.empty()) {
    for (const auto& [k, v] : j.items()) flatten(v, group, key + "." + k, out);
    return;
  }
  if (j.is_array() && !j.empty()) {
    for (std::size_t i = 0; i < j.size(); ++i) flatten(j[i], group, fmt::format("{}.{}", key, i), out);
    return;
  }
  const std::string label = key.substr(group.size() + 1);
  out.push_back({group, key, label, j.is_string() ? j.get<std::string>() : j.dump()});
}

void load_stats(const fs::path& p, std::vector<Figure>& out) {
  nlohmann::ordered_json stats;
  try {
    stats = nlohmann::ordered_json::parse(read_whole(p));
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(fmt::format("{}: not valid JSON ({})", p.string(), e.what()));
  }
  if (!stats.is_object()) throw InputError(fmt::format("{}: expected a JSON object", p.string()));
  // The configuration first: a changed key usually explains every other change.
  for (const char* section : {"config", "summary"})
    if (stats.contains(section)) flatten(stats[section], section, section, out);
  if (stats.contains("modules")) {
    const auto& modules = stats["modules"];
    if (!modules.is_object()) throw InputError(fmt::format("{}: `modules` must be an object", p.string()));
    for (const auto& [name, values] : modules.items()) {
      const std::string group = "modules." + name;
      flatten(values, group, group, out);
    }
  }
  // Every other top-level key but `host` (which differs between runs by design) is compared as well.
  for (const auto& [k, v] : stats.items())
    if (k != "config" && k != "summary" && k != "modules" && k != "host") flatten(v, k, k, out);
}

}  // namespace

std::vector<std::string> split_csv_line(const std::string& line, const fs::path& p, std::size_t line_no) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  if (quoted) throw InputError(fmt::format("{}:{}: unterminated quoted field", p.string(), line_no));
  return fields;
}

namespace {

void load_csv(const fs::path& p, std::vector<Figure>& out) {
  std::istringstream in(read_whole(p));
  const std::string file = p.filename().string();
  std::string line;
  if (!std::getline(in, line)) return;  // an empty file holds no figures
  const auto header = split_csv_line(line, p, 1);
  // The column that names a row for a reader: `name` (ops.csv), else `id` (requests.csv), else the first.
  std::size_t label_col = 0;
  for (const char* c : {"id", "name"})
    if (auto it = std::find(header.begin(), header.end(), c); it != header.end())
      label_col = it - header.begin();
  out.push_back({file, file + ".columns", "columns", line});
  std::size_t row = 0, line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    const auto fields = split_csv_line(line, p, line_no);
    if (fields.size() != header.size())
      throw InputError(fmt::format("{}:{}: {} fields, the header has {}", p.string(), line_no, fields.size(),
                                   header.size()));
    ++row;
    const std::string row_label = fmt::format("row {} {}", row, fields[label_col]);
    for (std::size_t c = 0; c < header.size(); ++c)
      out.push_back(
          {file, fmt::format("{}.{}.{}", file, row, header[c]), row_label + " " + header[c], fields[c]});
  }
}

std::optional<long double> as_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const long double v = std::strtold(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::vector<Figure> load_result(const std::string& path) {
  const fs::path p(path);
  std::error_code ec;
  std::vector<Figure> out;
  if (fs::is_directory(p, ec)) {
    std::vector<fs::path> csvs;
    for (const auto& e : fs::directory_iterator(p, ec))
      if (e.is_regular_file() && e.path().extension() == ".csv" && e.path().filename().string()[0] != '.')
        csvs.push_back(e.path());
    if (ec) throw InputError(fmt::format("{}: cannot list the folder ({})", path, ec.message()));
    std::sort(csvs.begin(), csvs.end());
    const bool has_stats = fs::exists(p / "stats.json");
    if (!has_stats && csvs.empty())
      throw InputError(fmt::format("{}: not a result folder (no stats.json and no .csv file)", path));
    if (has_stats) load_stats(p / "stats.json", out);
    for (const auto& c : csvs) load_csv(c, out);
    return out;
  }
  if (!fs::exists(p, ec)) throw InputError(fmt::format("{}: no such file or folder", path));
  load_stats(p, out);
  return out;
}

Tolerance parse_tolerance(const std::string& text) {
  const auto eq = text.rfind('=');
  const std::string expected = "expected KEY_OR_GLOB=REL with REL a number >= 0, e.g. 'summary.cycles=0.01'";
  if (eq == std::string::npos || eq == 0) throw InputError(fmt::format("--tol '{}': {}", text, expected));
  const std::string rel = text.substr(eq + 1);
  const auto v = as_number(rel);
  if (!v || !(*v >= 0) || std::isinf(*v)) throw InputError(fmt::format("--tol '{}': {}", text, expected));
  return {text.substr(0, eq), static_cast<double>(*v)};
}

std::size_t DiffReport::beyond() const {
  return std::count_if(changes.begin(), changes.end(), [](const Change& c) { return c.beyond; });
}

DiffReport compare_results(const std::vector<Figure>& old_result, const std::vector<Figure>& new_result,
                           const std::vector<Tolerance>& tolerances) {
  std::map<std::string, const Figure*> by_key;
  for (const Figure& f : new_result) by_key.emplace(f.key, &f);
  auto tolerance_for = [&](const std::string& key) {
    double tol = 0;
    for (const Tolerance& t : tolerances)
      if (fnmatch(t.glob.c_str(), key.c_str(), 0) == 0) tol = t.relative;
    return tol;
  };
  DiffReport report;
  std::map<std::string, bool> seen;
  auto consider = [&](const Figure& f, const Figure* old_f, const Figure* new_f) {
    ++report.compared;
    if (old_f && new_f && old_f->text == new_f->text) return;
    Change c{f.group, f.key, f.label, std::nullopt, std::nullopt, std::nullopt, tolerance_for(f.key), true};
    if (old_f) c.old_text = old_f->text;
    if (new_f) c.new_text = new_f->text;
    if (old_f && new_f) {
      const auto a = as_number(old_f->text), b = as_number(new_f->text);
      if (a && b) {
        const long double delta = std::fabs(*b - *a);
        c.relative = *a == 0 ? (delta == 0 ? 0.0 : std::numeric_limits<double>::infinity())
                             : static_cast<double>(delta / std::fabs(*a));
        c.beyond = *c.relative > c.tolerance;
      }
    }
    report.changes.push_back(std::move(c));
  };
  for (const Figure& f : old_result) {
    seen[f.key] = true;
    const auto it = by_key.find(f.key);
    consider(f, &f, it == by_key.end() ? nullptr : it->second);
  }
  for (const Figure& f : new_result)
    if (!seen.count(f.key)) consider(f, nullptr, &f);
  // Config first, then the groups in the order they appear in the old result (new groups last), so the
  // figures a result adds stand with their group, not at the end.
  std::map<std::string, std::size_t> rank;
  for (const auto* result : {&old_result, &new_result})
    for (const Figure& f : *result) rank.emplace(f.group, f.group == "config" ? 0 : rank.size() + 1);
  std::stable_sort(report.changes.begin(), report.changes.end(),
                   [&](const Change& a, const Change& b) { return rank.at(a.group) < rank.at(b.group); });
  return report;
}

}  // namespace tacsim::sim
