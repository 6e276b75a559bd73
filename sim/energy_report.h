#pragma once
// A run's energy, area and power (issue 18): the module statistics a run already counted, priced by the
// configured cost table (modules/energy). Works on the stats as written, so every simulating command gets it
// from one call in write_results(). No SystemC.
#include <string>

#include <nlohmann/json.hpp>

#include "sim/config.h"

namespace tacsim::sim {

// The energy tables: $TACSIM_ENERGY_TABLES_DIR when set, else an installed binary's
// share/tacsim/energy-tables, else the source tree's modules/energy/tables.
std::string energy_tables_dir();
// energy.table as a file: a bundled table's name, or a path (containing '/' or ending in .ini).
std::string energy_table_path(const SimConfig& cfg);

// Checks before anything is simulated that the table loads and prices the configured memory; throws
// InputError naming the key, the file and line, or the missing figure.
void check_energy_config(const SimConfig& cfg);

// Adds stats["energy"] (pJ, by module and action), stats["area"] (mm^2, by module and unit), stats["power"]
// (W) and the summary figures energy_pj, area_mm2, power_w and what derives from them, from stats["summary"]
// and stats["modules"]; nothing when energy.enabled is false. A counted action without a price is an
// InputError naming it.
void add_energy_and_area(const SimConfig& cfg, nlohmann::ordered_json& stats);

// Units and meanings of the energy, area and power sections, for stats.schema.json.
nlohmann::ordered_json energy_schema();

// The text summary's lines on energy, efficiency and area; "" when the stats hold none.
std::string describe_energy(const nlohmann::ordered_json& stats);

}  // namespace tacsim::sim
