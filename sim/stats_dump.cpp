#include "sim/stats_dump.h"

#include <systemc>

#include <ctime>
#include <functional>

#include "modules/common/stats.h"
#include "sim/config_keys.h"
#include "sim/energy_report.h"
#include "sim/output.h"
#include "sim/summary.h"
#include "sim/version.h"

namespace tacsim::sim {

namespace {
// Calls f(name, group) for every StatsProvider in tree order.
void walk(const sc_core::sc_object* obj,
          const std::function<void(const std::string&, const StatsGroup&)>& f) {
  if (const auto* p = dynamic_cast<const StatsProvider*>(obj)) f(obj->name(), p->stats());
  for (const sc_core::sc_object* child : obj->get_child_objects()) walk(child, f);
}

void walk_all(const std::function<void(const std::string&, const StatsGroup&)>& f) {
  for (const sc_core::sc_object* top : sc_core::sc_get_top_level_objects()) walk(top, f);
}

// stats.schema.json: the unit and meaning of every figure of stats.json outside `host`.
nlohmann::ordered_json schema(const SimConfig& cfg, const nlohmann::ordered_json& summary) {
  nlohmann::ordered_json out;
  out["summary"] = summary_schema(summary);
  const nlohmann::ordered_json energy = energy_schema();
  for (const auto& [section, figures] : energy.items()) out[section] = figures;
  nlohmann::ordered_json modules = nlohmann::ordered_json::object();
  walk_all([&](const std::string& name, const StatsGroup& g) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& e : g.entries()) m[e.name] = {{"unit", e.unit}, {"description", e.description}};
    modules[name] = m;
  });
  out["modules"] = modules;
  SimConfig copy = cfg;
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  for (const auto& k : config_keys(copy)) config[k.key] = {{"unit", k.unit}, {"description", k.description}};
  out["config"] = config;
  return out;
}
}  // namespace

nlohmann::ordered_json collect_module_stats() {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  walk_all([&](const std::string& name, const StatsGroup& g) { out[name] = g.values(); });
  return out;
}

nlohmann::ordered_json write_results(const std::string& dir, const SimConfig& cfg,
                                     const nlohmann::ordered_json& summary, nlohmann::ordered_json host,
                                     double wall_s) {
  nlohmann::ordered_json stats;
  stats["summary"] = summary;
  stats["modules"] = collect_module_stats();
  add_energy_and_area(cfg, stats);
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  for (const auto& [k, v] : to_pairs(cfg)) config[k] = v;
  stats["config"] = config;
  const std::time_t t = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  nlohmann::ordered_json h = {{"wall_s", wall_s}};
  for (auto& [k, v] : host.items()) h[k] = v;
  h["tacsim_version"] = kVersion;
  h["systemc_version"] = sc_core::sc_release();
  h["date_utc"] = date;
  stats["host"] = h;
  write_file_atomic(dir, "config.ini", to_ini(cfg));
  write_file_atomic(dir, "stats.schema.json", schema(cfg, stats["summary"]).dump(2) + "\n");
  write_file_atomic(dir, "stats.json", stats.dump(2) + "\n");
  return stats;
}

}  // namespace tacsim::sim
