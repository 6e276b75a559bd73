#pragma once
// `tacsim pareto DIR --x M --y M [--z M]`: the Pareto-optimal points of a sweep (minimised unless
// --maximize names the metric). `tacsim select DIR --max-latency 5ms --min-accuracy 0.90 --accuracy-table
// FILE --cost M`: the cheapest design meeting both constraints. Both read the sweep's manifest and its
// points' result folders (sweep_results.h), so any figure of a point is a metric, kept in results.csv or not.
#include <string>
#include <vector>

namespace tacsim::sim {

int pareto_main(const std::vector<std::string>& args);
int select_main(const std::vector<std::string>& args);

}  // namespace tacsim::sim
