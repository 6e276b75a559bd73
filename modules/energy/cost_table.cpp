#include "modules/energy/cost_table.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/text.h"

namespace tacsim::energy {

CostTable CostTable::load(const std::string& path) {
  std::ifstream in = text::open_input(path, "energy table");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

CostTable CostTable::parse(const std::string& text, const std::string& source) {
  text::KeyValueSyntax syntax;
  syntax.sections = true;
  std::istringstream in(text);
  const auto lines = text::parse_key_values(in, source, syntax);
  CostTable t;
  t.source_ = source;
  for (const auto& l : lines) {
    t.values_[l.key] = text::parse_double(l.value, fmt::format("{}:{}: {}", source, l.line, l.key));
    t.order_.push_back(l.key);
  }
  return t;
}

double CostTable::at(const std::string& key, const std::string& action) const {
  const auto it = values_.find(key);
  if (it == values_.end())
    throw InputError(fmt::format("{}: no figure for '{}' (the price of {})", source_, key, action));
  return it->second;
}

std::vector<std::string> CostTable::keys_under(const std::string& prefix) const {
  std::vector<std::string> out;
  for (const auto& k : order_)
    if (text::starts_with(k, prefix + ".")) out.push_back(k.substr(prefix.size() + 1));
  return out;
}

double sram_access_pj(const CostTable& table, const std::string& prefix, double bank_kib,
                      const std::string& action) {
  std::vector<std::pair<double, double>> points;  // (KiB, pJ)
  for (const auto& name : table.keys_under(prefix)) {
    if (!text::ends_with(name, "kib"))
      throw InputError(fmt::format("{}: '{}.{}': an SRAM point is named by its bank size, e.g. 8kib",
                                   table.source(), prefix, name));
    const double kib =
        text::parse_double(name.substr(0, name.size() - 3), table.source() + ": " + prefix + "." + name);
    points.emplace_back(kib, table.at(prefix + "." + name, action));
  }
  if (points.empty())
    throw InputError(
        fmt::format("{}: no figure for '{}.<size>kib' (the price of {})", table.source(), prefix, action));
  std::sort(points.begin(), points.end());
  if (bank_kib <= points.front().first) return points.front().second;
  if (bank_kib >= points.back().first) return points.back().second;
  for (std::size_t i = 1; i < points.size(); ++i)
    if (bank_kib <= points[i].first) {
      const auto [k0, e0] = points[i - 1];
      const auto [k1, e1] = points[i];
      // Horowitz's points (8 KiB 10 pJ, 32 KiB 20 pJ, 1 MiB 100 pJ) grow about as the square root of the
      // size: interpolate in log(size).
      const double f = std::log(bank_kib / k0) / std::log(k1 / k0);
      return e0 + f * (e1 - e0);
    }
  return points.back().second;
}

}  // namespace tacsim::energy
