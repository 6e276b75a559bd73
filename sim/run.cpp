#include "sim/run.h"

#include <iostream>
#include <memory>

#include "sim/config.h"
#include "sim/gemm_run.h"
#include "sim/model_run.h"
#include "sim/result_set.h"
#include "sim/top.h"
#include "sim/waves_control.h"

namespace tacsim::sim {

namespace {

// --vcd-list: the signals of the configured accelerator, built but not simulated.
int list_signals(const SimConfig& cfg, const WaveOptions& waves) {
  init_kernel();
  Top top("accel", cfg);
  WaveSession session(waves);
  session.attach(top, cfg.sim.workload != "gemm");
  session.check_selection();
  session.print_list(std::cout);
  return 0;
}

}  // namespace

int run_command(const RunOptions& opts) {
  const SimConfig cfg = resolve_config(opts.config_path, opts.overrides);
  if (opts.waves.list) return list_signals(cfg, opts.waves);
  ResultSet results(opts.out_dir);
  RunOptions staged = opts;
  staged.files_dir = results.staging_dir();
  std::unique_ptr<WaveSession> waves;
  if (!opts.waves.vcd.empty()) {
    waves = std::make_unique<WaveSession>(opts.waves, results, ClockDomain(cfg.accel.clock_mhz));
    staged.wave_session = waves.get();
  }
  const int code = cfg.sim.workload == "gemm" ? run_gemm(cfg, staged) : run_model(cfg, staged);
  results.commit();
  if (waves && !opts.quiet) std::cout << waves->describe();
  return code;
}

}  // namespace tacsim::sim
