#include "modules/common/latency_histogram.h"

#include <gtest/gtest.h>

namespace tacsim {
namespace {

TEST(LatencyHistogram, BinsAreMonotonicAndTight) {
  std::size_t last = 0;
  for (Cycle v = 0; v < 200000; v += 1 + v / 50) {
    const std::size_t bin = LatencyHistogram::bin_of(v);
    EXPECT_GE(bin, last);
    last = bin;
    EXPECT_LE(LatencyHistogram::bin_floor(bin), v);
    EXPECT_GE(LatencyHistogram::bin_floor(bin) + LatencyHistogram::bin_floor(bin) / 32 + 1,
              v);  // within 1/32 below v
  }
  LatencyHistogram h;
  EXPECT_EQ(h.percentile(0.5), 0u);  // empty
  for (Cycle v = 1; v <= 100; ++v) h.add(v);
  EXPECT_EQ(h.total(), 100u);
  EXPECT_EQ(h.percentile(0.5), 50u);
  EXPECT_EQ(h.percentile(0.99), 98u);  // from 64 on bins are 2 wide: 99 shares the bin [98, 99]
}

TEST(LatencyHistogram, LongLatenciesShareTheLastBin) {
  EXPECT_EQ(LatencyHistogram::bin_of(kNever), LatencyHistogram::kBins - 1);
  EXPECT_EQ(LatencyHistogram::bin_of(Cycle{1} << 41), LatencyHistogram::kBins - 1);
  LatencyHistogram a, b;
  a.add(7);
  EXPECT_NE(a, b);
  b.add(7);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace tacsim
