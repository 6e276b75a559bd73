// Buffer alone: a half's Empty -> Filling -> Full -> Empty cycle stamped with its cycles, use counts, a
// consumer blocked until a producer fills, delayed fills in call order, and the stats a run reports.
#include "modules/buffer/buffer.h"

#include <gtest/gtest.h>

#include "tests/support/module_bench.h"

namespace tacsim::buffer {
namespace {

// The stimulus is the producer; `consumer` is a second process that waits on the halves.
struct Bench : testing_support::ModuleBench {
  SC_HAS_PROCESS(Bench);
  Buffer buffer;
  Cycle full_seen = 0, full_woke = 0, late_empty_seen = 0, empty_seen = 0, empty_woke = 0;

  Bench() : buffer("buffer", Params{1}, clock) { SC_THREAD(consumer); }

  void stimulus() override {
    clock.wait_until(7);
    buffer.start_fill(0, 100);
    clock.wait_until(15);
    buffer.mark_full(0, 2);  // two chunks read this load
    clock.wait_until(20);
    buffer.release(0, 64);  // the first use: the half stays Full
    clock.wait_until(26);
    buffer.release(0, 64);  // the last use frees it
    // Asked after the fact, the half still says when it emptied.
    clock.wait_until(30);
    late_empty_seen = buffer.wait_empty(0);
  }

  void consumer() {
    full_seen = buffer.wait_full(0);  // blocks from cycle 0 until the producer marks the half Full
    full_woke = clock.now();
    empty_seen = buffer.wait_empty(0);
    empty_woke = clock.now();
  }
};

TEST(BufferModule, AHalfFillsIsReadByEachUseAndEmptiesAtItsLastRelease) {
  Bench b;
  ASSERT_TRUE(b.run());
  EXPECT_EQ(b.full_seen, 15u);  // Full at mark_full's cycle; the blocked consumer wakes then
  EXPECT_EQ(b.full_woke, 15u);
  EXPECT_EQ(b.empty_seen, 26u);  // not at the first release (20): two uses
  EXPECT_EQ(b.empty_woke, 26u);
  EXPECT_EQ(b.late_empty_seen, 26u);
  const StatsGroup& s = b.buffer.stats();
  EXPECT_EQ(s.value("fills"), 1);
  EXPECT_EQ(s.value("bytes_written"), 100);
  EXPECT_EQ(s.value("bytes_read"), 128);
  EXPECT_EQ(s.value("peak_bytes"), 100);
  EXPECT_DOUBLE_EQ(s.value("peak_half_fill").get<double>(), 100.0 / 512);  // 1 KiB: halves of 512 bytes
}

// A producer that knows now when its last write lands announces it with mark_full_at; the announcements take
// effect in call order, each no earlier than the one before, and none before the cycle it was made.
struct DelayedBench : testing_support::ModuleBench {
  Buffer buffer;
  Cycle full[3] = {0, 0, 0};

  DelayedBench() : buffer("buffer", Params{1}, clock) {}

  void stimulus() override {
    clock.wait_until(3);
    buffer.start_fill(0, 8);
    buffer.start_fill(1, 16);
    buffer.mark_full_at(1, 1, 40);
    buffer.mark_full_at(0, 1, 12);  // announced after half 1's
    full[0] = buffer.wait_full(0);
    full[1] = buffer.wait_full(1);
    buffer.release(0, 8);
    buffer.release(1, 16);
    clock.wait_until(50);
    buffer.start_fill(0, 4);
    buffer.mark_full_at(0, 1, 45);  // already past
    full[2] = buffer.wait_full(0);
  }
};

TEST(BufferModule, DelayedFillsLandAtTheirCycleInCallOrder) {
  DelayedBench b;
  ASSERT_TRUE(b.run());
  EXPECT_EQ(b.full[1], 40u);
  EXPECT_EQ(b.full[0], 40u);  // 12 had it been announced first
  EXPECT_EQ(b.full[2], 50u);
  EXPECT_EQ(b.finish_cycle(), 50u);
  const StatsGroup& s = b.buffer.stats();
  EXPECT_EQ(s.value("fills"), 3);
  EXPECT_EQ(s.value("bytes_written"), 8 + 16 + 4);
  EXPECT_EQ(s.value("peak_bytes"), 16);
}

}  // namespace
}  // namespace tacsim::buffer
