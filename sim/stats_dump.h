#pragma once
// The one stats dumper: walks the SystemC object tree and collects every StatsProvider's group under its
// hierarchical name, e.g. {"accel.pe_array": {"macs": ..., ...}, ...}, in tree order.
#include <nlohmann/json.hpp>

namespace tacsim::sim {

nlohmann::ordered_json collect_module_stats();

}  // namespace tacsim::sim
