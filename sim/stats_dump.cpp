#include "sim/stats_dump.h"

#include <systemc>

#include <ctime>

#include "modules/common/stats.h"
#include "sim/output.h"
#include "sim/version.h"

namespace tacsim::sim {

namespace {
void walk(const sc_core::sc_object* obj, nlohmann::ordered_json& out) {
  if (const auto* p = dynamic_cast<const StatsProvider*>(obj)) out[obj->name()] = p->stats().values();
  for (const sc_core::sc_object* child : obj->get_child_objects()) walk(child, out);
}
}  // namespace

nlohmann::ordered_json collect_module_stats() {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const sc_core::sc_object* top : sc_core::sc_get_top_level_objects()) walk(top, out);
  return out;
}

void write_results(const std::string& dir, const SimConfig& cfg, const nlohmann::ordered_json& summary,
                   nlohmann::ordered_json host, double wall_s) {
  nlohmann::ordered_json stats;
  stats["summary"] = summary;
  stats["modules"] = collect_module_stats();
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
  write_file_atomic(dir, "stats.json", stats.dump(2) + "\n");
}

}  // namespace tacsim::sim
