#include <gtest/gtest.h>

#include "modules/memory/fixed_latency_memory_engine.h"

namespace tacsim::memory {
namespace {

TEST(FixedLatencyMemoryEngine, LatencyThenBusTime) {
  Params p;
  p.latency_cycles = 10;
  p.bytes_per_cycle = 64;
  p.queue_depth = 2;
  FixedLatencyMemoryEngine e(p);
  // Accepted at 0: transfer starts at 0 + 10 and takes 256 / 64 = 4 cycles: due 14.
  EXPECT_EQ(e.accept(0, 256, false), 14u);
  // A write accepted at 1 is posted (no latency) but the bus is busy until 14; 100 bytes take
  // ceil(100/64) = 2: 16.
  EXPECT_EQ(e.accept(1, 100, true), 16u);
  EXPECT_FALSE(e.can_accept());
  EXPECT_EQ(e.head_due(), 14u);
  e.retire();
  EXPECT_TRUE(e.can_accept());
  // Accepted at 30, the bus long idle: 30 + 10 + 1 = 41.
  EXPECT_EQ(e.accept(30, 64, false), 41u);
  EXPECT_EQ(e.counters().reads, 2u);
  EXPECT_EQ(e.counters().writes, 1u);
  EXPECT_EQ(e.counters().bus_busy_cycles, 4u + 2 + 1);
  // A posted write on an idle bus: due when its data is across, 50 + 2.
  e.retire();
  EXPECT_EQ(e.accept(50, 128, true), 52u);
}

TEST(FixedLatencyMemoryEngine, UnpostedWritesWaitTheLatency) {
  Params p;
  p.latency_cycles = 10;
  p.bytes_per_cycle = 64;
  p.posted_writes = false;
  FixedLatencyMemoryEngine e(p);
  EXPECT_EQ(e.accept(50, 128, true), 62u);  // 50 + 10 + 2
}

TEST(FixedLatencyMemoryEngine, ParamsValidate) {
  Params p;
  EXPECT_EQ(p.validate(), "");
  p.bytes_per_cycle = 0;
  EXPECT_EQ(p.validate(), "bytes_per_cycle: must be at least 1, got 0");
}

}  // namespace
}  // namespace tacsim::memory
