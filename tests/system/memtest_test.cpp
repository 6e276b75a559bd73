// `tacsim memtest` end to end: bandwidth and latency figures against the DRAM's formulas, trace replay in the
// DRAMsim3 format, determinism, and bad input.
#include "tests/support/system_test.h"

namespace {

using namespace tacsim::testing_support;

class Memtest : public SystemTest {
 protected:
  int run(const std::string& args, std::string* err = nullptr) {
    const Result r = tacsim("memtest -q " + args + " --out " + (dir_ / "out").string());
    if (err) *err = r.err;
    return r.code;
  }
  nlohmann::json stats() { return SystemTest::stats("out"); }
};

TEST_F(Memtest, StreamReachesPeakLessRefresh) {
  for (const char* preset : {"ddr4-3200", "hbm2"}) {
    ASSERT_EQ(run(std::string("--preset ") + preset + " --pattern stream --bytes 8388608"), 0) << preset;
    const auto s = stats()["summary"];
    const auto cfg = stats()["config"];
    const double refresh = std::stod(cfg["dram.tRFC_cycles"].get<std::string>()) /
                           std::stod(cfg["dram.tREFI_cycles"].get<std::string>());
    const double floor = 0.9 * s["peak_bandwidth_gbps"].get<double>() * (1 - refresh);
    EXPECT_GE(s["bandwidth_gbps"].get<double>(), floor) << preset;
    EXPECT_GT(s["row_hit_rate"].get<double>(), 0.9) << preset;
    EXPECT_EQ(s["check"], "pass");
  }
}

TEST_F(Memtest, RandomTrafficMissesRows) {
  ASSERT_EQ(run("--preset ddr4-3200 --pattern random --bytes 262144 --read-ratio 0.7"), 0);
  const auto s = stats()["summary"];
  EXPECT_EQ(s["requests"], 262144 / 64);
  EXPECT_LT(s["row_hit_rate"].get<double>(), 0.1);
  // Every read waits at least tRCD + CL + burst = 48 cycles of 0.625 ns = 30 ns when its bank is idle.
  EXPECT_GT(s["read_latency_ns_mean"].get<double>(), 30.0);
  EXPECT_EQ(s["check"], "pass");
}

TEST_F(Memtest, ReplaysADramsim3TraceAndChecksData) {
  const fs::path trace = dir_ / "trace.txt";
  {
    std::ofstream t(trace);
    // Writes, then reads of the same lines once the writes are done, then reads of untouched (zero) lines.
    for (int i = 0; i < 64; ++i) t << "0x" << std::hex << i * 64 << std::dec << " WRITE " << i << "\n";
    for (int i = 0; i < 64; ++i) t << "0x" << std::hex << i * 64 << std::dec << " READ " << 2000 + i << "\n";
    for (int i = 0; i < 16; ++i) t << "0x" << std::hex << (1 << 24) + i * 4096 << std::dec << " READ 3000\n";
  }
  ASSERT_EQ(run("--preset ddr4-3200 --trace " + trace.string()), 0);
  const auto st = stats();
  EXPECT_EQ(st["summary"]["requests"], 144);
  EXPECT_EQ(st["summary"]["check"], "pass");
  EXPECT_EQ(st["modules"]["memtest.generator"]["reads_checked"], 80);
  EXPECT_EQ(st["modules"]["memtest.memory"]["write_bursts"], 64);
  // The last requests are not issued before their trace cycle.
  EXPECT_GT(st["summary"]["cycles"].get<int>(), 3000);
}

TEST_F(Memtest, WithoutDataChecksTheTimingIsTheSame) {
  const std::string args = "--pattern random --bytes 65536 --read-ratio 0.5 --seed 3";
  ASSERT_EQ(run(args), 0);
  const auto checked = stats()["summary"];
  ASSERT_EQ(run(args + " --set sim.check=false"), 0);
  const auto unchecked = stats()["summary"];
  EXPECT_EQ(checked["check"], "pass");
  EXPECT_EQ(unchecked["check"], "off");
  for (const char* k : {"cycles", "requests", "bandwidth_gbps", "read_latency_ns_mean", "row_hit_rate"})
    EXPECT_EQ(checked[k], unchecked[k]) << k;
}

TEST_F(Memtest, SameInputSameStats) {
  ASSERT_EQ(run("--pattern random --bytes 65536 --read-ratio 0.5 --seed 3"), 0);
  auto a = stats();
  ASSERT_EQ(run("--pattern random --bytes 65536 --read-ratio 0.5 --seed 3"), 0);
  auto b = stats();
  a.erase("host");
  b.erase("host");
  EXPECT_EQ(a.dump(), b.dump());
}

TEST_F(Memtest, BadInputExitsTwoWithOneLine) {
  const fs::path trace = dir_ / "bad.txt";
  std::ofstream(trace) << "0x40 READ 1\n0x80 READ 0\n";
  std::string err;
  EXPECT_EQ(run("--trace " + trace.string(), &err), 2);
  EXPECT_EQ(err, "tacsim: " + trace.string() + ":2: cycle 0 is before the previous line's 1\n");
  EXPECT_EQ(run("--preset ddr5", &err), 2);
  EXPECT_EQ(
      err.rfind("tacsim: config: dram.preset: unknown preset 'ddr5' (bundled: ddr4-2400, ddr4-3200, ", 0), 0u)
      << err;
  EXPECT_EQ(run("--preset ddr4-3200 --set dram.tRC_cycles=60", &err), 2);
  EXPECT_EQ(err, "tacsim: config: dram.tRC_cycles: must be at least tRAS_cycles + tRP_cycles = 74, got 60\n");
  EXPECT_EQ(run("--set dram.tRCD_cycles=fast", &err), 2);
  EXPECT_EQ(err.rfind("tacsim: --set dram.tRCD_cycles: ", 0), 0u) << err;
  EXPECT_EQ(run("--pattern zigzag", &err), 2);
  EXPECT_EQ(err, "tacsim: --set memtest.pattern: expected stream, random or strided, got 'zigzag'\n");
  EXPECT_FALSE(fs::exists(dir_ / "out" / "stats.json"));
}

}  // namespace
