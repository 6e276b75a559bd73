// `--vcd` end to end: the waves of small known cases sit at the cycles the stats and the timing formulas
// give; a window and a filter keep exactly what they select; the same run writes the same bytes; bad input
// fails with one line naming the option; a failed run leaves no VCD.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "tests/support/system_test.h"
#include "tests/support/vcd_reader.h"

namespace {

using namespace tacsim::testing_support;
using tacsim::test::read_vcd;
using tacsim::test::VcdFile;
using tacsim::test::VcdVariable;

class Vcd : public SystemTest {
 protected:
  // Cycles [from, to) of each stretch where `v` holds `value`, in a clock of `period_ps`.
  static std::vector<std::pair<std::uint64_t, std::uint64_t>> stretches(const VcdVariable& v,
                                                                        const std::string& value,
                                                                        std::uint64_t period_ps,
                                                                        std::uint64_t end_ps) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (std::size_t i = 0; i < v.changes.size(); ++i)
      if (v.changes[i].value == value) {
        const std::uint64_t to = i + 1 < v.changes.size() ? v.changes[i + 1].time : end_ps;
        EXPECT_EQ(v.changes[i].time % period_ps, 0u) << v.name << " changes between clock edges";
        out.emplace_back(v.changes[i].time / period_ps, (to + period_ps - 1) / period_ps);
      }
    return out;
  }
  static std::uint64_t count(const VcdVariable& v, const std::string& value) {
    return static_cast<std::uint64_t>(
        std::count_if(v.changes.begin(), v.changes.end(), [&](const auto& c) { return c.value == value; }));
  }
  static std::uint64_t u(const nlohmann::json& j) {
    return j.is_string() ? std::stoull(j.get<std::string>()) : j.get<std::uint64_t>();
  }
};

TEST_F(Vcd, OneGemmTileBusyAndDoneAtTheFormulasCycles) {
  // One 8 x 8 tile of a dense GEMM with k = 64 on an 8 x 8 array of 4-MAC PEs: S = 64 / 4 = 16 steps in one
  // stretch; done = e + Rt + Ct + P - 1 with P = multiply 1 + adder tree 2 + accumulate 1 = 4 (dense mode).
  const fs::path vcd = dir_ / "w.vcd";
  const Result r = tacsim(
      "run -q --workload gemm --set gemm.m=8 --set gemm.n=8 --set gemm.k=64 --set pe_array.rows=8 "
      "--set pe_array.cols=8 --out " +
      (dir_ / "out").string() + " --vcd " + vcd.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto st = stats("out");
  const VcdFile f = read_vcd(vcd.string());
  EXPECT_EQ(f.timescale, "1ps");
  const std::uint64_t period = 1000;  // accel.clock_mhz = 1000
  const std::uint64_t cycles = u(st["summary"]["cycles"]);
  const auto& pe = st["modules"]["accel.engine0.pe_array"];
  ASSERT_EQ(u(pe["tiles"]), 1u);
  ASSERT_EQ(u(pe["steps"]), 16u);

  const VcdVariable& state = f.at("accel.engine0.pe_array.state");
  const auto busy = stretches(state, "busy", period, cycles * period);
  ASSERT_EQ(busy.size(), 1u);
  EXPECT_EQ(busy[0].second - busy[0].first, 16u);
  const std::uint64_t e = busy[0].second - 1;  // the last step
  const VcdVariable& done = f.at("accel.engine0.pe_array.tiles_done");
  ASSERT_EQ(done.changes.size(), 2u);  // 0 from the start, 1 from the done cycle
  EXPECT_EQ(done.changes[1].time, (e + 8 + 8 + 4 - 1) * period);
  EXPECT_EQ(done.changes[1].value, "1");
  // The stall the stats charge is the stretch the wave shows.
  std::uint64_t operand = 0;
  for (const auto& [from, to] : stretches(state, "operand_stall", period, cycles * period))
    operand += to - from;
  EXPECT_EQ(operand, u(pe["operand_stall_cycles"]));
  EXPECT_GT(operand, 0u);  // the operands come from DRAM first

  // Every DRAM command the stats count is on a command bus wave (HBM2, the default: a row and a column bus
  // per channel), at a DRAM clock edge.
  const auto& mem = st["modules"]["accel.memory"];
  const double dram_mhz = std::stod(st["config"]["dram.clock_mhz"].get<std::string>());
  std::map<std::string, std::uint64_t> commands;
  for (const auto& [name, v] : f.variables) {
    if (!(name.size() > 4 && name.compare(name.size() - 4, 4, "_cmd") == 0)) continue;
    for (const auto& c : v.changes) {
      ++commands[c.value];
      const double cycle = double(c.time) * dram_mhz * 1e-6;  // ps x MHz
      EXPECT_NEAR(cycle, std::round(cycle), 1e-6) << name << " at " << c.time;
    }
  }
  EXPECT_EQ(commands["ACT"], u(mem["act_commands"]));
  EXPECT_EQ(commands["RD"], u(mem["rd_commands"]));
  EXPECT_EQ(commands["WR"], u(mem["wr_commands"]));
  EXPECT_GT(commands["RD"], 0u);
  // The DMA's transactions all complete; the buffers end empty or full.
  EXPECT_EQ(f.at("accel.engine0.dma.outstanding").changes.back().value, "0");
}

TEST_F(Vcd, ThePeArrayStateAddsUpToItsCountersWithOneOrTwoAccumulatorSets) {
  // A model mixes sparse weight GEMMs and dense attention GEMMs (mode switches) and partial sums; a GEMM of
  // short tiles (k = 32: 8 steps for 32 output rows) with a small out buffer waits for the column ports and
  // for output halves. The state wave must charge every stall cycle to the reason the counters charge it to.
  const std::vector<std::string> runs = {"--model tinybert-4 --seq-len 64",
                                         "--workload gemm --set gemm.m=128 --set gemm.n=128 --set gemm.k=32 "
                                         "--set out_buffer.capacity_kib=8"};
  for (const std::string two_sets : {"true", "false"})
    for (const std::string& run : runs) {
      const fs::path vcd = dir_ / "w.vcd";
      const Result r = tacsim("run -q " + run + " --set pe_array.overlap_drain=" + two_sets +
                              " --vcd-signals accel.engine0.pe_array --out " + (dir_ / "out").string() +
                              " --vcd " + vcd.string());
      ASSERT_EQ(r.code, 0) << r.err;
      const auto pe = stats("out")["modules"]["accel.engine0.pe_array"];
      const VcdFile f = read_vcd(vcd.string());
      const VcdVariable& state = f.at("accel.engine0.pe_array.state");
      ASSERT_EQ(state.changes.back().value, "idle");
      const std::uint64_t end = state.changes.back().time;
      const auto cycles = [&](const char* value) {
        std::uint64_t n = 0;
        for (const auto& [from, to] : stretches(state, value, 1000, end)) n += to - from;
        return n;
      };
      const std::string what = run + ", two sets " + two_sets;
      EXPECT_EQ(cycles("busy"), u(pe["steps"])) << what;
      EXPECT_EQ(cycles("operand_stall"), u(pe["operand_stall_cycles"])) << what;
      EXPECT_EQ(cycles("out_stall"), u(pe["out_stall_cycles"])) << what;
      EXPECT_EQ(cycles("drain_stall"), u(pe["drain_stall_cycles"])) << what;
      if (run.find("gemm") != std::string::npos) {
        EXPECT_GT(u(pe["drain_stall_cycles"]), 0u) << what;
        EXPECT_GT(u(pe["out_stall_cycles"]), 0u) << what;
      }
      EXPECT_EQ(VcdVariable::number(f.at("accel.engine0.pe_array.tiles_done").changes.back().value),
                u(pe["tiles"]));
    }
}

// The HP datapath's rounds: `nonzeros` is non-zero exactly in fetch cycles, and `bank_conflict` is 1 in
// exactly the conflict cycles the stats count. Unstructured weights make reads meet in banks; HP's keep them
// apart (no conflict cycle at all).
TEST_F(Vcd, TheHpDatapathsNonZerosAndConflictsAddUpToItsCounters) {
  for (const std::string sparsity : {"unstructured", "hp"}) {
    const fs::path vcd = dir_ / "hp.vcd";
    const Result r = tacsim(
        "run -q --workload gemm --set gemm.m=64 --set gemm.n=128 --set gemm.k=256 "
        "--set gemm.sparsity=" +
        sparsity + " --vcd-signals accel.engine0.hp_datapath --out " + (dir_ / "out").string() + " --vcd " +
        vcd.string());
    ASSERT_EQ(r.code, 0) << r.err;
    const auto hp = stats("out")["modules"]["accel.engine0.hp_datapath"];
    const VcdFile f = read_vcd(vcd.string());
    const VcdVariable& nz = f.at("accel.engine0.hp_datapath.nonzeros");
    const VcdVariable& conflict = f.at("accel.engine0.hp_datapath.bank_conflict");
    ASSERT_EQ(nz.changes.back().value, "0") << sparsity;
    std::uint64_t fetch = 0, most = 0;
    for (std::size_t i = 0; i + 1 < nz.changes.size(); ++i) {
      const std::uint64_t v = VcdVariable::number(nz.changes[i].value);
      if (v > 0) fetch += (nz.changes[i + 1].time - nz.changes[i].time) / 1000;
      most = std::max(most, v);
    }
    EXPECT_EQ(fetch, u(hp["fetch_cycles"])) << sparsity;
    EXPECT_LE(most, 16u * 8) << sparsity;  // row engines x lanes
    std::uint64_t conflicts = 0;
    for (const auto& [from, to] : stretches(conflict, "1", 1000, conflict.changes.back().time))
      conflicts += to - from;
    EXPECT_EQ(conflicts, u(hp["bank_conflict_cycles"])) << sparsity;
    if (sparsity == "unstructured") {
      EXPECT_GT(conflicts, 0u);
    } else {
      EXPECT_EQ(conflicts, 0u);
    }
  }
}

TEST_F(Vcd, OneReadToAnIdleBankActivatesThenReadsTrcdLater) {
  // One read at cycle 0: its BEGIN_REQ enters the controller at cycle 1 (dram.h), its burst moves from the
  // front end into its bank's queue in that cycle and is schedulable from the next (dram_engine.cpp): the
  // idle bank's ACT at 2, the RD tRCD later, the data's end CL + BL/2 after the RD. Latency from cycle 1: 1 +
  // tRCD + CL + BL/2 = 1 + 22 + 22 + 4 = 49 cycles of 0.625 ns on DDR4-3200.
  const fs::path trace = dir_ / "one.trace", vcd = dir_ / "m.vcd";
  std::ofstream(trace) << "0x0 READ 0\n";
  const Result r = tacsim("memtest -q --preset ddr4-3200 --trace " + trace.string() + " --out " +
                          (dir_ / "out").string() + " --vcd " + vcd.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto st = stats("out");
  const auto& c = st["config"];
  const std::uint64_t tRCD = u(c["dram.tRCD_cycles"]), CL = u(c["dram.CL_cycles"]),
                      BL = u(c["dram.burst_length"]);
  const double mhz = std::stod(c["dram.clock_mhz"].get<std::string>());
  ASSERT_EQ(mhz, 1600.0);
  const std::uint64_t period = 625;  // ps
  const VcdFile f = read_vcd(vcd.string());
  const VcdVariable& cmd = f.at("memtest.memory.channel0.cmd");
  std::vector<std::pair<std::uint64_t, std::string>> cmds;
  for (const auto& ch : cmd.changes)
    if (ch.value != "-") cmds.emplace_back(ch.time / period, ch.value);
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0], std::make_pair(std::uint64_t{2}, std::string("ACT")));
  EXPECT_EQ(cmds[1], std::make_pair(2 + tRCD, std::string("RD")));
  // Each command holds the bus wave for one DRAM cycle.
  EXPECT_EQ(cmd.value_at((3 + tRCD) * period - 1), "RD");
  EXPECT_EQ(cmd.value_at((3 + tRCD) * period), "-");
  EXPECT_DOUBLE_EQ(st["summary"]["read_latency_ns_mean"].get<double>(),
                   double(1 + tRCD + CL + BL / 2) * 1e3 / mhz);
  EXPECT_EQ(f.variables.count("memtest.memory.channel0.bank0.open_row"), 0u) << "traced on request only";

  // On request: bank 0 holds row 0 open from its ACT on (open-page policy: no PRE follows).
  const Result named =
      tacsim("memtest -q --preset ddr4-3200 --trace " + trace.string() + " --out " + (dir_ / "out").string() +
             " --vcd " + vcd.string() + " --vcd-signals 'memtest.memory.channel0.bank*'");
  ASSERT_EQ(named.code, 0) << named.err;
  const VcdFile g = read_vcd(vcd.string());
  EXPECT_EQ(g.variables.size(), u(c["dram.ranks"]) * u(c["dram.bankgroups"]) * u(c["dram.banks_per_group"]));
  const VcdVariable& row = g.at("memtest.memory.channel0.bank0.open_row");
  ASSERT_EQ(row.changes.size(), 2u);
  EXPECT_EQ(row.changes[0].value, "x");
  EXPECT_EQ(row.changes[1].time, 2 * period);
  EXPECT_EQ(row.changes[1].value, "0");
}

TEST_F(Vcd, AWindowAndAFilterKeepWhatTheySelectAndAgreeWithTheWholeRun) {
  // A trace of four requests through BERT-tiny on two engines sharing the DRAM.
  const fs::path trace = dir_ / "t.csv", whole = dir_ / "whole.vcd", part = dir_ / "part.vcd";
  std::ofstream(trace) << "id,arrival_ns,seq_len\n0,0,12\n1,500,20\n2,1000,9\n3,1500,30\n";
  const std::string base = "run -q --model bert-tiny --engines 2 --trace " + trace.string() + " --out ";
  Result r = tacsim(base + (dir_ / "a").string() + " --vcd " + whole.string());
  ASSERT_EQ(r.code, 0) << r.err;
  r = tacsim(
      base + (dir_ / "b").string() + " --vcd " + part.string() +
      " --vcd-window 2000:6us --vcd-signals 'accel.engine0,accel.memory.*cmd*,accel.scheduler.waiting'");
  ASSERT_EQ(r.code, 0) << r.err;
  // Tracing changes nothing in the results.
  auto sa = stats("a"), sb = stats("b");
  sa.erase("host");
  sb.erase("host");
  EXPECT_EQ(sa, sb);

  const VcdFile w = read_vcd(whole.string()), p = read_vcd(part.string());
  const std::uint64_t start = 2000 * 1000, end = 6000 * 1000;
  ASSERT_FALSE(p.times.empty());
  EXPECT_EQ(p.times.front(), start);
  EXPECT_LT(p.times.back(), end);
  for (const char* name :
       {"accel.engine0.op", "accel.engine0.request", "accel.engine1.op", "accel.interconnect.grant",
        "accel.scheduler.in_flight", "accel.engine0.dma.outstanding"})
    EXPECT_EQ(w.variables.count(name), 1u) << name;
  std::set<std::string> ops;
  for (const auto& c : w.at("accel.engine0.op").changes) ops.insert(c.value);
  EXPECT_TRUE(ops.count("layer0.ffn_up") || ops.count("layer1.ffn_up")) << "operation names";
  std::size_t selected = 0;
  for (const auto& [name, v] : p.variables) {
    EXPECT_TRUE(name.rfind("accel.engine0.", 0) == 0 || name.rfind("accel.memory.", 0) == 0 ||
                name == "accel.scheduler.waiting")
        << name;
    ++selected;
    // The window starts with the value the whole run had then, and holds every change the whole run made in
    // it.
    const VcdVariable& all = w.at(name);
    ASSERT_FALSE(v.changes.empty()) << name;
    EXPECT_EQ(v.changes.front().time, start) << name;
    std::vector<tacsim::test::VcdChange> inside;
    for (const auto& c : all.changes)
      if (c.time > start && c.time < end) inside.push_back(c);
    ASSERT_EQ(v.changes.size(), inside.size() + 1) << name;
    EXPECT_EQ(v.changes.front().value, all.value_at(start)) << name;
    for (std::size_t i = 0; i < inside.size(); ++i) {
      EXPECT_EQ(v.changes[i + 1].time, inside[i].time) << name;
      EXPECT_EQ(v.changes[i + 1].value, inside[i].value) << name;
    }
  }
  EXPECT_GT(selected, 10u);
  EXPECT_EQ(p.variables.count("accel.engine1.op"), 0u);
}

TEST_F(Vcd, TheSameRunWritesTheSameBytesAndASaveFileBesideIt) {
  const std::string args =
      "run --workload gemm --set gemm.m=16 --set gemm.n=32 --set gemm.k=64 --set pe_array.rows=8 "
      "--set pe_array.cols=8 --set gemm.sparsity=2:4 --out ";
  Result r = tacsim(args + (dir_ / "a").string() + " --vcd " + (dir_ / "a.vcd").string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("waves in " + (dir_ / "a.vcd").string()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("gtkwave " + (dir_ / "a.gtkw").string()), std::string::npos) << r.out;
  r = tacsim(args + (dir_ / "b").string() + " --vcd " + (dir_ / "b.vcd").string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(dir_ / "a.vcd"), slurp(dir_ / "b.vcd"));
  const std::string gtkw = slurp(dir_ / "a.gtkw");
  EXPECT_NE(gtkw.find("[dumpfile] \"" + (dir_ / "a.vcd").string() + "\""), std::string::npos) << gtkw;
  EXPECT_NE(gtkw.find("[savefile] \"" + (dir_ / "a.gtkw").string() + "\""), std::string::npos) << gtkw;
  EXPECT_NE(gtkw.find("-accel.engine0.pe_array\n"), std::string::npos) << gtkw;
  EXPECT_NE(gtkw.find("accel.memory.channel0.row_cmd\n"), std::string::npos) << gtkw;
  // A VCD named inside --out belongs to the result set.
  r = tacsim(args + (dir_ / "c").string() + " --vcd " + (dir_ / "c" / "waves.vcd").string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(dir_ / "a.vcd"), slurp(dir_ / "c" / "waves.vcd"));
  EXPECT_TRUE(fs::exists(dir_ / "c" / "waves.gtkw"));
  EXPECT_TRUE(fs::exists(dir_ / "c" / "stats.json"));
}

TEST_F(Vcd, BadInputIsOneLineNamingTheOptionAndLeavesNoFile) {
  const std::string run = "run --workload gemm --set gemm.m=8 --set gemm.n=8 --set gemm.k=64 --out " +
                          (dir_ / "out").string() + " ";
  const fs::path vcd = dir_ / "w.vcd";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--vcd " + vcd.string() + " --vcd-window 100", "--vcd-window: expected START:END"},
      {"--vcd " + vcd.string() + " --vcd-window 5:2",
       "--vcd-window: '5:2': the end must come after the start"},
      {"--vcd " + vcd.string() + " --vcd-window 1:2:3", "--vcd-window: expected"},
      {"--vcd " + vcd.string() + " --vcd-window 1ks:2", "--vcd-window: expected"},
      {"--vcd " + vcd.string() + " --vcd-signals accel.nothing",
       "--vcd-signals: 'accel.nothing' matches no signal"},
      {"--vcd " + vcd.string() + " --vcd-signals 'accel.*,'", "--vcd-signals"},
      {"--vcd-window 1:2", "--vcd-window applies to --vcd"},
      {"--vcd " + (dir_ / "folder.vcd").string(), "give a file name, not a folder"},
      {"--vcd /proc/x.vcd", "--vcd: /proc/x.vcd: cannot write"},
      {"--vcd " + (dir_ / "w.txt").string(), "give a name ending in .vcd"},
      {"--vcd " + (dir_ / "out" / "sub" / "w.vcd").string(), "--vcd:"},
      {"--vcd " + vcd.string() + " --set gemm.k=0", "gemm.k"},
  };
  fs::create_directories(dir_ / "folder.vcd");
  for (const auto& [args, message] : cases) {
    const Result r = tacsim(run + args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(vcd)) << args;
  }
  // Nothing staged is left behind.
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".partial."), std::string::npos) << e.path();
}

TEST_F(Vcd, ListPrintsTheSignalsAFilterSelects) {
  Result r = tacsim("run --vcd-list");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* name :
       {"accel.engine0.pe_array.state ", "accel.engine0.op ", "accel.memory.channel0.row_cmd ",
        "accel.scheduler.waiting ", "accel.interconnect.grant ", "accel.engine0.act_buffer.half0 "})
    EXPECT_NE(r.out.find(name), std::string::npos) << name << "\n" << r.out;
  EXPECT_NE(r.out.find("accel.memory.channel0.bank0.open_row "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(traced when --vcd-signals names it)"), std::string::npos) << r.out;
  r = tacsim("run --vcd-list --vcd-signals 'accel.memory.*_bank' --set dram.preset=ddr4-3200");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("accel.memory.channel0.cmd_bank ", 0), 0u) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;  // one channel, one command bus
  r = tacsim("memtest --preset hbm2 --vcd-list");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("memtest.memory.channel7.col_cmd "), std::string::npos)
      << r.out;  // two buses per channel
}

}  // namespace
