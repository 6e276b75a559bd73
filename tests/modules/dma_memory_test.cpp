// Dma driving FixedLatencyMemory over the TLM-2.0 AT protocol: data arrives intact at the cycles the timing
// rules give, under free flow and under back-pressure from a full memory queue.
#include <gtest/gtest.h>

#include <numeric>

#include "modules/dma/dma.h"
#include "modules/memory/fixed_latency_memory.h"
#include "tests/support/bench_params.h"
#include "tests/support/module_bench.h"

namespace tacsim {
namespace {

// The stimulus submits one move and waits for it.
struct Bench : testing_support::ModuleBench {
  memory::FixedLatencyMemory memory;
  dma::Dma dma;
  dma::Move move;
  std::vector<Cycle> done;

  Bench(const memory::Params& mp, const dma::Params& dp) : memory("memory", mp), dma("dma", dp, clock) {
    dma.initiator_socket.bind(memory.target_socket);
  }
  void stimulus() override {
    sc_core::sc_event moved;
    move.on_done = [&](Cycle c) {
      done.push_back(c);
      moved.notify(sc_core::SC_ZERO_TIME);
    };
    dma.submit(move);
    wait(moved);
  }
};

dma::Params dma_params() {
  dma::Params p;
  p.max_transaction_bytes = 64;
  p.max_outstanding = 8;
  return p;
}

TEST(DmaMemory, ReadMoveArrivesOnTime) {
  Bench b(testing_support::small_memory(8), dma_params());
  std::vector<std::uint8_t> src(1024);
  std::iota(src.begin(), src.end(), 0);
  b.memory.store().write(0, src.data(), src.size());
  std::vector<std::uint8_t> local(256, 0xee);
  dma::Move& m = b.move;
  m.address = 512;  // rows [512, 640) and [768, 896)
  m.rows = 2;
  m.row_bytes = 128;
  m.stride_bytes = 256;
  m.local = local.data();
  ASSERT_TRUE(b.run());
  // Four 64-byte transactions issue at cycles 0, 1, 2, 3. The first is due 0 + 10 + 1 = 11; each next one
  // waits for the bus: 12, 13, 14. The move completes with the last, at 14.
  ASSERT_EQ(b.done, (std::vector<Cycle>{14}));
  for (int i = 0; i < 128; ++i) {
    ASSERT_EQ(local[i], src[512 + i]);
    ASSERT_EQ(local[128 + i], src[768 + i]);
  }
  EXPECT_EQ(b.memory.engine().counters().reads, 4u);
}

TEST(DmaMemory, FullQueueHoldsRequestsBack) {
  Bench b(testing_support::small_memory(1), dma_params());
  std::vector<std::uint8_t> data(256);
  std::iota(data.begin(), data.end(), 1);
  b.memory.store().write(4096, data.data(), data.size());
  std::vector<std::uint8_t> local(256);
  dma::Move& m = b.move;
  m.write = false;
  m.address = 4096;
  m.row_bytes = 256;
  m.local = local.data();
  ASSERT_TRUE(b.run());
  // One slot: the first read is due at 11; the second waits for END_REQ until then and is due at
  // 11 + 10 + 1 = 22; the third 33, the fourth 44.
  ASSERT_EQ(b.done, (std::vector<Cycle>{44}));
  EXPECT_EQ(local, data);
  EXPECT_EQ(b.memory.engine().counters().full_queue_rejects, 3u);
  EXPECT_EQ(b.memory.engine().counters().reads, 4u);
}

// Writes are posted: acknowledged once their data is across, without the read latency. One slot: the first
// write is due at 0 + 1 transfer cycle; each next one is taken when the previous responds and is due a cycle
// later: 2, 3, 4 (four reads of the same bytes take 44).
TEST(DmaMemory, WritesArePosted) {
  memory::Params posted = testing_support::small_memory(1);
  posted.posted_writes = true;
  Bench b(posted, dma_params());
  std::vector<std::uint8_t> local(256);
  std::iota(local.begin(), local.end(), 1);
  dma::Move& m = b.move;
  m.write = true;
  m.address = 4096;
  m.row_bytes = 256;
  m.local = local.data();
  ASSERT_TRUE(b.run());
  ASSERT_EQ(b.done, (std::vector<Cycle>{4}));
  std::vector<std::uint8_t> back(256);
  b.memory.store().read(4096, back.data(), back.size());
  EXPECT_EQ(back, local);
  EXPECT_EQ(b.memory.engine().counters().writes, 4u);
}

}  // namespace
}  // namespace tacsim
