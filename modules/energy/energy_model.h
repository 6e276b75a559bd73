#pragma once
// Accelergy-style accounting: a run's actions (what each module counted) times their prices (a CostTable), by
// module and action; and the same for area, units times their area. The accounting itself is plain
// arithmetic; what counts as an action of which module is decided by the caller (sim/energy_report.cpp).
// Plain C++: no SystemC.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "modules/energy/cost_table.h"

namespace tacsim::energy {

// `count` occurrences of `action` in `module`, each costing `each` (pJ, or um^2 for area) as priced from the
// table key(s) named in `price` (for the record: "energy.int8_mult").
struct Item {
  std::string module;  // "accel.engine0.pe_array"
  std::string action;  // "multiply"
  double count = 0;
  double each = 0;
  std::string price;
  double total() const { return count * each; }
};

class Ledger {
 public:
  // Adds an item priced at the table's `key` (a missing key is an InputError naming module.action, even when
  // `count` is 0; an item of count 0 is not listed).
  void add(const CostTable& table, const std::string& module, const std::string& action, double count,
           const std::string& key);
  // Adds an item with a price computed by the caller (DRAM commands, interpolated SRAM accesses).
  void add_priced(const std::string& module, const std::string& action, double count, double each,
                  const std::string& price);

  const std::vector<Item>& items() const { return items_; }
  double total() const;
  double module_total(const std::string& module) const;
  // {"total": T, "by_module": {module: {"total": t, "<action>": {"count", "each", "total", "price"}}}},
  // modules and actions in the order they were added.
  nlohmann::ordered_json to_json(const std::string& unit) const;

 private:
  std::vector<Item> items_;
};

// The energy.* keys.
struct Params {
  bool enabled = true;                  // price the run's actions and units (stats.json energy, area, power)
  std::string table = "45nm-horowitz";  // a table in the energy tables folder, or the path of a .ini file

  std::string validate() const;
};

}  // namespace tacsim::energy
