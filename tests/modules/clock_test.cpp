#include <gtest/gtest.h>

#include "modules/common/clock.h"
#include "modules/common/rng.h"

namespace tacsim {
namespace {

TEST(ClockDomain, IntegerPeriods) {
  ClockDomain c(1000.0);
  EXPECT_EQ(c.fs_at(0), 0u);
  EXPECT_EQ(c.fs_at(1), 1'000'000u);  // 1 ns
  EXPECT_EQ(c.cycle_at_or_after(1'000'000), 1u);
  EXPECT_EQ(c.cycle_at_or_after(1'000'001), 2u);
}

TEST(ClockDomain, FractionalPeriodsDoNotDrift) {
  ClockDomain c(1200.0);                                      // DDR4-2400 I/O clock: 833,333.33 fs
  EXPECT_EQ(c.fs_at(3), 2'500'000u);                          // exactly 2.5 ns after three cycles
  EXPECT_EQ(c.fs_at(1'200'000'000), 1'000'000'000'000'000u);  // one second later, still exact
  EXPECT_EQ(c.fs_at(1), 833'333u);
  EXPECT_EQ(c.cycle_at_or_after(833'333), 1u);
  EXPECT_EQ(c.cycle_at_or_after(833'334), 2u);
}

TEST(ClockDomain, CycleAtOrAfterInvertsFsAt) {
  Rng rng(7);
  for (double mhz : {1.0, 933.0, 1000.0, 1200.0, 1600.0, 3333.0}) {
    ClockDomain c(mhz);
    for (int i = 0; i < 2000; ++i) {
      const Cycle k = rng.below(1'000'000'000);  // 1e9 cycles: 1,000 s at 1 MHz, within 64-bit femtoseconds
      ASSERT_EQ(c.cycle_at_or_after(c.fs_at(k)), k) << mhz;
      ASSERT_EQ(c.cycle_at_or_after(c.fs_at(k) + 1), k + 1) << mhz;
    }
  }
}

}  // namespace
}  // namespace tacsim
