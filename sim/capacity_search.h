#pragma once
// `tacsim run --find-max-rate --slo-p99 5ms`: the highest Poisson arrival rate of a trace's requests (their
// lengths kept, in order; arrivals re-timed by trace.rate_per_s) at which the run's p99 latency meets the
// SLO. Each probe is a whole run in a child process of its own (SystemC elaborates once per process), from
// the resolved configuration, into <out>/probes/rate-<R>/. The search doubles from --rate-lo until a rate
// misses (or starts from --rate-hi), then bisects geometrically between the highest rate that met the SLO and
// the lowest that missed until they are within --rate-tol of each other. Writes <out>/max_rate.csv (every
// probe, in the order run) and <out>/max_rate.json (the answer), and prints both.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/run.h"

namespace tacsim::sim {

struct CapacitySearch {
  std::uint64_t slo_p99_ns = 0;
  double rate_lo = 10;  // requests/s
  double rate_hi = 0;   // 0: found by doubling from rate_lo
  double tolerance = 0.02;

  std::string validate() const;
};

// Exit code: 0 (the answer may be that no rate meets the SLO), 2 bad input (the first probe's error
// included).
int find_max_rate(const RunOptions& opts, const CapacitySearch& search);

}  // namespace tacsim::sim
