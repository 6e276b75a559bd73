#pragma once
// The one stats dumper: walks the SystemC object tree and collects every StatsProvider's group under its
// hierarchical name, e.g. {"accel.engine0.pe_array": {"macs": ..., ...}, ...}, in tree order.
#include <string>

#include <nlohmann/json.hpp>

#include "sim/config.h"

namespace tacsim::sim {

nlohmann::ordered_json collect_module_stats();

// Writes the result files every simulating command writes, each atomically: config.ini, stats.schema.json
// (the unit and description of every figure), then stats.json = {"summary", "modules" (the module tree),
// "config", "host"}, with "energy", "area" and "power" after "modules" (sim/energy_report.h). `host` holds
// what may differ between two runs of one configuration; the wall time, versions and date are added to it
// here. Returns what stats.json holds.
nlohmann::ordered_json write_results(const std::string& dir, const SimConfig& cfg,
                                     const nlohmann::ordered_json& summary, nlohmann::ordered_json host,
                                     double wall_s);

}  // namespace tacsim::sim
