#pragma once
// A latency histogram of bounded size: exact below 64 cycles, then 32 bins per power of two, so that every
// bin is within 1/32 of the latencies it holds. Percentiles are read as the lower bound of their bin.
#include <array>
#include <cstddef>
#include <cstdint>

#include "modules/common/types.h"

namespace tacsim {

class LatencyHistogram {
 public:
  static constexpr std::size_t kBins =
      64 + 32 * 34;  // up to 2^40 cycles; longer latencies share the last bin

  static std::size_t bin_of(Cycle latency);
  static Cycle bin_floor(std::size_t bin);  // the smallest latency that falls in `bin`

  void add(Cycle latency) { ++counts_[bin_of(latency)]; }
  std::uint64_t count(std::size_t bin) const { return counts_[bin]; }
  std::uint64_t total() const;
  // The latency below which `fraction` (0..1] of the samples fall, to the histogram's resolution; 0 when
  // empty.
  Cycle percentile(double fraction) const;

  bool operator==(const LatencyHistogram& other) const { return counts_ == other.counts_; }
  bool operator!=(const LatencyHistogram& other) const { return counts_ != other.counts_; }

 private:
  std::array<std::uint64_t, kBins> counts_{};
};

}  // namespace tacsim
