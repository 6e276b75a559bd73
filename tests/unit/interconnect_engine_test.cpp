// The interconnect's arbitration without a kernel: round robin after the last grant, one grant per cycle, and
// nothing while the memory's request channel is busy.
#include "modules/interconnect/interconnect_engine.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace tacsim::interconnect {
namespace {

TEST(InterconnectEngine, RoundRobinStartsAfterTheLastGrantAndWaitsForTheChannel) {
  InterconnectEngine e(3, Params{});
  e.request(2, 0);
  EXPECT_EQ(e.grant(0), 2u);
  e.request(0, 0);
  e.request(1, 0);
  EXPECT_FALSE(e.grant(0));  // the channel is busy
  EXPECT_EQ(e.next_grant_cycle(0), kNever);
  e.channel_freed();
  EXPECT_FALSE(e.grant(0));  // one grant per cycle
  EXPECT_EQ(e.next_grant_cycle(0), 1u);
  EXPECT_EQ(e.grant(1), 0u);  // after 2 comes 0
  e.channel_freed();
  e.request(2, 1);
  EXPECT_EQ(e.grant(2), 1u);
  e.channel_freed();
  EXPECT_EQ(e.grant(3), 2u);
  EXPECT_EQ(e.counters()[1].wait_cycles, 2u);
  EXPECT_EQ(e.counters()[2].max_wait_cycles, 2u);
  EXPECT_THROW(InterconnectEngine(0, Params{}), std::invalid_argument);
}

TEST(InterconnectEngine, ALatencyDelaysEligibilityNotTheWait) {
  Params p;
  p.latency_cycles = 4;
  InterconnectEngine e(2, p);
  e.request(0, 10);
  EXPECT_EQ(e.next_grant_cycle(10), 14u);
  EXPECT_FALSE(e.grant(13));
  EXPECT_EQ(e.grant(14), 0u);
  EXPECT_EQ(e.counters()[0].wait_cycles, 0u);
  EXPECT_EQ(e.counters()[0].grants, 1u);
}

}  // namespace
// Bytes are counted in the memory's granules: a 2-D block row by row, a granule two rows share once (the
// DRAM moves it once).
TEST(InterconnectEngine, BlocksCountEachGranuleTheirRowsTouchOnce) {
  Params p;
  p.granule_bytes = 64;
  InterconnectEngine ic(2, p);
  ic.completed(0, 16, 48);  // [16, 64): granule 0
  EXPECT_EQ(ic.counters()[0].bytes, 64u);
  ic.completed(0, 16, 64);  // [16, 80): granules 0 and 1
  EXPECT_EQ(ic.counters()[0].bytes, 64u + 128u);
  ic.completed(1, 16, 48, 3, 64);  // rows at 16, 80, 144: granules 0, 1, 2
  EXPECT_EQ(ic.counters()[1].bytes, 192u);
  ic.completed(1, 0, 16, 4, 32);  // rows at 0, 32, 64, 96: granules 0, 0, 1, 1 -> two
  EXPECT_EQ(ic.counters()[1].bytes, 192u + 128u);
}

}  // namespace tacsim::interconnect
