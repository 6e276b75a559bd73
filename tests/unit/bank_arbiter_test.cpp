// BankArbiter: params, hand-derived wave timing, the step model's per-cycle grants, and the differential test
// of the closed form against the step model (the bank maps: bank_map_test.cpp).
#include "modules/buffer/bank_arbiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "modules/common/error.h"
#include "modules/common/rng.h"

namespace tacsim::buffer {
namespace {

BankParams bank_params(std::uint32_t banks, std::uint32_t ports, BankMapKind map = BankMapKind::kInterleave,
                       std::uint32_t block_cols = 16) {
  BankParams p;
  p.banks = banks;
  p.ports_per_bank = ports;
  p.map = map;
  p.block_cols = block_cols;
  return p;
}

TEST(BankParams, DefaultsAreValid) {
  EXPECT_EQ(BankParams{}.validate(), "");
}

TEST(BankParams, RejectsBadFieldsByName) {
  BankParams p;
  p.banks = 0;
  EXPECT_EQ(p.validate(), "banks: must be at least 1, got 0");
  EXPECT_THROW(BankArbiter(p, 4), InputError);
  p = BankParams{};
  p.banks = 65536;
  EXPECT_EQ(p.validate(), "banks: must be at most 65535, got 65536");
  p = BankParams{};
  p.ports_per_bank = 0;
  EXPECT_EQ(p.validate(), "ports_per_bank: must be at least 1, got 0");
  p = BankParams{};
  p.block_cols = 257;
  EXPECT_EQ(p.validate(), "block_cols: must be at most 256, got 257");
  p = BankParams{};
  p.map = static_cast<BankMapKind>(7);
  EXPECT_EQ(p.validate(), "map: must be interleave, xor or hp, got 7");
  try {
    BankArbiter a(BankParams{}, 0);
    FAIL() << "lanes 0 accepted";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "lanes: must be at least 1, got 0");
  }
}

TEST(BankArbiter, ClosedFormWaveCycles) {
  BankArbiter one_port(bank_params(4, 1), 8);
  EXPECT_EQ(one_port.wave_cycles({}), 0u);                     // empty wave: nothing to serve
  EXPECT_EQ(one_port.wave_cycles({0, 1, 2, 3}), 1u);           // all banks distinct
  EXPECT_EQ(one_port.wave_cycles({0, 0, 0, 1}), 3u);           // bank 0 holds 3: ceil(3 / 1)
  EXPECT_EQ(one_port.wave_cycles({3, 1, 3, 1, 3, 2, 3}), 4u);  // bank 3 holds 4: ceil(4 / 1)
  BankArbiter two_ports(bank_params(4, 2), 8);
  EXPECT_EQ(two_ports.wave_cycles({0, 0, 0, 1}), 2u);           // ceil(3 / 2)
  EXPECT_EQ(two_ports.wave_cycles({3, 1, 3, 1, 3, 2, 3}), 2u);  // ceil(4 / 2)
  EXPECT_EQ(two_ports.wave_cycles({2, 2, 2, 2, 2}), 3u);        // ceil(5 / 2)
  // The query has no side effects.
  EXPECT_EQ(two_ports.counters(), BankArbiter::Counters{});
}

TEST(BankArbiter, StepModelGrantsInLaneOrder) {
  BankArbiter a(bank_params(8, 1), 5);
  const std::vector<std::uint32_t> banks = {2, 2, 5, 2, 5};
  a.begin_wave(10, banks);
  ASSERT_TRUE(a.busy());
  // Cycle 10: bank 2 grants lane 0, bank 5 lane 2. Cycle 11: lanes 1 and 4. Cycle 12: lane 3.
  EXPECT_EQ(a.step(10), (std::vector<std::uint32_t>{0, 2}));
  EXPECT_TRUE(a.busy());
  EXPECT_EQ(a.step(11), (std::vector<std::uint32_t>{1, 4}));
  EXPECT_EQ(a.step(12), (std::vector<std::uint32_t>{3}));
  EXPECT_FALSE(a.busy());
  EXPECT_EQ(a.service_cycles(), (std::vector<Cycle>{10, 11, 10, 12, 11}));
  const BankArbiter::Counters& c = a.counters();
  EXPECT_EQ(c.waves, 1u);
  EXPECT_EQ(c.reads, 5u);
  EXPECT_EQ(c.busy_cycles, 3u);      // cycles 10, 11, 12
  EXPECT_EQ(c.conflict_cycles, 2u);  // 3 cycles - 1
  EXPECT_EQ(c.conflict_waves, 1u);
  EXPECT_EQ(c.wait_cycles, 4u);  // lane waits 0 + 1 + 0 + 2 + 1
  EXPECT_EQ(a.lane_counters()[3].wait_cycles, 2u);
  EXPECT_EQ(a.lane_counters()[4].wait_cycles, 1u);

  // The closed form gives the same service cycles and counters.
  BankArbiter b(bank_params(8, 1), 5);
  EXPECT_EQ(b.serve_wave(10, banks), 3u);
  EXPECT_EQ(b.service_cycles(), a.service_cycles());
  EXPECT_EQ(b.counters(), a.counters());
  EXPECT_EQ(b.lane_counters(), a.lane_counters());
}

TEST(BankArbiter, TwoPortsServeTwoPerBankPerCycle) {
  BankArbiter a(bank_params(4, 2), 6);
  a.begin_wave(0, {1, 1, 1, 1, 1, 0});
  // Bank 1 holds lanes 0..4: two per cycle, so cycles 0, 0, 1, 1, 2; lane 5 (bank 0) in cycle 0.
  EXPECT_EQ(a.step(0), (std::vector<std::uint32_t>{0, 1, 5}));
  EXPECT_EQ(a.step(1), (std::vector<std::uint32_t>{2, 3}));
  EXPECT_EQ(a.step(2), (std::vector<std::uint32_t>{4}));
  EXPECT_FALSE(a.busy());
  EXPECT_EQ(a.counters().conflict_cycles, 2u);  // ceil(5 / 2) = 3 cycles - 1
}

TEST(BankArbiter, LanesWithoutAReadSitTheWaveOut) {
  // Two requesters of 2 lanes each: lanes 0 and 2 read bank 3, lanes 1 and 3 have nothing this wave.
  BankArbiter a(bank_params(4, 1), 4);
  const std::vector<std::uint32_t> wave = {3, kNoRead, 3, kNoRead};
  EXPECT_EQ(a.wave_cycles(wave), 2u);
  EXPECT_EQ(a.wave_cycles({kNoRead, kNoRead}), 0u);
  a.begin_wave(4, wave);
  EXPECT_EQ(a.step(4), (std::vector<std::uint32_t>{0}));
  EXPECT_EQ(a.step(5), (std::vector<std::uint32_t>{2}));
  EXPECT_FALSE(a.busy());
  EXPECT_EQ(a.service_cycles(), (std::vector<Cycle>{4, kNever, 5, kNever}));
  EXPECT_EQ(a.counters().reads, 2u);
  EXPECT_EQ(a.lane_counters()[1].reads, 0u);
  EXPECT_EQ(a.lane_counters()[2].wait_cycles, 1u);
}

TEST(BankArbiter, RejectsMisuse) {
  BankArbiter a(bank_params(4, 1), 3);
  EXPECT_THROW(a.wave_cycles({0, 1, 2, 3}), std::invalid_argument);  // 4 reads, 3 lanes
  EXPECT_THROW(a.serve_wave(0, {4}), std::invalid_argument);         // bank 4 of 4
  a.begin_wave(5, {0, 0});
  EXPECT_THROW(a.begin_wave(5, {1}), std::logic_error);  // previous wave still in service
  EXPECT_THROW(a.serve_wave(5, {1}), std::logic_error);
  EXPECT_THROW(a.step(6), std::logic_error);  // the wave's first cycle is 5
  a.step(5);
  a.step(6);
  EXPECT_FALSE(a.busy());
  EXPECT_TRUE(a.step(7).empty());  // idle: nothing to grant
  a.begin_wave(9, {});             // an empty wave leaves it idle
  EXPECT_FALSE(a.busy());
}

// Closed form against the step model on random waves: identical cycles, service cycles and counters.
TEST(BankArbiter, ClosedFormMatchesStepModel) {
  Rng rng(0xba2c);
  for (int trial = 0; trial < 2000; ++trial) {
    const auto banks = static_cast<std::uint32_t>(1 + rng.below(rng.below(4) == 0 ? 64 : 16));
    const auto ports = static_cast<std::uint32_t>(1 + rng.below(4));
    const auto map = static_cast<BankMapKind>(rng.below(3));
    const auto block = static_cast<std::uint32_t>(1 + rng.below(32));
    const auto lanes = static_cast<std::uint32_t>(1 + rng.below(24));
    const BankParams p = bank_params(banks, ports, map, block);
    BankArbiter fast(p, lanes), step(p, lanes);
    const auto bank_map = make_bank_map(p);
    Cycle t = rng.below(100);
    for (int wave = 0; wave < 10; ++wave) {
      std::vector<std::uint32_t> reads;
      const std::uint64_t n = rng.below(lanes + 1);
      const std::uint64_t base = rng.below(1000);
      for (std::uint64_t i = 0; i < n; ++i)
        reads.push_back(rng.below(5) == 0
                            ? kNoRead
                            : bank_map->bank(static_cast<std::uint32_t>(base + rng.below(4 * block))));
      const auto real = static_cast<std::uint64_t>(
          std::count_if(reads.begin(), reads.end(), [](std::uint32_t b) { return b != kNoRead; }));

      const std::uint32_t expect = fast.wave_cycles(reads);
      ASSERT_EQ(fast.serve_wave(t, reads), expect);
      step.begin_wave(t, reads);
      std::uint32_t cycles = 0;
      std::uint64_t granted = 0;
      while (step.busy()) {
        granted += step.step(t + cycles).size();
        ++cycles;
      }
      ASSERT_EQ(cycles, expect) << "trial " << trial << " wave " << wave;
      ASSERT_EQ(granted, real);
      ASSERT_EQ(step.service_cycles(), fast.service_cycles()) << "trial " << trial << " wave " << wave;
      ASSERT_EQ(step.counters(), fast.counters()) << "trial " << trial << " wave " << wave;
      ASSERT_EQ(step.lane_counters(), fast.lane_counters()) << "trial " << trial << " wave " << wave;
      t += cycles + rng.below(3);
    }
  }
}

}  // namespace
}  // namespace tacsim::buffer
