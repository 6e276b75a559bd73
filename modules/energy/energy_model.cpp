#include "modules/energy/energy_model.h"

namespace tacsim::energy {

void Ledger::add(const CostTable& table, const std::string& module, const std::string& action, double count,
                 const std::string& key) {
  add_priced(module, action, count, table.at(key, module + "." + action), key);
}

void Ledger::add_priced(const std::string& module, const std::string& action, double count, double each,
                        const std::string& price) {
  if (count == 0) return;  // priced (a missing price is still an error), but nothing to list
  items_.push_back({module, action, count, each, price});
}

double Ledger::total() const {
  double t = 0;
  for (const Item& i : items_) t += i.total();
  return t;
}

double Ledger::module_total(const std::string& module) const {
  double t = 0;
  for (const Item& i : items_)
    if (i.module == module) t += i.total();
  return t;
}

nlohmann::ordered_json Ledger::to_json(const std::string& unit) const {
  nlohmann::ordered_json by_module = nlohmann::ordered_json::object();
  for (const Item& i : items_) {
    auto& m = by_module[i.module];
    if (!m.contains("total")) m["total"] = module_total(i.module);
    m[i.action] = {{"count", i.count}, {"each_" + unit, i.each}, {"total", i.total()}, {"price", i.price}};
  }
  return {{"unit", unit}, {"total", total()}, {"by_module", by_module}};
}

std::string Params::validate() const {
  if (enabled && table.empty()) return "table: must name a table, e.g. 45nm-horowitz";
  return "";
}

}  // namespace tacsim::energy
