#include "sim/stats_dump.h"

#include <systemc>

#include "modules/common/stats.h"

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

}  // namespace tacsim::sim
