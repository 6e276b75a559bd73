#pragma once
// A small, fully specified random generator (SplitMix64) so that operands generated from a seed are the same
// on every platform and standard library: std::uniform_int_distribution is implementation-defined.
#include <cstdint>

namespace tacsim {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) for n > 0 (the modulo bias is below 2^-40 for the ranges used here).
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  std::int8_t int8() { return static_cast<std::int8_t>(next() >> 56); }
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

}  // namespace tacsim
