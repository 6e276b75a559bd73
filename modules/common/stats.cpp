#include "modules/common/stats.h"

#include <cmath>
#include <stdexcept>

namespace tacsim {

void StatsGroup::check_new(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) throw std::logic_error("statistic registered twice: " + name);
}

void StatsGroup::add(const std::string& name, const std::uint64_t* counter, const std::string& unit,
                     const std::string& description) {
  check_new(name);
  entries_.push_back({name, unit, description, [counter] { return nlohmann::ordered_json(*counter); }});
}

void StatsGroup::add_derived(const std::string& name, std::function<double()> value, const std::string& unit,
                             const std::string& description) {
  check_new(name);
  entries_.push_back({name, unit, description, [value = std::move(value)] {
                        const double v = value();
                        // JSON has no NaN or infinity: an undefined ratio (0 / 0) is written as null.
                        return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json();
                      }});
}

void StatsGroup::add_json(const std::string& name, std::function<nlohmann::ordered_json()> value,
                          const std::string& unit, const std::string& description) {
  check_new(name);
  entries_.push_back({name, unit, description, std::move(value)});
}

nlohmann::ordered_json StatsGroup::values() const {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& e : entries_) out[e.name] = e.value();
  return out;
}

nlohmann::ordered_json StatsGroup::value(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return e.value();
  throw std::out_of_range("no statistic named " + name);
}

}  // namespace tacsim
