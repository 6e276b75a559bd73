#include "sim/run.h"

#include "sim/config.h"
#include "sim/gemm_run.h"
#include "sim/model_run.h"

namespace tacsim::sim {

int run_command(const RunOptions& opts) {
  const SimConfig cfg = resolve_config(opts.config_path, opts.overrides);
  return cfg.sim.workload == "gemm" ? run_gemm(cfg, opts) : run_model(cfg, opts);
}

}  // namespace tacsim::sim
