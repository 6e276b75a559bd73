#pragma once
// Statistics: every module owns one StatsGroup, registers its counters in one place (its constructor) with a
// name, a unit and a description, and bumps plain integers on the hot path. Derived figures (utilisation,
// bandwidth) are functions evaluated once, when the dumper walks the module tree at the end of a run.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tacsim {

class StatsGroup {
 public:
  struct Entry {
    std::string name;
    std::string unit;
    std::string description;
    std::function<nlohmann::ordered_json()> value;
  };

  void add(const std::string& name, const std::uint64_t* counter, const std::string& unit,
           const std::string& description);
  void add_derived(const std::string& name, std::function<double()> value, const std::string& unit,
                   const std::string& description);
  // For figures that are not a single number (a histogram, a list of per-bank counts).
  void add_json(const std::string& name, std::function<nlohmann::ordered_json()> value,
                const std::string& unit, const std::string& description);

  const std::vector<Entry>& entries() const { return entries_; }
  // {"name": value, ...} in registration order.
  nlohmann::ordered_json values() const;
  // Looks a value up by name; throws std::out_of_range for a name never registered.
  nlohmann::ordered_json value(const std::string& name) const;

 private:
  void check_new(const std::string& name) const;
  std::vector<Entry> entries_;
};

// Implemented by every module that has statistics; the dumper finds them with dynamic_cast on the sc_object
// tree.
class StatsProvider {
 public:
  virtual ~StatsProvider() = default;
  virtual const StatsGroup& stats() const = 0;
};

}  // namespace tacsim
