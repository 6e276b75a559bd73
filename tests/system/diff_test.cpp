// `tacsim diff` and the regression suite's runner, end to end: a moved PE array latency or DRAM timing is
// named and fails; tolerances, formats and exit codes as the README states them.
#include <fstream>

#include "tests/support/system_test.h"

namespace {

using namespace tacsim::testing_support;

class DiffTest : public SystemTest {
 protected:
  std::string gemm(const std::string& out, const std::string& extra = "") {
    return "run -q --workload gemm --set gemm.m=64 --set gemm.n=128 --set gemm.k=256 " + extra + " --out " +
           (dir_ / out).string();
  }
  std::string p(const std::string& rel) { return (dir_ / rel).string(); }
};

TEST_F(DiffTest, SameRunTwiceIsIdentical) {
  ASSERT_EQ(tacsim(gemm("a")).code, 0);
  ASSERT_EQ(tacsim(gemm("b")).code, 0);
  const Result r = tacsim("diff " + p("a") + " " + p("b"));
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(" figures compared: 0 moved beyond tolerance, 0 within"), std::string::npos) << r.out;
}

TEST_F(DiffTest, AMovedPeLatencyIsNamedWithTheConfigKeyFirst) {
  ASSERT_EQ(tacsim(gemm("a")).code, 0);
  ASSERT_EQ(tacsim(gemm("b", "--set pe_array.adder_tree_latency_cycles=5")).code, 0);
  const Result r = tacsim("diff " + p("a") + " " + p("b"));
  EXPECT_EQ(r.code, 1) << r.err;
  // The config group comes first and names the key that explains the rest.
  EXPECT_EQ(r.out.rfind("config (1 changed)\n  pe_array.adder_tree_latency_cycles", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("summary ("), std::string::npos);
  EXPECT_NE(r.out.find("  cycles "), std::string::npos);
  EXPECT_NE(r.out.find("modules.accel.engine0.pe_array"), std::string::npos);
  // Within a generous tolerance on everything the same change passes.
  EXPECT_EQ(tacsim("diff --tol '*=10' " + p("a") + " " + p("b")).code, 0);
  // A tolerance on the cycles alone is not enough: the config key still moved.
  EXPECT_EQ(tacsim("diff --tol 'summary.cycles=0.5' " + p("a") + " " + p("b")).code, 1);
}

TEST_F(DiffTest, AMovedDramTimingIsNamed) {
  ASSERT_EQ(tacsim(gemm("a")).code, 0);
  ASSERT_EQ(tacsim(gemm("b", "--set dram.tRCD_cycles=30")).code, 0);
  const Result r = tacsim("diff --format json " + p("a") + " " + p("b"));
  EXPECT_EQ(r.code, 1);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["changes"][0]["key"], "config.dram.tRCD_cycles");
  bool cycles = false;
  for (const auto& c : j["changes"]) cycles |= c["key"] == "summary.cycles" && c["beyond_tolerance"] == true;
  EXPECT_TRUE(cycles) << r.out;
  EXPECT_GT(j["beyond_tolerance"].get<int>(), 1);
}

TEST_F(DiffTest, MarkdownForAReviewComment) {
  ASSERT_EQ(tacsim(gemm("a")).code, 0);
  ASSERT_EQ(tacsim(gemm("b", "--set pe_array.adder_tree_latency_cycles=5")).code, 0);
  const Result r = tacsim("diff --format markdown " + p("a") + "/stats.json " + p("b") + "/stats.json");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out.rfind("**tacsim diff**: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("| group | figure | old | new | change |"), std::string::npos);
  EXPECT_NE(r.out.find("| config | `pe_array.adder_tree_latency_cycles` | 2 | 5 | +150 % |"),
            std::string::npos)
      << r.out;
}

TEST_F(DiffTest, BadInputIsExitTwoWithOneLine) {
  ASSERT_EQ(tacsim(gemm("a")).code, 0);
  const std::pair<std::string, std::string> cases[] = {
      {"diff " + p("a"), "tacsim: diff: expected two results (OLD NEW), got 1\n"},
      {"diff " + p("a") + " " + p("nope"), "tacsim: " + p("nope") + ": no such file or folder\n"},
      {"diff --tol cycles " + p("a") + " " + p("a"),
       "tacsim: --tol 'cycles': expected KEY_OR_GLOB=REL with REL a number >= 0, e.g. "
       "'summary.cycles=0.01'\n"},
      {"diff --format xml " + p("a") + " " + p("a"),
       "tacsim: --format: expected table, json or markdown, got 'xml'\n"},
  };
  for (const auto& [args, err] : cases) {
    const Result r = tacsim(args);
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_EQ(r.err, err) << args;
  }
  std::ofstream(dir_ / "a" / "stats.json") << "{ not json";
  const Result r = tacsim("diff " + p("a") + " " + p("a"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("tacsim: " + p("a") + "/stats.json: not valid JSON", 0), 0u) << r.err;
}

// The suite's runner fails a case whose golden differs from what the binary now gives, naming the figure.
TEST_F(DiffTest, RegressionRunnerFailsWhenAGoldenFigureMoved) {
  const std::string src = TACSIM_SOURCE_DIR;
  fs::create_directories(dir_ / "golden");
  fs::copy(src + "/tests/regression/golden/gemm-dense", dir_ / "golden" / "gemm-dense");
  const std::string runner = "REGRESS_GOLDEN_DIR=" + p("golden") + " bash " + src +
                             "/tests/regression/regress check " + TACSIM_BINARY + " gemm-dense " + p("work");
  auto run = [&](const std::string& cmd) {
    const int status = std::system((cmd + " >" + p("out.txt") + " 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  ASSERT_EQ(run(runner), 0) << slurp(dir_ / "out.txt");
  // Edit the golden's cycle count as if the machine had changed under it.
  std::string stats = slurp(dir_ / "golden" / "gemm-dense" / "stats.json");
  const auto at = stats.find("\"cycles\": ");
  ASSERT_NE(at, std::string::npos);
  stats.insert(at + 10, "1");
  std::ofstream(dir_ / "golden" / "gemm-dense" / "stats.json") << stats;
  EXPECT_EQ(run(runner), 1);
  const std::string out = slurp(dir_ / "out.txt");
  EXPECT_NE(out.find("summary (1 changed)\n  cycles "), std::string::npos) << out;
  EXPECT_NE(out.find("tools/update-goldens gemm-dense"), std::string::npos) << out;
}

}  // namespace
