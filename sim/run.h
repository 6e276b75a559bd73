#pragma once
// `tacsim run`: resolve the configuration, map the workload, simulate, check values, write the results.
#include <string>
#include <vector>

namespace tacsim::sim {

struct RunOptions {
  std::string config_path;
  std::vector<std::string> overrides;  // "key=value"
  std::string out_dir = "results/latest";
  bool quiet = false;
  // Where the files are written until the result set is complete (ResultSet's staging folder); empty: out_dir.
  std::string files_dir;
  const std::string& write_dir() const { return files_dir.empty() ? out_dir : files_dir; }
};

// Returns the exit code: 0 success, 1 the run finished but its check failed. Bad input throws InputError.
int run_command(const RunOptions& opts);

}  // namespace tacsim::sim
