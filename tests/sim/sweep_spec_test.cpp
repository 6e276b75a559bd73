// Sweep specs: value lists, grids, zipped lists and random samples expand into the points the header
// promises, in that order, and every malformed spec is an InputError naming the key or the file and line.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "sim/sweep_spec.h"
#include "tests/support/errors.h"

namespace {

using namespace tacsim::sim;
using tacsim::testing_support::error_of;
using Values = std::vector<std::string>;

TEST(SweepSpecTest, ValueListsTakeQuotesAndRanges) {
  EXPECT_EQ(parse_value_list("16, 32,64", "--grid k"), (Values{"16", "32", "64"}));
  EXPECT_EQ(parse_value_list("\"32,64\", 128", "--grid k"), (Values{"32,64", "128"}));
  // range(lo, hi, step) includes both ends: 8, 16, 24, 32.
  EXPECT_EQ(parse_value_list("range(8, 32, 8)", "--grid k"), (Values{"8", "16", "24", "32"}));
  EXPECT_EQ(parse_value_list("4, range(1,3)", "--grid k"), (Values{"4", "1", "2", "3"}));
  EXPECT_NE(error_of([] {
              parse_value_list("16,,32", "--grid pe_array.rows");
            }).find("--grid pe_array.rows: empty item"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_value_list("", "--grid pe_array.rows"); }).find("pe_array.rows"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_value_list("\"16, 32", "--grid k"); }).find("unbalanced quote"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_value_list("range(8, 4)", "--grid k"); }).find("lo <= hi"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_value_list("range(1, 2000000)", "--grid k"); }).find("more than"),
            std::string::npos);
}

TEST(SweepSpecTest, AxesNameTheirKey) {
  const SweepAxis a = parse_axis("pe_array.rows=16,32", "--grid");
  EXPECT_EQ(a.key, "pe_array.rows");
  EXPECT_EQ(a.values, (Values{"16", "32"}));
  EXPECT_NE(
      error_of([] { parse_axis("pe_array.rows", "--grid"); }).find("--grid 'pe_array.rows': expected KEY=V1"),
      std::string::npos);
  EXPECT_NE(error_of([] { parse_axis("=16", "--grid"); }).find("expected KEY="), std::string::npos);
}

TEST(SweepSpecTest, GridIsACartesianProductFirstKeySlowest) {
  SweepSpec s;
  s.grid = {parse_axis("a=1,2", "--grid"), parse_axis("b=x,y,z", "--grid")};
  s.validate();
  EXPECT_EQ(s.parameters(), (Values{"a", "b"}));
  EXPECT_EQ(s.point_count(), 6u);
  const auto points = s.expand();
  const std::vector<Values> expected = {{"1", "x"}, {"1", "y"}, {"1", "z"},
                                        {"2", "x"}, {"2", "y"}, {"2", "z"}};
  EXPECT_EQ(points, expected);
}

TEST(SweepSpecTest, ZipWalksListsTogetherInsideEachGridCell) {
  SweepSpec s;
  s.grid = {parse_axis("g=1,2", "--grid")};
  s.zip = {parse_axis("rows=16,32", "--zip"), parse_axis("cols=8,64", "--zip")};
  s.validate();
  const std::vector<Values> expected = {
      {"1", "16", "8"}, {"1", "32", "64"}, {"2", "16", "8"}, {"2", "32", "64"}};
  EXPECT_EQ(s.expand(), expected);
  s.zip.push_back(parse_axis("banks=4,8,16", "--zip"));
  EXPECT_NE(error_of([&] {
              s.validate();
            }).find("zipped lists must have one length: rows has 2 values, banks has 3"),
            std::string::npos);
}

TEST(SweepSpecTest, RandomSamplesAreSeededAndWithinTheirBounds) {
  SweepSpec s;
  s.random = {parse_random_axis("clock=uniform(500, 1500)", "--random"),
              parse_random_axis("banks=int(4, 6)", "--random"),
              parse_random_axis("size=loguniform(1, 1000)", "--random"),
              parse_random_axis("preset=choice(hbm2, ddr4-3200)", "--random")};
  s.samples = 200;
  s.sample_seed = 7;
  s.validate();
  const auto points = s.expand();
  ASSERT_EQ(points.size(), 200u);
  std::set<std::string> banks, presets;
  for (const auto& p : points) {
    const double clock = std::stod(p[0]), size = std::stod(p[2]);
    EXPECT_TRUE(clock >= 500 && clock <= 1500) << p[0];
    EXPECT_TRUE(size >= 1 && size <= 1000) << p[2];
    banks.insert(p[1]);
    presets.insert(p[3]);
  }
  // int(4, 6) includes both ends; 200 draws see every value.
  EXPECT_EQ(banks, (std::set<std::string>{"4", "5", "6"}));
  EXPECT_EQ(presets, (std::set<std::string>{"hbm2", "ddr4-3200"}));
  EXPECT_EQ(s.expand(), points);  // the same seed, the same samples
  s.sample_seed = 8;
  EXPECT_NE(s.expand(), points);
}

TEST(SweepSpecTest, TheSameSamplesInEveryGridCell) {
  SweepSpec s;
  s.grid = {parse_axis("g=a,b", "--grid")};
  s.random = {parse_random_axis("x=uniform(0, 1)", "--random")};
  s.samples = 3;
  const auto p = s.expand();
  ASSERT_EQ(p.size(), 6u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p[i][1], p[3 + i][1]);
}

TEST(SweepSpecTest, BadRandomAxesAreNamed) {
  EXPECT_NE(error_of([] {
              parse_random_axis("x=normal(0,1)", "--random");
            }).find("--random x: unknown distribution 'normal'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_random_axis("x=uniform(2,1)", "--random"); }).find("needs lo < hi"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_random_axis("x=loguniform(0,1)", "--random"); }).find("lo > 0"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_random_axis("x=int(1.5,3)", "--random"); }).find("expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_random_axis("x=16", "--random"); }).find("--random x: expected"),
            std::string::npos);
}

TEST(SweepSpecTest, InconsistentSpecsAreRefused) {
  SweepSpec empty;
  EXPECT_NE(error_of([&] { empty.validate(); }).find("nothing to sweep"), std::string::npos);

  SweepSpec twice;
  twice.grid = {parse_axis("k=1,2", "--grid")};
  twice.zip = {parse_axis("k=3,4", "--zip")};
  EXPECT_NE(error_of([&] { twice.validate(); }).find("--zip k: the key is swept twice (also by --grid)"),
            std::string::npos);

  SweepSpec repeated;
  repeated.grid = {parse_axis("k=16,32,16", "--grid")};
  EXPECT_NE(error_of([&] { repeated.validate(); }).find("--grid k: the value '16' is listed twice"),
            std::string::npos);

  SweepSpec no_samples;
  no_samples.random = {parse_random_axis("x=uniform(0,1)", "--random")};
  EXPECT_NE(error_of([&] { no_samples.validate(); }).find("--random x: random keys need a number of samples"),
            std::string::npos);

  SweepSpec no_random;
  no_random.grid = {parse_axis("k=1", "--grid")};
  no_random.samples = 3;
  EXPECT_NE(error_of([&] { no_random.validate(); }).find("no random key"), std::string::npos);

  // 100^4 points: refused before anything is expanded.
  SweepSpec huge;
  for (const char* k : {"a", "b", "c", "d"})
    huge.grid.push_back(parse_axis(std::string(k) + "=range(1,100)", "--grid"));
  EXPECT_NE(error_of([&] { huge.validate(); }).find("more than 1000000 points"), std::string::npos);
}

TEST(SweepSpecTest, MetricListsAreNames) {
  EXPECT_EQ(parse_metric_list("cycles, modules.accel.memory.row_hits", "--metric"),
            (Values{"cycles", "modules.accel.memory.row_hits"}));
  EXPECT_NE(error_of([] { parse_metric_list("cycles,", "--metric"); }).find("--metric: empty item"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_metric_list("p 99", "--metric"); }).find("not a figure name"),
            std::string::npos);
}

class SweepFileTest : public testing::Test {
 protected:
  std::string write(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() /
            ("tacsim-sweep-spec-" +
             std::string(testing::UnitTest::GetInstance()->current_test_info()->name()) + ".ini");
    std::ofstream(path_) << text;
    return path_.string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_;
};

TEST_F(SweepFileTest, EverySection) {
  const std::string path = write(
      "# a design space\n"
      "[sweep]\nmetrics = cycles, dram_bytes\nsamples = 2\nseed = 5\n"
      "[base]\npe_array.cols = 32\n"
      "[grid]\npe_array.rows = 16, 32\ndram.preset = hbm2, ddr4-3200   ; two presets\n"
      "[zip]\nact_buffer.banks = 8, 16\nact_buffer.capacity_kib = 64, 128\n"
      "[random]\naccel.clock_mhz = uniform(500, 1500)\n");
  SweepSpec s;
  read_sweep_file(path, s);
  s.validate();
  EXPECT_EQ(s.metrics, (Values{"cycles", "dram_bytes"}));
  EXPECT_EQ(s.base, (Values{"pe_array.cols=32"}));
  EXPECT_EQ(s.parameters(), (Values{"pe_array.rows", "dram.preset", "act_buffer.banks",
                                    "act_buffer.capacity_kib", "accel.clock_mhz"}));
  EXPECT_EQ(s.sample_seed, 5u);
  // 2 rows x 2 presets x 2 zip rows x 2 samples.
  EXPECT_EQ(s.point_count(), 16u);
  EXPECT_EQ(s.grid[0].where, path + ":9:");
}

TEST_F(SweepFileTest, ErrorsNameTheFileAndLine) {
  SweepSpec s;
  std::string path = write("[grid]\npe_array.rows = 16,\n");
  EXPECT_NE(error_of([&] { read_sweep_file(path, s); }).find(path + ":2: pe_array.rows: empty item"),
            std::string::npos);
  path = write("[sweep]\njobs = 4\n");
  EXPECT_NE(error_of([&] { read_sweep_file(path, s); }).find(path + ":2: unknown key 'jobs' in [sweep]"),
            std::string::npos);
  path = write("[grids]\npe_array.rows = 16\n");
  EXPECT_NE(error_of([&] { read_sweep_file(path, s); }).find(path + ":2: 'grids.pe_array.rows' is outside"),
            std::string::npos);
  path = write("[random]\nx = uniform(1)\n");
  EXPECT_NE(error_of([&] { read_sweep_file(path, s); }).find(path + ":2: x: uniform() takes two bounds"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_sweep_file("/nonexistent/sweep.ini", s); }).find("cannot open sweep file"),
            std::string::npos);
}

}  // namespace
