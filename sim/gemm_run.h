#pragma once
// `tacsim run` with sim.workload = gemm: one GEMM of seeded operands (gemm.*) mapped by the mapper of its
// weight format, run on the accelerator through the scheduler like a model, and checked against a plain C++
// reference when sim.check is on.
#include "sim/config.h"
#include "sim/run.h"

namespace tacsim::sim {

// Returns the exit code: 0 success, 1 the run finished but its check failed. Bad input throws InputError.
int run_gemm(const SimConfig& cfg, const RunOptions& opts);

}  // namespace tacsim::sim
