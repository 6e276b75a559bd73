// Interconnect between DMAs and FixedLatencyMemory over the TLM-2.0 AT protocol: one initiator passes through
// untouched, several are granted the memory's request channel one per cycle in round-robin order, and a
// latency delays requests and responses alike.
#include "modules/interconnect/interconnect.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <vector>

#include "modules/dma/dma.h"
#include "modules/memory/fixed_latency_memory.h"
#include "tests/support/bench_params.h"
#include "tests/support/module_bench.h"

namespace tacsim {
namespace {

dma::Params dma_params() {
  dma::Params p;
  p.max_transaction_bytes = 64;
  p.max_outstanding = 8;
  return p;
}

// N DMAs through the interconnect to one memory; the stimulus submits moves[i] to dma i at cycle 0 and waits
// for every one of them.
struct Bench : testing_support::ModuleBench {
  memory::FixedLatencyMemory memory;
  interconnect::Interconnect interconnect;
  std::vector<std::unique_ptr<dma::Dma>> dmas;
  std::vector<dma::Move> moves;
  std::vector<Cycle> done;

  Bench(std::size_t n, const interconnect::Params& ip, std::uint32_t queue_depth = 32)
      : memory("memory", testing_support::small_memory(queue_depth)),
        interconnect("interconnect", ip, clock, n),
        moves(n),
        done(n, kNever) {
    for (std::size_t i = 0; i < n; ++i) {
      dmas.push_back(std::make_unique<dma::Dma>(("dma" + std::to_string(i)).c_str(), dma_params(), clock));
      dmas.back()->initiator_socket.bind(interconnect.target_socket);
    }
    interconnect.initiator_socket.bind(memory.target_socket);
  }
  void stimulus() override {
    sc_core::sc_event moved;
    for (std::size_t i = 0; i < dmas.size(); ++i) {
      moves[i].on_done = [this, i, &moved](Cycle c) {
        done[i] = c;
        moved.notify(sc_core::SC_ZERO_TIME);
      };
      dmas[i]->submit(moves[i]);
    }
    while (std::count(done.begin(), done.end(), kNever) > 0) wait(moved);
  }
  const interconnect::InterconnectEngine::InitiatorCounters& counters(std::size_t i) const {
    return interconnect.engine().counters()[i];
  }
};

// A read of `bytes` at `address` into `local`.
dma::Move read(std::uint64_t address, std::uint32_t bytes, std::vector<std::uint8_t>& local) {
  local.assign(bytes, 0xee);
  dma::Move m;
  m.address = address;
  m.row_bytes = bytes;
  m.local = local.data();
  return m;
}

TEST(Interconnect, OneInitiatorPassesThroughAsIfBoundToTheMemory) {
  Bench b(1, interconnect::Params{});
  std::vector<std::uint8_t> src(1024), local;
  std::iota(src.begin(), src.end(), 0);
  b.memory.store().write(0, src.data(), src.size());
  b.moves[0] = read(512, 256, local);
  ASSERT_TRUE(b.run());
  // As DmaMemory.ReadMoveArrivesOnTime without the interconnect: four 64-byte transactions issue at cycles
  // 0, 1, 2, 3, the first due at 0 + 10 + 1 = 11, the others behind it on the bus: done at 14.
  EXPECT_EQ(b.done[0], 14u);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(local[i], src[512 + i]);
  EXPECT_EQ(b.counters(0).grants, 4u);
  EXPECT_EQ(b.counters(0).wait_cycles, 0u);
  EXPECT_EQ(b.counters(0).bytes, 256u);
}

TEST(Interconnect, SimultaneousRequestsAreGrantedOnePerCycleInRoundRobinOrder) {
  Bench b(3, interconnect::Params{});
  std::vector<std::uint8_t> local[3];
  for (std::size_t i = 0; i < 3; ++i) b.moves[i] = read(4096 * i, 64, local[i]);
  ASSERT_TRUE(b.run());
  // All three ask at cycle 0: granted at 0, 1 and 2 (waits 0, 1, 2), due at 11, 12, 13, in round-robin order
  // from whichever asked first.
  std::vector<std::size_t> by_wait(3);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(b.counters(i).grants, 1u);
    ASSERT_LT(b.counters(i).wait_cycles, 3u);
    by_wait[b.counters(i).wait_cycles] = i;
    EXPECT_EQ(b.done[i], 11 + b.counters(i).wait_cycles);
  }
  EXPECT_EQ(by_wait[1], (by_wait[0] + 1) % 3);
  EXPECT_EQ(by_wait[2], (by_wait[0] + 2) % 3);
}

TEST(Interconnect, TwoBusyInitiatorsShareTheChannelFairly) {
  Bench b(2, interconnect::Params{});
  std::vector<std::uint8_t> local[2];
  for (std::size_t i = 0; i < 2; ++i) b.moves[i] = read(8192 * i, 512, local[i]);
  ASSERT_TRUE(b.run());
  // Eight transactions each, one grant per cycle, alternating: cycles 0..15. A request waits for at most
  // the grant of its cycle and one of the other's: 2 cycles (a DMA granted at cycle c asks again at c, which
  // the other's grant of c + 1 comes before). The last grants at 14 and 15 are due at 25 and 26 (one DMA
  // alone would finish at 7 + 11 = 18).
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(b.counters(i).grants, 8u);
    EXPECT_LE(b.counters(i).max_wait_cycles, 2u);
  }
  EXPECT_EQ(std::min(b.done[0], b.done[1]), 25u);
  EXPECT_EQ(std::max(b.done[0], b.done[1]), 26u);
}

TEST(Interconnect, LatencyDelaysRequestsAndResponses) {
  interconnect::Params p;
  p.latency_cycles = 5;
  Bench b(2, p);
  std::vector<std::uint8_t> local[2];
  b.moves[0] = read(0, 64, local[0]);
  b.moves[1] = read(4096, 64, local[1]);
  ASSERT_TRUE(b.run());
  // Both ask at 0 and reach the memory 5 cycles later, one grant per cycle: at 5 and 6, due at 16 and 17,
  // their responses back 5 cycles after that. The crossing is not a wait: the second waited 1 cycle.
  EXPECT_EQ(std::min(b.done[0], b.done[1]), 21u);
  EXPECT_EQ(std::max(b.done[0], b.done[1]), 22u);
  EXPECT_EQ(b.counters(0).wait_cycles + b.counters(1).wait_cycles, 1u);
}

TEST(Interconnect, BytesAreCountedInTheMemorysGranules) {
  interconnect::Params p;
  p.granule_bytes = 16;
  Bench b(1, p);
  std::vector<std::uint8_t> local;
  b.moves[0] = read(30, 20, local);  // bytes 30..49, one transaction: granules 16..63, three of them
  ASSERT_TRUE(b.run());
  EXPECT_EQ(b.counters(0).bytes, 48u);
}

}  // namespace
}  // namespace tacsim
