#include "modules/common/latency_histogram.h"

#include <algorithm>

namespace tacsim {

std::size_t LatencyHistogram::bin_of(Cycle latency) {
  if (latency < 64) return static_cast<std::size_t>(latency);
  const int e = 63 - __builtin_clzll(latency);  // floor(log2(latency)) >= 6
  const std::size_t bin = 64 + static_cast<std::size_t>(e - 6) * 32 + ((latency >> (e - 5)) & 31);
  return std::min(bin, kBins - 1);
}

Cycle LatencyHistogram::bin_floor(std::size_t bin) {
  if (bin < 64) return bin;
  const std::size_t e = 6 + (bin - 64) / 32;
  return static_cast<Cycle>(32 + (bin - 64) % 32) << (e - 5);
}

std::uint64_t LatencyHistogram::total() const {
  std::uint64_t n = 0;
  for (std::uint64_t c : counts_) n += c;
  return n;
}

Cycle LatencyHistogram::percentile(double fraction) const {
  const std::uint64_t n = total();
  if (n == 0) return 0;
  const double want = std::max(1.0, fraction * static_cast<double>(n));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBins; ++i) {
    seen += counts_[i];
    if (static_cast<double>(seen) >= want) return bin_floor(i);
  }
  return bin_floor(kBins - 1);
}

}  // namespace tacsim
