#pragma once
// Arrival times for a trace that has none: a renewal process whose gaps are independent draws of one
// distribution with mean 1 / rate. Its coefficient of variation (standard deviation / mean) names it:
// cv 0 is a fixed interval, cv 1 Poisson arrivals (exponential gaps), cv > 1 bursts (Gamma gaps of shape
// 1 / cv^2). The first request arrives at 0. Deterministic for a seed (tacsim::Rng), on every platform.
// Plain C++.
#include <cstdint>

#include "modules/common/rng.h"

namespace tacsim::traces {

class RenewalArrivals {
 public:
  // rate_per_s > 0, cv >= 0 (checked by the caller, who names the option).
  RenewalArrivals(double rate_per_s, double cv, std::uint64_t seed);
  // The next arrival, in nanoseconds, rounded to the nearest.
  std::uint64_t next_ns();

 private:
  double gap_ns();
  double open_uniform();       // in (0, 1)
  double normal();             // standard normal, Box-Muller
  double gamma(double shape);  // unit scale, Marsaglia and Tsang (2000)

  double mean_gap_ns_, cv_;
  Rng rng_;
  std::uint64_t count_ = 0;
  double t_ns_ = 0;
};

}  // namespace tacsim::traces
