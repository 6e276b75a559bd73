// Comparing results (sim/result_diff.h): flattening, tolerances, ordering, and bad input.
#include "sim/result_diff.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "modules/common/error.h"

namespace {

using namespace tacsim::sim;
namespace fs = std::filesystem;

class ResultDiffTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tacsim-diff-" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()) +
            "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "a");
    fs::create_directories(dir_ / "b");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  std::string path(const std::string& rel) { return (dir_ / rel).string(); }
  fs::path dir_;
};

const char* kStats = R"({
  "summary": {"cycles": 1000, "check": "pass", "pe_utilization": 0.5},
  "modules": {"accel.dram": {"row_hits": 10, "histogram": {"16": 3}}},
  "config": {"pe_array.rows": "32"},
  "host": {"wall_s": 1.5}
})";

TEST_F(ResultDiffTest, FlattensStatsConfigFirstAndSkipsHost) {
  write("a/stats.json", kStats);
  const auto f = load_result(path("a"));
  ASSERT_EQ(f.size(), 6u);  // 1 config + 3 summary + 2 module figures; host is not a figure
  EXPECT_EQ(f[0].key, "config.pe_array.rows");
  EXPECT_EQ(f[1].key, "summary.cycles");
  EXPECT_EQ(f[4].key, "modules.accel.dram.row_hits");
  EXPECT_EQ(f[4].group, "modules.accel.dram");
  EXPECT_EQ(f[4].label, "row_hits");
  EXPECT_EQ(f[5].key, "modules.accel.dram.histogram.16");
  EXPECT_EQ(f[2].text, "pass");  // strings without their JSON quotes
}

TEST_F(ResultDiffTest, IdenticalResultsHaveNoChanges) {
  write("a/stats.json", kStats);
  const auto f = load_result(path("a"));
  const auto r = compare_results(f, f, {});
  EXPECT_TRUE(r.changes.empty());
  EXPECT_EQ(r.compared, 6u);
  EXPECT_EQ(r.beyond(), 0u);
}

TEST_F(ResultDiffTest, NumbersMoveByRelativeChangeAndTheLastMatchingToleranceApplies) {
  const std::vector<Figure> a = {{"summary", "summary.cycles", "cycles", "1000"},
                                 {"summary", "summary.macs", "macs", "0"}};
  const std::vector<Figure> b = {{"summary", "summary.cycles", "cycles", "1010"},
                                 {"summary", "summary.macs", "macs", "5"}};
  // Exact by default: both move beyond.
  auto r = compare_results(a, b, {});
  ASSERT_EQ(r.changes.size(), 2u);
  EXPECT_DOUBLE_EQ(*r.changes[0].relative, 0.01);  // |1010 - 1000| / 1000
  EXPECT_TRUE(r.changes[0].beyond);
  EXPECT_TRUE(std::isinf(*r.changes[1].relative));  // from 0: beyond every finite tolerance
  // 1 % covers the cycles; a later, narrower glob overrides an earlier broad one.
  r = compare_results(a, b, {parse_tolerance("summary.*=0.02"), parse_tolerance("summary.cycles=0.005")});
  EXPECT_TRUE(r.changes[0].beyond);
  EXPECT_DOUBLE_EQ(r.changes[0].tolerance, 0.005);
  r = compare_results(a, b, {parse_tolerance("summary.cycles=0.005"), parse_tolerance("summary.*=0.02")});
  EXPECT_FALSE(r.changes[0].beyond);
  EXPECT_TRUE(r.changes[1].beyond);
  EXPECT_EQ(r.beyond(), 1u);
}

TEST_F(ResultDiffTest, StringsAndOneSidedFiguresAlwaysCount) {
  const std::vector<Figure> a = {{"summary", "summary.check", "check", "pass"},
                                 {"summary", "summary.old", "old", "1"}};
  const std::vector<Figure> b = {{"summary", "summary.check", "check", "fail: C[0][0] = 1, expected 2"},
                                 {"summary", "summary.new", "new", "1"}};
  const auto r = compare_results(a, b, {parse_tolerance("*=1000")});
  ASSERT_EQ(r.changes.size(), 3u);
  EXPECT_FALSE(r.changes[0].relative.has_value());
  EXPECT_TRUE(r.changes[0].beyond);
  EXPECT_FALSE(r.changes[1].new_text.has_value());  // removed
  EXPECT_FALSE(r.changes[2].old_text.has_value());  // added
  EXPECT_EQ(r.beyond(), 3u);
}

TEST_F(ResultDiffTest, ConfigChangesComeFirstAndAddedFiguresStayWithTheirGroup) {
  const std::vector<Figure> a = {{"config", "config.x", "x", "1"},
                                 {"summary", "summary.cycles", "cycles", "10"},
                                 {"ops.csv", "ops.csv.1.cycles", "row 1 cycles", "4"}};
  const std::vector<Figure> b = {{"config", "config.x", "x", "2"},
                                 {"summary", "summary.cycles", "cycles", "11"},
                                 {"ops.csv", "ops.csv.1.cycles", "row 1 cycles", "5"},
                                 {"summary", "summary.energy_pj", "energy_pj", "7"},
                                 {"config", "config.y", "y", "3"}};
  const auto r = compare_results(a, b, {});
  ASSERT_EQ(r.changes.size(), 5u);
  EXPECT_EQ(r.changes[0].key, "config.x");
  EXPECT_EQ(r.changes[1].key, "config.y");
  EXPECT_EQ(r.changes[2].key, "summary.cycles");
  EXPECT_EQ(r.changes[3].key, "summary.energy_pj");
  EXPECT_EQ(r.changes[4].key, "ops.csv.1.cycles");
}

TEST_F(ResultDiffTest, CsvCellsAreFiguresNamedByRowAndColumnWithQuotedCommas) {
  write("a/ops.csv",
        "index,name,cycles,tiling\n0,layer0.q,100,\"GEMM 1x2x3, chunk 4\"\n1,\"say \"\"hi\"\"\",7,x\n");
  const auto f = load_result(path("a"));
  ASSERT_EQ(f.size(), 9u);  // the header, then 2 rows x 4 cells
  EXPECT_EQ(f[0].key, "ops.csv.columns");
  EXPECT_EQ(f[3].key, "ops.csv.1.cycles");
  EXPECT_EQ(f[3].label, "row 1 layer0.q cycles");
  EXPECT_EQ(f[4].text, "GEMM 1x2x3, chunk 4");
  EXPECT_EQ(f[6].text, "say \"hi\"");
}

TEST_F(ResultDiffTest, BadInputNamesTheFile) {
  auto message = [&](const std::string& p) {
    try {
      load_result(p);
    } catch (const tacsim::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(path("missing")), path("missing") + ": no such file or folder");
  EXPECT_EQ(message(path("a")), path("a") + ": not a result folder (no stats.json and no .csv file)");
  write("a/stats.json", "{\"summary\": ");
  EXPECT_EQ(message(path("a")).rfind(path("a/stats.json") + ": not valid JSON", 0), 0u);
  write("b/ops.csv", "a,b\n1,2\n3\n");
  EXPECT_EQ(message(path("b")), path("b/ops.csv") + ":3: 1 fields, the header has 2");
  write("b/ops.csv", "a,b\n1,\"2\n");
  EXPECT_EQ(message(path("b")), path("b/ops.csv") + ":2: unterminated quoted field");
}

TEST_F(ResultDiffTest, ToleranceSyntax) {
  const auto t = parse_tolerance("modules.*.row_hits=0.25");
  EXPECT_EQ(t.glob, "modules.*.row_hits");
  EXPECT_DOUBLE_EQ(t.relative, 0.25);
  for (const char* bad : {"summary.cycles", "=0.1", "summary.cycles=", "summary.cycles=-1", "x=abc", "x=inf"})
    EXPECT_THROW(parse_tolerance(bad), tacsim::InputError) << bad;
}

}  // namespace
