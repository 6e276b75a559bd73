#pragma once
// Requantisation: the integer rescale between a producer's format and its consumer's (an int32 accumulator
// to int8 activations, an accumulator to a special-function unit's fixed-point input, ...):
//   y = clamp(round(x * multiplier / 2^shift), lo, hi)
// rounding to nearest, halves up (towards +infinity), computed exactly in 64 bits. Hardware: one multiplier,
// one rounding shifter and a saturation stage per lane, in the producer's output path.
#include <algorithm>
#include <cstdint>
#include <string>

namespace tacsim {

struct Requant {
  std::int32_t multiplier = 1;
  std::uint32_t shift = 0;
  std::int32_t lo = -128;
  std::int32_t hi = 127;

  static Requant identity32() { return {1, 0, INT32_MIN, INT32_MAX}; }

  std::int32_t apply(std::int64_t x) const {
    std::int64_t p = x * multiplier;  // |x| < 2^32, |multiplier| < 2^31: no overflow
    if (shift > 0) {
      const std::int64_t half = std::int64_t{1} << (shift - 1);
      // floor((p + half) / 2^shift) without implementation-defined shifts of negatives.
      const std::int64_t num = p + half, den = std::int64_t{1} << shift;
      p = num / den - ((num % den != 0) && (num < 0) ? 1 : 0);
    }
    return static_cast<std::int32_t>(std::clamp<std::int64_t>(p, lo, hi));
  }
  bool operator==(const Requant& o) const {
    return multiplier == o.multiplier && shift == o.shift && lo == o.lo && hi == o.hi;
  }

  // "" or what is wrong.
  std::string validate() const {
    if (shift > 32) return "shift: must be at most 32, got " + std::to_string(shift);
    if (lo > hi) return "lo > hi";
    return "";
  }
};

// Power-of-two calibration: the smallest shift that maps every |x| <= max_abs into [-target, target]
// (multiplier 1), as a max-abs post-training calibration picks it.
inline Requant calibrate_shift(std::uint64_t max_abs, std::uint64_t target, std::int32_t lo = -128,
                               std::int32_t hi = 127) {
  Requant r;
  r.lo = lo;
  r.hi = hi;
  while ((max_abs + (std::uint64_t{1} << r.shift >> 1)) >> r.shift > target) ++r.shift;
  return r;
}

}  // namespace tacsim
