#pragma once
// `tacsim run`: resolve the configuration, map the workload, simulate, check values, write the results.
#include <string>
#include <vector>

namespace tacsim::sim {

class WaveSession;

// --vcd and its companions (waves_control.h).
struct WaveOptions {
  std::string vcd;                   // --vcd FILE; empty: no tracing
  std::string window;                // --vcd-window START:END
  std::vector<std::string> signals;  // --vcd-signals GLOB[,GLOB]
  bool list = false;                 // --vcd-list
};

struct RunOptions {
  std::string config_path;
  std::vector<std::string> overrides;  // "key=value"
  std::string out_dir = "results/latest";
  bool quiet = false;
  // Where the files are written until the result set is complete (ResultSet's staging folder); empty:
  // out_dir.
  std::string files_dir;
  const std::string& write_dir() const { return files_dir.empty() ? out_dir : files_dir; }
  WaveOptions waves;
  // While tracing: the session the run attaches its modules to and writes the waves with (run_command's).
  WaveSession* wave_session = nullptr;
};

// Returns the exit code: 0 success, 1 the run finished but its check failed. Bad input throws InputError.
int run_command(const RunOptions& opts);

}  // namespace tacsim::sim
