#pragma once
// `tacsim memtest`: drive the DRAM alone with a pattern or a DRAMsim3 trace and report bandwidth, latency and
// row-hit rate.
#include "sim/run.h"

namespace tacsim::sim {

// Same options as run (config, overrides, out folder, quiet). Returns 0, or 1 when a read returned wrong
// data.
int memtest_command(const RunOptions& opts);

}  // namespace tacsim::sim
