#pragma once
// `tacsim sweep`: plans a sweep (sweep_spec.h, sweep_plan.h), runs it here (sweep_runner.h) or on Slurm
// (sweep_slurm.h), and writes DIR/results.csv (sweep_results.h). Exit codes: 0 every point done; 1 a point
// failed or its check failed (or, for --collect, points are still pending); 2 bad input, before anything
// runs; 130/143 stopped by SIGINT/SIGTERM.
#include <string>
#include <vector>

namespace tacsim::sim {

int sweep_main(const std::vector<std::string>& args);

}  // namespace tacsim::sim
