#include "sim/run.h"

#include "sim/config.h"
#include "sim/gemm_run.h"
#include "sim/model_run.h"
#include "sim/result_set.h"

namespace tacsim::sim {

int run_command(const RunOptions& opts) {
  const SimConfig cfg = resolve_config(opts.config_path, opts.overrides);
  ResultSet results(opts.out_dir);
  RunOptions staged = opts;
  staged.files_dir = results.staging_dir();
  const int code = cfg.sim.workload == "gemm" ? run_gemm(cfg, staged) : run_model(cfg, staged);
  results.commit();
  return code;
}

}  // namespace tacsim::sim
