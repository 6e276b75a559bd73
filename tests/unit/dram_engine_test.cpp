#include "modules/dram/dram_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "modules/common/error.h"
#include "tests/unit/dram_timing_checker.h"

namespace tacsim::dram {
namespace {

const std::vector<std::string> kPresets = {"ddr4-2400", "ddr4-3200", "lpddr4-3200", "hbm2"};

Params preset(const std::string& name) {
  return load_preset(name, default_presets_dir());
}

// Read queue and write buffer of `bursts` each (draining when full), `per_bank` bursts per bank queue.
void small_queues(Params& p, std::uint32_t bursts, std::uint32_t per_bank) {
  p.read_queue_bursts = bursts;
  p.write_buffer_bursts = bursts;
  p.write_high_watermark_bursts = bursts;
  p.write_low_watermark_bursts = 0;
  p.bank_queue_bursts = per_bank;
}

struct Arrival {
  Cycle cycle;
  Transaction txn;
};

// What a run produced: everything the differential test compares.
struct RunLog {
  std::vector<Command> commands;
  std::vector<Completion> completions;
  Counters counters;
};

// Event-driven driver, as the SystemC shell is: sleep until the next arrival or the engine's next event.
// Arrivals are offered in order; a refused one is retried after the next advance. Completions come through
// the shell's reused buffer, the reference driver's through the by-value take_completions().
RunLog run_events(const Params& p, const std::vector<Arrival>& traffic, Cycle end,
                  testing::TimingChecker* checker = nullptr) {
  Engine engine(p);
  RunLog run;
  std::vector<Completion> done;
  engine.set_command_observer([&](const Command& c) {
    run.commands.push_back(c);
    if (checker != nullptr) checker->record(c);
  });
  std::size_t i = 0;
  for (;;) {
    const Cycle t = engine.next_cycle();
    bool refused = false;
    while (i < traffic.size() && traffic[i].cycle <= t) {
      if (!engine.try_enqueue(traffic[i].txn, t)) {
        refused = true;
        break;
      }
      ++i;
    }
    Cycle next = engine.next_event();
    if (!refused && i < traffic.size()) next = std::min(next, traffic[i].cycle);
    if (next > end) break;
    if (!refused && i < traffic.size() && traffic[i].cycle == next && next > t) {
      if (engine.try_enqueue(traffic[i].txn, next)) ++i;  // enqueue before the cycle is processed
      continue;
    }
    engine.advance_to(next);
    engine.take_completions(done);
    run.completions.insert(run.completions.end(), done.begin(), done.end());
  }
  engine.advance_to(end);
  engine.take_completions(done);
  run.completions.insert(run.completions.end(), done.begin(), done.end());
  run.counters = engine.counters();
  if (checker != nullptr) checker->finish(end);
  return run;
}

// Clock-by-clock reference driver: every cycle, offer arrivals, then step.
RunLog run_steps(const Params& p, const std::vector<Arrival>& traffic, Cycle end) {
  Engine engine(p);
  RunLog run;
  engine.set_command_observer([&](const Command& c) { run.commands.push_back(c); });
  std::size_t i = 0;
  for (Cycle t = 0; t <= end; ++t) {
    while (i < traffic.size() && traffic[i].cycle <= t && engine.try_enqueue(traffic[i].txn, t)) ++i;
    engine.step(t);
    for (const Completion& c : engine.take_completions()) run.completions.push_back(c);
  }
  run.counters = engine.counters();
  return run;
}

// Sequential transactions of `bytes` from address 0, all offered at cycle 0 (a DMA streaming a large tile).
std::vector<Arrival> stream_traffic(std::size_t count, std::uint32_t bytes, bool writes) {
  std::vector<Arrival> t;
  for (std::size_t i = 0; i < count; ++i) t.push_back({0, Transaction{i, i * bytes, bytes, writes}});
  return t;
}

// Random sizes (1 B to 4 KiB, any alignment), random addresses inside `footprint` bytes, random gaps; one
// in five a 2-D block of 2 to 8 rows of up to 512 bytes, rows up to 256 bytes apart (some sharing a burst).
std::vector<Arrival> random_traffic(const Params& p, std::uint64_t seed, std::size_t count,
                                    double write_fraction, std::uint64_t footprint, Cycle max_gap) {
  std::mt19937_64 rng(seed);
  footprint = std::min(footprint, p.capacity_bytes());
  std::uniform_int_distribution<std::uint32_t> size(1, 4096);
  std::uniform_int_distribution<Cycle> gap(0, max_gap);
  std::bernoulli_distribution write(write_fraction);
  std::vector<Arrival> t;
  Cycle now = 0;
  for (std::size_t i = 0; i < count; ++i) {
    Transaction x{i, 0, rng() % 4 == 0 ? 64 : size(rng), false};
    if (rng() % 5 == 0) {
      x.rows = 2 + static_cast<std::uint32_t>(rng() % 7);
      x.bytes = 1 + static_cast<std::uint32_t>(rng() % 512);
      x.stride = x.bytes + rng() % 257;
    }
    const std::uint64_t extent = std::uint64_t{x.rows - 1} * x.stride + x.bytes;
    x.address = std::uniform_int_distribution<std::uint64_t>(0, footprint - extent)(rng);
    x.is_write = write(rng);
    now += gap(rng);
    t.push_back({now, x});
  }
  return t;
}

std::uint64_t bursts_of(const Transaction& t, std::uint32_t burst_bytes) {
  std::uint64_t n = 0, next = 0;
  for (std::uint32_t r = 0; r < t.rows; ++r) {
    const std::uint64_t a = t.address + std::uint64_t{r} * t.stride;
    const std::uint64_t first = std::max(a / burst_bytes, next), last = (a + t.bytes - 1) / burst_bytes;
    if (last >= first) n += last - first + 1;
    next = last + 1;
  }
  return n;
}

// Runs one 64-byte-or-less read per entry and returns the finish cycles.
struct Probe {
  explicit Probe(const Params& p) : engine(p) {
    engine.set_command_observer([this](const Command& c) { commands.push_back(c); });
  }
  Cycle access(const Location& where, Cycle at, bool is_write = false, std::uint32_t bytes = 0) {
    const std::uint64_t address = engine.address_map().encode(where);
    const Transaction txn{next_id++, address, bytes == 0 ? engine.address_map().burst_bytes() : bytes,
                          is_write};
    EXPECT_TRUE(engine.try_enqueue(txn, at));
    for (;;) {
      engine.advance_to(engine.next_event());
      for (const Completion& c : engine.take_completions()) {
        if (c.id == txn.id) return c.finish;
      }
    }
  }
  Engine engine;
  std::vector<Command> commands;
  std::uint64_t next_id = 0;
};

Location at_row(std::uint32_t row, std::uint32_t column = 0) {
  Location l;
  l.row = row;
  l.column = column;
  return l;
}

// ---- Latency of single accesses, derived by hand
// -------------------------------------------------------------

// A request that arrives in cycle t moves from the read queue into its bank queue at the end of t, as in
// DRAMsim3's controller: its first command can issue at t + 1.
constexpr Cycle kToBankQueue = 1;

TEST(DramEngine, Ddr4_3200IdleHitAndConflictLatencies) {
  Probe probe(preset("ddr4-3200"));
  EXPECT_EQ(probe.access(at_row(0), 0), 49u);        // ACT 1; + tRCD 22 + CL 22 + burst 4 = 49
  EXPECT_EQ(probe.access(at_row(0, 8), 100), 127u);  // row hit: RD 101 + CL 22 + burst 4 = 127
  // Row conflict at 200: PRE 201 (tRAS and tRTP long met), ACT 201 + tRP 22 = 223, RD 223 + tRCD 22 = 245,
  // data ends 245 + CL 22 + burst 4 = 271: 1 + tRP + tRCD + CL + burst = 71 cycles.
  EXPECT_EQ(probe.access(at_row(1), 200), 271u);
  ASSERT_EQ(probe.commands.size(), 6u);  // ACT RD, RD, PRE ACT RD
  EXPECT_EQ(probe.commands[3].type, CommandType::kPre);
  EXPECT_EQ(probe.commands[3].cycle, 201u);
  EXPECT_EQ(probe.commands[4].cycle, 223u);
  EXPECT_EQ(probe.commands[5].cycle, 245u);
  const Counters& c = probe.engine.counters();
  EXPECT_EQ(c.row_misses, 1u);
  EXPECT_EQ(c.row_hits, 1u);
  EXPECT_EQ(c.row_conflicts, 1u);
  EXPECT_EQ(c.read_latency_sum_cycles, 49u + 27u + 71u);
}

TEST(DramEngine, IdleHitAndConflictLatenciesFollowTheTimingsOfEveryPreset) {
  for (const std::string& name : kPresets) {
    SCOPED_TRACE(name);
    const Params p = preset(name);
    Probe probe(p);
    const Cycle burst = p.burst_cycles();
    EXPECT_EQ(probe.access(at_row(0), 0), kToBankQueue + p.tRCD_cycles + p.CL_cycles + burst);
    EXPECT_EQ(probe.access(at_row(0, p.burst_length), 1000), 1000 + kToBankQueue + p.CL_cycles + burst);
    EXPECT_EQ(probe.access(at_row(1), 2000),
              2000 + kToBankQueue + p.tRP_cycles + p.tRCD_cycles + p.CL_cycles + burst);
  }
  // The same by hand for HBM2: 1 + tRCD 14 + CL 14 + burst 2 = 31; LPDDR4-3200: 1 + tRCD 29 + CL 28 + burst 8
  // = 66.
  EXPECT_EQ(Probe(preset("hbm2")).access(at_row(0), 0), 31u);
  EXPECT_EQ(Probe(preset("lpddr4-3200")).access(at_row(0), 0), 66u);
}

TEST(DramEngine, WritesArePostedAndIssueWhenNoReadWaits) {
  Probe probe(preset("ddr4-3200"));
  // Acknowledged the cycle after it enters the write buffer; with no read waiting it moves on to its bank
  // queue at the end of that cycle: ACT 1, WR 1 + tRCD 22 = 23.
  EXPECT_EQ(probe.access(at_row(0), 0, true), 1u);
  EXPECT_EQ(probe.engine.counters().write_transactions, 1u);
  EXPECT_EQ(probe.engine.counters().write_latency_sum_cycles, 1u);
  probe.engine.advance_to(100);
  ASSERT_EQ(probe.commands.size(), 2u);
  EXPECT_EQ(probe.commands[1].type, CommandType::kWr);
  EXPECT_EQ(probe.commands[1].cycle, 23u);
  EXPECT_TRUE(probe.engine.idle());
}

TEST(DramEngine, UnalignedTransactionIsSplitIntoBurstsThatOverlapInTime) {
  Probe probe(preset("ddr4-3200"));
  // Bytes 60..159 touch the bursts at 0, 64 and 128, which RoRaBaCoBgCh puts in bank groups 0, 1 and 2. They
  // reach their bank queues at the ends of cycles 0, 1 and 2: ACTs at 1, 5, 9 (tRRD_S 4); RDs at 23, 27, 31
  // (tRCD 22 after each); the last data ends 31 + 22 + 4 = 57.
  EXPECT_TRUE(probe.engine.try_enqueue(Transaction{7, 60, 100, false}, 0));
  probe.engine.advance_to(100);
  const std::vector<Completion> done = probe.engine.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, 7u);
  EXPECT_EQ(done[0].finish, 57u);
  EXPECT_EQ(probe.engine.counters().read_bursts, 3u);
  EXPECT_EQ(probe.engine.counters().act_commands, 3u);
  std::vector<Cycle> cycles;
  for (const Command& c : probe.commands) cycles.push_back(c.cycle);
  EXPECT_EQ(cycles, (std::vector<Cycle>{1, 5, 9, 23, 27, 31}));
}

TEST(DramEngine, ABlockTransactionCarriesTheBurstsOfItsRowsOnce) {
  // Rows [60,100) [108,148) [156,196): bursts 0 and 64, 64 again and 128, 128 and 192 -- four, as the three
  // rows sent one by one would move, but in one transaction that completes with its last burst.
  Probe probe(preset("ddr4-3200"));
  EXPECT_TRUE(probe.engine.try_enqueue(Transaction{7, 60, 40, false, 3, 48}, 0));
  probe.engine.advance_to(200);
  const std::vector<Completion> done = probe.engine.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(probe.engine.counters().read_bursts, 4u);
  std::vector<std::uint32_t> columns;
  Cycle last = 0;
  for (const Command& c : probe.commands) {
    if (c.type != CommandType::kRd) continue;
    columns.push_back(c.bankgroup);
    last = std::max(last, c.cycle);
  }
  EXPECT_EQ(columns, (std::vector<std::uint32_t>{0, 1, 2, 3}));  // RoRaBaCoBgCh: a burst per bank group
  EXPECT_EQ(done[0].finish, last + 22 + 4);
  EXPECT_THROW(probe.engine.try_enqueue(Transaction{8, 0, 64, false, 2, 32}, 201), std::invalid_argument);
  EXPECT_THROW(probe.engine.try_enqueue(
                   Transaction{9, probe.engine.address_map().capacity_bytes() - 128, 64, false, 3, 64}, 201),
               std::out_of_range);
}

TEST(DramEngine, LargeTransactionCompletesWhenItsLastBurstEnds) {
  // 64 KiB starting 100 bytes into a burst: 1 + 1024 bursts over all eight HBM2 channels.
  const Params p = preset("hbm2");
  Engine engine(p);
  Cycle last_data_end = 0;
  std::uint64_t columns = 0;
  engine.set_command_observer([&](const Command& c) {
    if (c.type == CommandType::kRd || c.type == CommandType::kRda) {
      ++columns;
      last_data_end = std::max<Cycle>(last_data_end, c.cycle + p.CL_cycles + p.burst_cycles());
    }
  });
  ASSERT_TRUE(engine.try_enqueue(Transaction{42, 100, 64 * 1024, false}, 0));
  engine.advance_to(20000);
  const auto done = engine.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(columns, 1025u);
  EXPECT_EQ(engine.counters().read_bursts, 1025u);
  EXPECT_EQ(done[0].finish, last_data_end);
  EXPECT_TRUE(engine.idle());
}

TEST(DramEngine, ClosedPagePrechargesWithTheLastQueuedAccess) {
  Params p = preset("ddr4-3200");
  p.page_policy = PagePolicyKind::kClosed;
  Probe probe(p);
  EXPECT_EQ(probe.access(at_row(0), 0), 49u);  // ACT 1, RDA 23, + CL 22 + burst 4
  // The same row again: RDA at 23 precharged at max(23 + tRTP 12, 1 + tRAS 52) = 53, so ACT no earlier than
  // 53 + tRP 22 = 75; arriving at 100 it pays 1 + tRCD 22 + CL 22 + burst 4 again: 149.
  EXPECT_EQ(probe.access(at_row(0, 8), 100), 149u);
  EXPECT_EQ(probe.engine.counters().rda_commands, 2u);
  EXPECT_EQ(probe.engine.counters().pre_commands, 0u);
  EXPECT_EQ(probe.engine.counters().row_misses, 2u);
  // Arriving at 60, before the bank may be activated again: ACT at 75, RD at 97, data ends 97 + 22 + 4 = 123.
  Probe early(p);
  early.access(at_row(0), 0);
  EXPECT_EQ(early.access(at_row(0, 8), 60), 123u);
}

TEST(DramEngine, RefreshDelaysAnAccessByTRfc) {
  const Params p = preset("ddr4-2400");
  // Rank 0's first REF is due at tREFI = 9360 with every bank idle: REF 9360, ACT 9360 + tRFC 420 = 9780,
  // RD 9780 + tRCD 16 = 9796, data ends 9796 + CL 16 + burst 4 = 9816.
  EXPECT_EQ(Probe(p).access(at_row(0), 9360), 9816u);
  // With a row open from an access at 9000: PRE at 9360, REF 9360 + tRP 16 = 9376, ACT 9376 + 420 = 9796,
  // RD 9812, data ends 9812 + 16 + 4 = 9832.
  Probe busy(p);
  EXPECT_EQ(busy.access(at_row(0), 9000), 9037u);  // 1 + tRCD 16 + CL 16 + burst 4 = 37
  EXPECT_EQ(busy.access(at_row(0, 8), 9360), 9832u);
  // An access to rank 1 waits only for the command bus (rank 1's own refresh is due 4680 cycles later): rank
  // 0's REF takes cycle 9360, so ACT 9361, RD 9361 + 16 = 9377, data ends 9377 + 16 + 4 = 9397.
  Location other = at_row(0);
  other.rank = 1;
  EXPECT_EQ(Probe(p).access(other, 9360), 9397u);
}

TEST(DramEngine, RefreshRunsOncePerIntervalPerRankStaggered) {
  const Params p = preset("ddr4-2400");
  Engine engine(p);
  testing::TimingChecker checker(p);
  std::vector<Cycle> rank1;
  engine.set_command_observer([&](const Command& c) {
    checker.record(c);
    if (c.rank == 1) rank1.push_back(c.cycle);
  });
  engine.advance_to(10 * 9360);
  // Rank 0 at 9360 k for k = 1..10; rank 1 at 9360 k + 9360 / 2 for k = 1..9: 19 REFs.
  EXPECT_EQ(engine.counters().ref_commands, 19u);
  EXPECT_EQ(engine.counters().refresh_cycles, 19u * 420u);
  ASSERT_FALSE(rank1.empty());
  EXPECT_EQ(rank1.front(), 9360u + 4680u);
  checker.finish(10 * 9360);
  EXPECT_TRUE(checker.ok()) << checker.summary();
  Params off = p;
  off.refresh_enabled = false;
  Engine quiet(off);
  EXPECT_EQ(quiet.next_event(), kNever);
}

TEST(DramEngine, NextEventNamesEachCycleWhereSomethingHappens) {
  Engine engine(preset("ddr4-3200"));
  EXPECT_EQ(engine.next_event(), 12480u);  // nothing queued: rank 0's first refresh at tREFI
  ASSERT_TRUE(engine.try_enqueue(Transaction{1, 0, 64, false}, 5));
  EXPECT_EQ(engine.next_event(), 5u);  // the read moves on into its bank queue
  engine.advance_to(5);
  EXPECT_EQ(engine.next_event(), 6u);  // ACT
  engine.advance_to(6);
  EXPECT_EQ(engine.next_event(), 28u);  // RD at 6 + tRCD 22
  engine.advance_to(28);
  EXPECT_EQ(engine.next_event(), 54u);  // completion at 28 + CL 22 + burst 4
  engine.advance_to(53);
  EXPECT_TRUE(engine.take_completions().empty());
  engine.advance_to(54);
  const auto done = engine.take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].finish, 54u);
  EXPECT_TRUE(engine.idle());
  EXPECT_EQ(engine.next_event(), 12480u);
}

TEST(DramEngine, QueueOccupancyAndLatencyStatistics) {
  Engine engine(preset("ddr4-3200"));
  ASSERT_TRUE(engine.try_enqueue(Transaction{1, 0, 64, false}, 0));
  engine.advance_to(100);
  // The burst is queued at the end of cycles 0..22 and leaves with its RD at 23: 23 burst-cycles.
  EXPECT_EQ(engine.counters().queue_occupancy_sum, 23u);
  EXPECT_EQ(engine.counters().queue_occupancy_max, 1u);
  EXPECT_EQ(engine.counters().read_latency_histogram.count(49), 1u);
  EXPECT_EQ(engine.counters().read_latency_histogram.percentile(0.5), 49u);
  EXPECT_EQ(engine.counters().read_latency_histogram.percentile(0.99), 49u);
}

TEST(DramEngine, HbmIssuesARowAndAColumnCommandInOneCycle) {
  for (bool separate : {true, false}) {
    SCOPED_TRACE(separate ? "separate buses" : "one bus");
    Params p = preset("hbm2");
    p.separate_row_column_buses = separate;
    Probe probe(p);
    probe.access(at_row(0), 0);  // ACT 1, RD 15: row 0 of bank 0 stays open
    Location other = at_row(0);
    other.bank = 1;
    Engine& e = probe.engine;
    // At 100 a hit in bank 0 (RD) and a miss in bank 1 (ACT) arrive; both reach their bank queues at the end
    // of 100 and are ready at 101: on HBM's two buses both issue at 101; on one bus the RD goes first
    // (FR-FCFS) and the ACT follows at 102.
    ASSERT_TRUE(e.try_enqueue(Transaction{10, e.address_map().encode(at_row(0, 4)), 64, false}, 100));
    ASSERT_TRUE(e.try_enqueue(Transaction{11, e.address_map().encode(other), 64, false}, 100));
    e.advance_to(300);
    ASSERT_EQ(probe.commands.size(), 5u);  // ACT RD, RD, ACT RD
    EXPECT_EQ(probe.commands[2].type, CommandType::kRd);
    EXPECT_EQ(probe.commands[2].cycle, 101u);
    EXPECT_EQ(probe.commands[3].type, CommandType::kAct);
    EXPECT_EQ(probe.commands[3].cycle, separate ? 101u : 102u);
  }
}

TEST(DramEngine, HbmReadToPrechargeFollowsTheBurstLength) {
  for (std::uint32_t bl : {4u, 2u}) {
    SCOPED_TRACE("BL" + std::to_string(bl));
    Params p = preset("hbm2");
    p.burst_length = bl;
    Probe probe(p);
    probe.access(at_row(0), 0);  // ACT 1: tRAS ends at 35
    Engine& e = probe.engine;
    // A hit and a conflict at 100, in the bank queue from 101 and 102: RD 101, then PRE at 101 + tRTP: tRTP_L
    // 6 with BL4, tRTP_S 4 with BL2.
    ASSERT_TRUE(e.try_enqueue(Transaction{10, e.address_map().encode(at_row(0, bl)), 32, false}, 100));
    ASSERT_TRUE(e.try_enqueue(Transaction{11, e.address_map().encode(at_row(1)), 32, false}, 100));
    e.advance_to(400);
    ASSERT_GE(probe.commands.size(), 4u);
    EXPECT_EQ(probe.commands[3].type, CommandType::kPre);
    EXPECT_EQ(probe.commands[3].cycle, 101u + (bl == 4 ? p.tRTP_L_cycles : p.tRTP_S_cycles));
    EXPECT_EQ(probe.commands[3].cycle, bl == 4 ? 107u : 105u);
  }
}

// ---- Scheduling policy
// ------------------------------------------------------------------------------------------

TEST(DramEngine, RowHitIsServedBeforeAnOlderConflict) {
  Probe probe(preset("ddr4-3200"));
  probe.access(at_row(0), 0);  // opens row 0 of bank 0: ACT 1, RD 23
  Engine& e = probe.engine;
  ASSERT_TRUE(e.try_enqueue(Transaction{10, e.address_map().encode(at_row(1)), 64, false}, 100));  // conflict
  ASSERT_TRUE(e.try_enqueue(Transaction{11, e.address_map().encode(at_row(0, 8)), 64, false}, 100));  // hit
  e.advance_to(400);
  std::map<std::uint64_t, Cycle> finish;
  for (const Completion& c : e.take_completions()) finish[c.id] = c.finish;
  EXPECT_EQ(finish[11], 127u);  // the younger hit goes first: RD 101, + CL 22 + burst 4
  // The conflict's PRE waits for the hit: max(ACT 1 + tRAS 52, RD 101 + tRTP 12) = 113; ACT 135; RD 157;
  // data ends 157 + 22 + 4 = 183.
  EXPECT_EQ(finish[10], 183u);
}

TEST(DramEngine, RowHitCapLetsAWaitingConflictThrough) {
  // Row 0 of bank 0 open; then a conflict to row 1, then 12 hits to row 0, all at cycle 100.
  auto run = [](std::uint32_t cap) {
    Params p = preset("ddr4-3200");
    p.row_hit_cap = cap;
    Probe probe(p);
    probe.access(at_row(0), 0);
    Engine& e = probe.engine;
    EXPECT_TRUE(e.try_enqueue(Transaction{100, e.address_map().encode(at_row(1)), 64, false}, 100));
    for (std::uint32_t i = 1; i <= 12; ++i) {
      EXPECT_TRUE(e.try_enqueue(Transaction{i, e.address_map().encode(at_row(0, 8 * i)), 64, false}, 100));
    }
    e.advance_to(2000);
    int hits_before_conflict = 0;
    for (const Completion& c : e.take_completions()) {
      if (c.id == 100) break;
      ++hits_before_conflict;
    }
    return hits_before_conflict;
  };
  EXPECT_EQ(run(16), 12);  // under the cap every hit goes first (FR-FCFS)
  EXPECT_EQ(run(4), 3);    // the opening access counts: 1 + 3 hits reach the cap of 4, then the conflict
}

TEST(DramEngine, ReadsOfABufferedWriteAreServedFromItAndWritesMerge) {
  Engine engine(preset("ddr4-3200"));
  std::vector<Command> log;
  engine.set_command_observer([&](const Command& c) { log.push_back(c); });
  const std::uint64_t x = engine.address_map().encode(at_row(0));
  const std::uint64_t y = engine.address_map().encode(at_row(0, 8));
  ASSERT_TRUE(engine.try_enqueue(Transaction{1, y, 64, false}, 0));
  ASSERT_TRUE(engine.try_enqueue(Transaction{2, x, 64, true}, 0));
  ASSERT_TRUE(engine.try_enqueue(Transaction{3, x, 64, false}, 0));
  ASSERT_TRUE(engine.try_enqueue(Transaction{4, x, 64, true}, 0));
  engine.advance_to(300);
  std::map<std::uint64_t, Cycle> finish;
  for (const Completion& c : engine.take_completions()) finish[c.id] = c.finish;
  // Read 1: ACT 1, RD 23, data ends 49. Write 2 is acknowledged at 1, read 3 of the same burst is served from
  // the write buffer at 1, and write 4 merges into write 2 (acknowledged at 1). The buffered write waits
  // while read 1 does, then issues once: its data may start 2 idle cycles after read 1's data (ends 49), so
  // WR at 51 - CWL 16 = 35.
  EXPECT_EQ(finish[1], 49u);
  EXPECT_EQ(finish[2], 1u);
  EXPECT_EQ(finish[3], 1u);
  EXPECT_EQ(finish[4], 1u);
  EXPECT_EQ(engine.counters().reads_forwarded, 1u);
  EXPECT_EQ(engine.counters().writes_merged, 1u);
  ASSERT_EQ(log.size(), 3u);  // ACT, RD, WR
  EXPECT_EQ(log[2].type, CommandType::kWr);
  EXPECT_EQ(log[2].cycle, 35u);
}

TEST(DramEngine, AWriteNeverOvertakesAnOlderReadOfItsBurst) {
  Params p = preset("ddr4-3200");
  small_queues(p, 1, 1);  // one place in the read queue, the write buffer and each bank queue
  Engine engine(p);
  std::vector<Command> log;
  engine.set_command_observer([&](const Command& c) { log.push_back(c); });
  const std::uint64_t x = engine.address_map().encode(at_row(0));
  const std::uint64_t z = engine.address_map().encode(at_row(1));
  // The read of z takes bank 0's queue place, the read of x waits in the read queue, and the write of x fills
  // the write buffer, which starts a drain at once. When z's RD frees the bank's place, the write may not
  // take it: the read of x goes first (a drain lets through the reads a buffered write waits for), then the
  // write, behind it in the bank queue.
  ASSERT_TRUE(engine.try_enqueue(Transaction{1, z, 64, false}, 0));
  ASSERT_TRUE(engine.try_enqueue(Transaction{2, x, 64, false}, 1));
  ASSERT_TRUE(engine.try_enqueue(Transaction{3, x, 64, true}, 2));
  engine.advance_to(1000);
  std::vector<std::pair<CommandType, std::uint32_t>> columns;
  for (const Command& c : log)
    if (c.type == CommandType::kRd || c.type == CommandType::kWr) columns.emplace_back(c.type, c.row);
  EXPECT_EQ(columns, (std::vector<std::pair<CommandType, std::uint32_t>>{
                         {CommandType::kRd, 1}, {CommandType::kRd, 0}, {CommandType::kWr, 0}}));
  EXPECT_EQ(engine.counters().write_drains, 1u);
  EXPECT_EQ(engine.take_completions().size(), 3u);
  EXPECT_TRUE(engine.idle());
}

TEST(DramEngine, WritesWaitForTheHighWatermarkThenDrain) {
  Params p = preset("ddr4-3200");
  p.write_buffer_bursts = 8;
  p.write_high_watermark_bursts = 6;
  p.write_low_watermark_bursts = 2;
  Engine engine(p);
  std::vector<Command> log;
  engine.set_command_observer([&](const Command& c) { log.push_back(c); });
  // 40 reads of one row, one per cycle from 0: RDs at 23, 31, ... (tCCD_L 8), the last at 23 + 39 x 8 = 335.
  // 6 writes to another bank group arrive at 41..46 and stay in the buffer until the sixth makes 6 (the high
  // watermark): the drain starts at 46 and moves the 6 buffered writes on at the ends of 46..51 while the
  // reads wait in the read queue; ACT at 48 (the RD due at 47 takes the bus first). In the bank queues the
  // writes then compete with the reads, and reads ready every tCCD_L keep them behind the read-to-write
  // turnaround until the stream ends: WR from 335 + 12 = 347 (the write data may start 2 cycles after the
  // read data ends at 335 + CL 22 + burst 4: 363 - CWL 16), one per tCCD_L 8. (So does DRAMsim3, whose drains
  // move writes on; a steady stream of writes fills the buffer again and the reads run dry behind it.)
  std::uint64_t id = 0;
  for (std::uint32_t i = 0; i < 40; ++i) {
    const std::uint64_t address = engine.address_map().encode(at_row(0, 8 * i));
    ASSERT_TRUE(engine.try_enqueue(Transaction{id++, address, 64, false}, i));
  }
  for (std::uint32_t i = 0; i < 6; ++i) {
    Location l = at_row(7, 8 * i);
    l.bankgroup = 1;
    ASSERT_TRUE(engine.try_enqueue(Transaction{id++, engine.address_map().encode(l), 64, true}, 41 + i));
  }
  engine.advance_to(5000);
  EXPECT_EQ(engine.counters().write_drains, 1u);
  std::vector<Cycle> writes;
  for (const Command& c : log) {
    if (c.type == CommandType::kAct && c.bankgroup == 1) {
      EXPECT_EQ(c.cycle, 48u);
    }
    if (c.type == CommandType::kWr) writes.push_back(c.cycle);
  }
  EXPECT_EQ(writes, (std::vector<Cycle>{347, 355, 363, 371, 379, 387}));
}

// ---- Traffic: legality, bandwidth, conservation
// ------------------------------------------------------------

TEST(DramEngine, EveryPresetPassesTheTimingCheckerUnderStreamRandomAndMixedTraffic) {
  for (const std::string& name : kPresets) {
    for (PagePolicyKind policy : {PagePolicyKind::kOpen, PagePolicyKind::kClosed}) {
      Params p = preset(name);
      p.page_policy = policy;
      // The closed page runs under DRAMsim3's scheduler: both schedulers meet the checker with both policies.
      if (policy == PagePolicyKind::kClosed) p.scheduler = SchedulerKind::kBankRoundRobin;
      const std::vector<std::pair<std::string, std::vector<Arrival>>> kinds = {
          {"stream", stream_traffic(150, 4096, false)},
          {"random", random_traffic(p, 11, 300, 0.5, p.capacity_bytes(), 60)},
          {"mixed", random_traffic(p, 12, 600, 0.3, 256 * 1024, 20)},
      };
      for (const auto& [kind, traffic] : kinds) {
        SCOPED_TRACE(name + " " + kind + (policy == PagePolicyKind::kOpen ? " open" : " closed"));
        testing::TimingChecker checker(p);
        const RunLog run = run_events(p, traffic, 200000, &checker);
        EXPECT_TRUE(checker.ok()) << checker.summary();
        ASSERT_EQ(run.completions.size(), traffic.size()) << "every transaction completes within the run";
        std::uint64_t bursts = 0;
        for (const Arrival& a : traffic) bursts += bursts_of(a.txn, p.burst_bytes());
        const Counters& c = run.counters;
        EXPECT_EQ(c.read_bursts + c.write_bursts + c.reads_forwarded + c.writes_merged, bursts);
        EXPECT_EQ(c.data_bus_busy_cycles, checker.data_cycles());
        EXPECT_EQ(c.row_hits + c.row_misses + c.row_conflicts, c.read_bursts + c.write_bursts);
      }
    }
  }
}

TEST(DramEngine, StreamingReadsReachNinetyPercentOfPeakLessRefresh) {
  for (const std::string& name : kPresets) {
    SCOPED_TRACE(name);
    const Params p = preset(name);
    const Cycle cycles = 8 * Cycle{p.tREFI_cycles};
    // Enough 4 KiB reads to keep every channel busy for the whole run.
    const std::size_t count = cycles * p.channels / p.burst_cycles() * p.burst_bytes() / 4096 + 64;
    testing::TimingChecker checker(p);
    const RunLog run = run_events(p, stream_traffic(count, 4096, false), cycles, &checker);
    EXPECT_TRUE(checker.ok()) << checker.summary();
    const double utilisation =
        static_cast<double>(run.counters.data_bus_busy_cycles) / static_cast<double>(cycles * p.channels);
    const double ceiling = 1.0 - static_cast<double>(p.tRFC_cycles) / p.tREFI_cycles;
    const double gbps = utilisation * p.channels * p.bus_width_bits / 8 * 2 * p.clock_mhz / 1000;
    std::printf("[ stream   ] %-12s %5.1f %% of peak (refresh leaves %5.1f %%), %6.1f GB/s\n", name.c_str(),
                100 * utilisation, 100 * ceiling, gbps);
    EXPECT_GE(utilisation, 0.9 * ceiling);
  }
}

TEST(DramEngine, NothingIsLostOrDuplicatedWhenTheQueuesAreFull) {
  for (const std::string& name :
       {std::string("lpddr4-3200"), std::string("hbm2"), std::string("ddr4-3200")}) {
    SCOPED_TRACE(name);
    Params p = preset(name);
    small_queues(p, 2, 1);
    // 400 transactions all offered at cycle 0: the front ends refuse most offers and the queues stay full.
    std::vector<Arrival> traffic = random_traffic(p, 5, 400, 0.5, 1 << 20, 0);
    Engine engine(p);
    testing::TimingChecker checker(p);
    engine.set_command_observer([&](const Command& c) { checker.record(c); });
    std::size_t next = 0;
    std::uint64_t refusals = 0;
    std::vector<Completion> done;
    std::map<std::uint64_t, Cycle> accepted_at;
    for (Cycle t = 0; t < 2000000 && done.size() < traffic.size(); t = engine.next_cycle()) {
      while (next < traffic.size()) {
        if (!engine.try_enqueue(traffic[next].txn, t)) {
          ++refusals;
          break;
        }
        accepted_at[traffic[next].txn.id] = t;
        ++next;
      }
      engine.advance_to(engine.next_event());
      for (const Completion& c : engine.take_completions()) done.push_back(c);
    }
    while (!engine.idle()) engine.advance_to(engine.next_event());  // posted writes still buffered
    EXPECT_GT(refusals, 100u);
    const std::uint32_t banks = p.ranks * p.bankgroups * p.banks_per_group;
    EXPECT_LE(engine.counters().queue_occupancy_max, (2u + 2u + banks) * p.channels);
    ASSERT_EQ(done.size(), traffic.size());
    std::map<std::uint64_t, int> seen;
    for (std::size_t i = 0; i < done.size(); ++i) {
      ++seen[done[i].id];
      if (i > 0) {
        EXPECT_LE(done[i - 1].finish, done[i].finish) << "completions come in finish order";
      }
      EXPECT_GE(done[i].finish, accepted_at[done[i].id] + 1);
    }
    for (const Arrival& a : traffic) EXPECT_EQ(seen[a.txn.id], 1) << "transaction " << a.txn.id;
    std::uint64_t reads = 0, writes = 0, bursts = 0;
    for (const Arrival& a : traffic) {
      (a.txn.is_write ? writes : reads) += 1;
      bursts += bursts_of(a.txn, p.burst_bytes());
    }
    EXPECT_EQ(engine.counters().read_transactions, reads);
    EXPECT_EQ(engine.counters().write_transactions, writes);
    const Counters& c = engine.counters();
    EXPECT_EQ(c.read_bursts + c.write_bursts + c.reads_forwarded + c.writes_merged, bursts);
    EXPECT_TRUE(engine.idle());
    EXPECT_TRUE(checker.ok()) << checker.summary();
  }
}

// A caller that sleeps after a refusal until next_retry_cycle() has been processed must not miss the cycle
// the clock-by-clock driver, retrying every cycle, gets the transaction in.
TEST(DramEngine, RetryCycleIsNeverLaterThanTheFirstAcceptance) {
  for (const std::string& name : kPresets) {
    SCOPED_TRACE(name);
    Params p = preset(name);
    small_queues(p, 2, 1);
    const std::vector<Arrival> traffic = random_traffic(p, 77, 300, 0.5, 1 << 20, 3);
    Engine engine(p);
    std::size_t next = 0;
    std::uint64_t refusals = 0;
    Cycle retry_after = kNever;  // the pending transaction's last next_retry_cycle(), if it was refused
    for (Cycle t = 0; next < traffic.size(); ++t) {
      while (next < traffic.size() && traffic[next].cycle <= t) {
        if (!engine.try_enqueue(traffic[next].txn, t)) {
          ++refusals;
          retry_after = engine.next_retry_cycle();
          ASSERT_GE(retry_after, t);
          break;
        }
        if (retry_after != kNever) {
          ASSERT_GT(t, retry_after) << "taken before the retry cycle was processed";
        }
        retry_after = kNever;
        ++next;
      }
      engine.step(t);
    }
    EXPECT_GT(refusals, 200u);
  }
}

// ---- Exactness: the event-driven path against the clock-by-clock reference --------------------------------

void expect_same(const RunLog& a, const RunLog& b) {
  ASSERT_EQ(a.commands.size(), b.commands.size());
  for (std::size_t i = 0; i < a.commands.size(); ++i) {
    const Command& x = a.commands[i];
    const Command& y = b.commands[i];
    const bool same = x.cycle == y.cycle && x.type == y.type && x.channel == y.channel && x.rank == y.rank &&
                      x.bankgroup == y.bankgroup && x.bank == y.bank && x.row == y.row &&
                      x.column == y.column;
    ASSERT_TRUE(same) << "command " << i << ": " << to_string(x.type) << " at " << x.cycle << " vs "
                      << to_string(y.type) << " at " << y.cycle;
  }
  ASSERT_EQ(a.completions.size(), b.completions.size());
  for (std::size_t i = 0; i < a.completions.size(); ++i) {
    ASSERT_EQ(a.completions[i].id, b.completions[i].id) << "completion " << i;
    ASSERT_EQ(a.completions[i].finish, b.completions[i].finish) << "completion " << i;
  }
  for (const CounterInfo& info : counter_infos()) {
    EXPECT_EQ(a.counters.*info.field, b.counters.*info.field) << info.name;
  }
  EXPECT_EQ(a.counters.read_latency_histogram, b.counters.read_latency_histogram);
}

// The Dram shell sleeps until the next arrival, the retry cycle of a refused transaction and the completion
// bound, and nothing else. A driver doing the same must see exactly the run of the clock-by-clock driver that
// offers every cycle: nothing released before a bound, no acceptance missed.
TEST(DramEngine, ACallerSleepingOnTheBoundsSeesTheReferenceRun) {
  std::uint64_t seed = 500;
  for (const std::string& name : kPresets) {
    for (SchedulerKind scheduler : {SchedulerKind::kFrFcfs, SchedulerKind::kBankRoundRobin}) {
      Params p = preset(name);
      p.scheduler = scheduler;
      small_queues(p, 6, 2);
      p.write_high_watermark_bursts = 4;
      p.write_low_watermark_bursts = 1;
      p.tREFI_cycles = 900;  // refresh draining often
      SCOPED_TRACE(name + " scheduler " + get_field(p, "scheduler"));
      const std::vector<Arrival> traffic = random_traffic(p, seed++, 250, 0.4, 1 << 16, 40);
      Engine engine(p);
      RunLog run;
      engine.set_command_observer([&](const Command& c) { run.commands.push_back(c); });
      std::vector<Completion> done;
      std::size_t i = 0;
      std::uint64_t sleeps = 0;
      for (Cycle t = 0;;) {
        bool refused = false;
        while (i < traffic.size() && traffic[i].cycle <= t) {
          if (!engine.try_enqueue(traffic[i].txn, t)) {
            refused = true;
            break;
          }
          ++i;
        }
        Cycle wake = kNever;  // the next cycle at which to offer
        if (refused)
          wake = engine.next_retry_cycle() + 1;
        else if (i < traffic.size())
          wake = traffic[i].cycle;
        const Cycle bound = engine.next_completion_bound();
        if (wake == kNever && bound == kNever) {
          // Only posted writes left: the shell would leave them to its next wake-up; issue them now.
          while (!engine.idle()) engine.advance_to(engine.next_event());
          ASSERT_FALSE(engine.has_completions());
          break;
        }
        const Cycle until = std::min(wake == kNever ? kNever : wake - 1, bound);
        ASSERT_GE(until + 1, t);
        if (until > t) {
          engine.advance_to(until - 1);
          ASSERT_FALSE(engine.has_completions()) << "a completion before the bound " << bound;
          ++sleeps;
        }
        if (until != kNever && until >= engine.next_cycle()) engine.advance_to(until);
        engine.take_completions(done);
        run.completions.insert(run.completions.end(), done.begin(), done.end());
        t = until + 1;
      }
      EXPECT_TRUE(engine.idle());
      EXPECT_GT(sleeps, 100u);
      run.counters = engine.counters();
      const RunLog steps = run_steps(p, traffic, engine.next_cycle() - 1);
      expect_same(run, steps);
    }
  }
}

TEST(DramEngine, EventDrivenPathEqualsClockByClockReference) {
  std::uint64_t seed = 100;
  for (const std::string& name : kPresets) {
    for (PagePolicyKind policy : {PagePolicyKind::kOpen, PagePolicyKind::kClosed}) {
      Params p = preset(name);
      p.page_policy = policy;
      // Each scheduler with each page policy over the presets: the odd seeds run DRAMsim3's.
      p.scheduler = (seed / 2) % 2 == 0 ? SchedulerKind::kFrFcfs : SchedulerKind::kBankRoundRobin;
      if (policy == PagePolicyKind::kClosed) {  // small queues, a drain between watermarks of 6 and 2
        small_queues(p, 8, 4);
        p.write_high_watermark_bursts = 6;
        p.write_low_watermark_bursts = 2;
      }
      p.row_hit_cap = policy == PagePolicyKind::kOpen ? 16 : 3;
      for (const auto& [footprint, gap] : {std::pair<std::uint64_t, Cycle>{p.capacity_bytes(), 80},
                                           std::pair<std::uint64_t, Cycle>{64 * 1024, 15}}) {
        SCOPED_TRACE(name + (policy == PagePolicyKind::kOpen ? " open" : " closed") + " footprint " +
                     std::to_string(footprint) + " scheduler " + get_field(p, "scheduler"));
        const std::vector<Arrival> traffic = random_traffic(p, seed++, 300, 0.4, footprint, gap);
        const Cycle end = 100007;  // several refreshes for every preset
        const RunLog events = run_events(p, traffic, end);
        const RunLog steps = run_steps(p, traffic, end);
        EXPECT_GT(events.completions.size(), 100u);
        expect_same(events, steps);
      }
    }
  }
}

// Refresh every few hundred cycles, two-burst queues and a row-hit cap of 2: refresh draining, front-end
// back-pressure and capping interleave constantly, which is where a skipped cycle would show.
TEST(DramEngine, EventDrivenPathEqualsReferenceUnderRefreshAndQueueStress) {
  std::uint64_t seed = 900;
  for (const std::string& name : kPresets) {
    for (SchedulerKind scheduler : {SchedulerKind::kFrFcfs, SchedulerKind::kBankRoundRobin}) {
      Params p = preset(name);
      p.scheduler = scheduler;
      SCOPED_TRACE(name + " " + get_field(p, "scheduler"));
      p.tREFI_cycles = 3 * p.tRFC_cycles;
      small_queues(p, 2, 1);
      p.row_hit_cap = 2;
      const std::vector<Arrival> traffic = random_traffic(p, seed++, 200, 0.5, 32 * 1024, 10);
      testing::TimingChecker checker(p);
      const RunLog events = run_events(p, traffic, 60007, &checker);
      EXPECT_TRUE(checker.ok()) << checker.summary();
      EXPECT_GT(events.counters.ref_commands, 20u);
      expect_same(events, run_steps(p, traffic, 60007));
    }
  }
}

// ---- Contract violations
// ---------------------------------------------------------------------------------------

TEST(DramEngine, RejectsMisuseWithClearErrors) {
  Engine engine(preset("ddr4-3200"));
  engine.advance_to(10);
  EXPECT_THROW(engine.try_enqueue(Transaction{1, 0, 64, false}, 10), std::logic_error);  // cycle 10 is done
  EXPECT_THROW(engine.step(20), std::logic_error);  // the next cycle is 11
  EXPECT_THROW(engine.try_enqueue(Transaction{1, 0, 0, false}, 11), std::invalid_argument);
  const std::uint64_t capacity = engine.address_map().capacity_bytes();
  EXPECT_THROW(engine.try_enqueue(Transaction{1, capacity - 32, 64, false}, 11), std::out_of_range);
  EXPECT_TRUE(engine.try_enqueue(Transaction{1, capacity - 64, 64, false}, 11));
  Params bad = preset("ddr4-3200");
  bad.tRC_cycles = 10;
  try {
    Engine broken(bad);
    FAIL() << "accepted tRC_cycles = 10";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("dram: tRC_cycles:", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace tacsim::dram
