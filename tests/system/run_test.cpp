// `tacsim run` end to end, as a user runs it: exit codes, result files, determinism, reproduction from the
// written config, and one-line errors for bad input with nothing half-written.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class RunTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tacsim-system-" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result tacsim(const std::string& args) {
    const fs::path o = dir_ / "stdout.txt", e = dir_ / "stderr.txt";
    const std::string cmd = std::string(TACSIM_BINARY) + " " + args + " >" + o.string() + " 2>" + e.string();
    const int status = std::system(cmd.c_str());
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(o);
    r.err = slurp(e);
    return r;
  }

  // A small GEMM keeps each test well under a second.
  std::string small(const std::string& out) { return "run -q --set gemm.m=64 --set gemm.n=96 --set gemm.k=80 --out " + (dir_ / out).string(); }

  nlohmann::json stats(const std::string& out) { return nlohmann::json::parse(slurp(dir_ / out / "stats.json")); }

  fs::path dir_;
};

TEST_F(RunTest, DefaultRunPrintsSummaryAndWritesResults) {
  const Result r = tacsim("run --out " + (dir_ / "default").string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("check                 pass"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sim cycles / s"), std::string::npos);
  const auto s = stats("default");
  for (const char* key : {"cycles", "sim_time_ns", "check", "macs", "pe_utilization", "dram_bytes", "weight_bytes"})
    EXPECT_TRUE(s["summary"].contains(key)) << key;
  EXPECT_EQ(s["summary"]["check"], "pass");
  EXPECT_EQ(s["summary"]["macs"], 256ull * 768 * 768);
  EXPECT_GT(s["summary"]["cycles"].get<std::uint64_t>(), 256ull * 768 * 768 / 4096);  // above the compute bound
  EXPECT_TRUE(s["modules"].contains("accel.pe_array"));
  EXPECT_TRUE(s["modules"].contains("accel.dma"));
  EXPECT_EQ(s["config"]["pe_array.rows"], "32");
  EXPECT_TRUE(s["host"].contains("wall_s"));
  EXPECT_TRUE(fs::exists(dir_ / "default" / "config.ini"));
}

TEST_F(RunTest, SameConfigSameStatsByteForByte) {
  ASSERT_EQ(tacsim(small("a")).code, 0);
  ASSERT_EQ(tacsim(small("b")).code, 0);
  auto a = stats("a"), b = stats("b");
  a.erase("host");
  b.erase("host");
  EXPECT_EQ(a.dump(), b.dump());
}

TEST_F(RunTest, WrittenConfigReproducesTheRun) {
  ASSERT_EQ(tacsim(small("first") + " --set pe_array.rows=8 --seed 42").code, 0);
  const Result r = tacsim("run -q --config " + (dir_ / "first" / "config.ini").string() + " --out " +
                          (dir_ / "again").string());
  ASSERT_EQ(r.code, 0) << r.err;
  auto a = stats("first"), b = stats("again");
  a.erase("host");
  b.erase("host");
  EXPECT_EQ(a.dump(), b.dump());
  EXPECT_EQ(a["config"]["sim.seed"], "42");
  EXPECT_EQ(slurp(dir_ / "first" / "config.ini"), slurp(dir_ / "again" / "config.ini"));
}

TEST_F(RunTest, SeedChangesValuesNotTiming) {
  ASSERT_EQ(tacsim(small("s1") + " --seed 1").code, 0);
  ASSERT_EQ(tacsim(small("s2") + " --seed 2").code, 0);
  EXPECT_EQ(stats("s1")["summary"]["cycles"], stats("s2")["summary"]["cycles"]);
  EXPECT_EQ(stats("s2")["summary"]["check"], "pass");
}

TEST_F(RunTest, BadInputIsOneLineExitTwoAndNoOutput) {
  struct Case {
    std::string args, message;
  };
  const fs::path ini = dir_ / "bad.ini";
  std::ofstream(ini) << "[pe_array]\nrows = 4\ncols: 4\n";
  const std::vector<Case> cases = {
      {"--set pe_array.rowz=3", "tacsim: --set unknown config key 'pe_array.rowz' (tacsim run --help lists them)"},
      {"--set pe_array.rows=0", "tacsim: config: pe_array.rows: must be at least 1, got 0"},
      {"--set gemm.m=abc", "tacsim: --set gemm.m: expected an unsigned integer up to 4294967295, got 'abc'"},
      {"--config " + ini.string(), "tacsim: " + ini.string() + ":3: expected 'key = value' or '[section]', got 'cols: 4'"},
      {"--config " + (dir_ / "missing.ini").string(), "tacsim: " + (dir_ / "missing.ini").string() + ": cannot open config file"},
      {"--set act_buffer.capacity_kib=1 --set pe_array.rows=256 --set out_buffer.capacity_kib=64",
       "tacsim: act_buffer.capacity_kib: a 256-row tile needs at least 1024 bytes per half, the buffer has 512"},
      {"--bogus", "tacsim: unrecognised option '--bogus' (see tacsim --help)"},
  };
  for (const auto& c : cases) {
    const fs::path out = dir_ / "out-bad";
    const Result r = tacsim("run -q " + c.args + " --out " + out.string());
    EXPECT_EQ(r.code, 2) << c.args;
    EXPECT_EQ(r.err, c.message + "\n") << c.args;
    EXPECT_FALSE(fs::exists(out / "stats.json")) << c.args;
  }
}

TEST_F(RunTest, UnwritableOutputFolder) {
  const fs::path file = dir_ / "a-file";
  std::ofstream(file) << "x";
  const Result r = tacsim("run -q --out " + (file / "sub").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("tacsim: " + (file / "sub").string() + ": cannot create output folder", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

TEST_F(RunTest, HelpAndVersion) {
  const Result h = tacsim("run --help");
  EXPECT_EQ(h.code, 0);
  for (const char* key : {"pe_array.rows", "gemm.m", "memory.latency_cycles", "dma.max_outstanding",
                          "act_buffer.capacity_kib", "sim.seed"})
    EXPECT_NE(h.out.find(key), std::string::npos) << key;
  EXPECT_EQ(tacsim("--help").code, 0);
  const Result v = tacsim("--version");
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out, "tacsim 0.1.0\n");
  EXPECT_EQ(tacsim("").code, 2);
  EXPECT_EQ(tacsim("frobnicate").code, 2);
}

}  // namespace
