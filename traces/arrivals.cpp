#include "traces/arrivals.h"

#include <cmath>

namespace tacsim::traces {

namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

RenewalArrivals::RenewalArrivals(double rate_per_s, double cv, std::uint64_t seed)
    : mean_gap_ns_(1e9 / rate_per_s), cv_(cv), rng_(seed) {}

std::uint64_t RenewalArrivals::next_ns() {
  // A fixed interval is computed from the index, so no rounding error accumulates.
  if (cv_ == 0.0) return static_cast<std::uint64_t>(std::llround(double(count_++) * mean_gap_ns_));
  if (count_++ > 0) t_ns_ += gap_ns();
  return static_cast<std::uint64_t>(std::llround(t_ns_));
}

double RenewalArrivals::gap_ns() {
  if (cv_ == 1.0) return -std::log(open_uniform()) * mean_gap_ns_;
  // Gamma(k, theta) has mean k theta and cv 1 / sqrt(k): k = 1 / cv^2, theta = mean cv^2.
  const double shape = 1.0 / (cv_ * cv_);
  return gamma(shape) * mean_gap_ns_ / shape;
}

double RenewalArrivals::open_uniform() {
  return (double(rng_.next() >> 11) + 0.5) * 0x1.0p-53;
}

double RenewalArrivals::normal() {
  return std::sqrt(-2.0 * std::log(open_uniform())) * std::cos(2.0 * kPi * open_uniform());
}

double RenewalArrivals::gamma(double shape) {
  // Shape below 1: Gamma(k) = Gamma(k + 1) U^(1/k) (Marsaglia and Tsang, section 6).
  if (shape < 1.0) return gamma(shape + 1.0) * std::pow(open_uniform(), 1.0 / shape);
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    const double x = normal();
    const double v0 = 1.0 + c * x;
    if (v0 <= 0.0) continue;
    const double v = v0 * v0 * v0;
    const double u = open_uniform();
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

}  // namespace tacsim::traces
