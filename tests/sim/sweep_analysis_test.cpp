// Pareto fronts by hand, accuracy tables (the shipped one included: every row parses and names a source),
// durations, and results.csv's text.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sim/sweep_analysis.h"
#include "sim/sweep_results.h"
#include "tests/support/errors.h"

namespace {

using namespace tacsim::sim;
using tacsim::testing_support::error_of;
using Index = std::vector<std::size_t>;

TEST(ParetoFrontTest, TwoObjectivesMinimised) {
  // (latency, cost): 0 and 2 trade off; 1 is beaten by 0 in both; 3 equals 2 and is kept with it; 4 is beaten
  // by 2 in cost at the same latency.
  const std::vector<std::vector<double>> v = {{1, 10}, {2, 11}, {5, 3}, {5, 3}, {5, 4}};
  EXPECT_EQ(pareto_front(v, {false, false}), (Index{0, 2, 3}));
}

TEST(ParetoFrontTest, MaximisedObjectiveAndThreeDimensions) {
  // (latency, throughput): larger throughput is better, so 1 (faster and higher) beats 0.
  EXPECT_EQ(pareto_front({{2, 100}, {1, 200}, {0.5, 50}}, {false, true}), (Index{1, 2}));
  // In three objectives a point beaten in two can survive on the third.
  EXPECT_EQ(pareto_front({{1, 1, 9}, {2, 2, 1}, {3, 3, 9}}, {false, false, false}), (Index{0, 1}));
  EXPECT_EQ(pareto_front({}, {false, false}), Index{});
}

class AccuracyTableTest : public testing::Test {
 protected:
  std::string write(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() /
            ("tacsim-accuracy-" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()) +
             ".csv");
    std::ofstream(path_) << text;
    return path_.string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_;
};

const char* kHeader = "model,task,weights,pruned_fraction,accuracy,method,source\n";

TEST_F(AccuracyTableTest, TheBestMethodForASettingCounts) {
  const auto t = read_accuracy_table(write(std::string("# comment\n") + kHeader +
                                           "bert-base,MNLI,dense,,0.845,none,\"Paper A, 2020\"\n"
                                           "bert-base,MNLI,unstructured,0.9,0.78,magnitude,Paper B\n"
                                           "bert-base,MNLI,unstructured,0.9,0.81,movement,Paper B\n"
                                           ",MNLI,2:4,,0.83,any,Paper C\n"));
  ASSERT_EQ(t.entries.size(), 4u);
  EXPECT_EQ(t.entries[0].source, "Paper A, 2020");
  EXPECT_EQ(t.tasks(), (std::vector<std::string>{"MNLI"}));
  const AccuracyEntry* e = find_accuracy(t, "MNLI", {"bert-base", "unstructured", 0.9});
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->method, "movement");
  EXPECT_EQ(find_accuracy(t, "MNLI", {"bert-base", "unstructured", 0.8}), nullptr);  // another fraction
  EXPECT_EQ(find_accuracy(t, "MNLI", {"bert-large", "dense", 0}), nullptr);          // another model
  ASSERT_NE(find_accuracy(t, "MNLI", {"bert-large", "2:4", 0}), nullptr);            // an empty model: any
  EXPECT_EQ(find_accuracy(t, "SST-2", {"bert-base", "dense", 0}), nullptr);
}

TEST_F(AccuracyTableTest, BadRowsNameTheLine) {
  std::string p = write(std::string(kHeader) + "bert-base,MNLI,dense,,84.5,none,A\n");
  EXPECT_NE(error_of([&] { read_accuracy_table(p); }).find(p + ":2: accuracy: expected a fraction"),
            std::string::npos);
  p = write(std::string(kHeader) + "bert-base,MNLI,unstructured,,0.8,none,A\n");
  EXPECT_NE(error_of([&] { read_accuracy_table(p); }).find(p + ":2: pruned_fraction"), std::string::npos);
  p = write(std::string(kHeader) + "bert-base,MNLI,dense,,0.8,none,\n");
  EXPECT_NE(error_of([&] { read_accuracy_table(p); }).find("needs its source"), std::string::npos);
  p = write("model,accuracy\n");
  EXPECT_NE(error_of([&] { read_accuracy_table(p); }).find(p + ":1: expected the header"), std::string::npos);
}

TEST(ShippedAccuracyTableTest, EveryRowHasASource) {
  const auto t =
      read_accuracy_table(std::string(TACSIM_SOURCE_DIR) + "/examples/accuracy/bert-base-mnli.csv");
  ASSERT_FALSE(t.entries.empty());
  for (const auto& e : t.entries) {
    EXPECT_EQ(e.model, "bert-base") << "line " << e.line;
    EXPECT_GT(e.source.size(), 20u) << "line " << e.line;
  }
  EXPECT_NE(find_accuracy(t, t.tasks().front(), {"bert-base", "dense", 0}), nullptr);
}

TEST(DurationTest, Units) {
  EXPECT_DOUBLE_EQ(parse_duration_ns("5ms", "--max-latency"), 5e6);
  EXPECT_DOUBLE_EQ(parse_duration_ns("250us", "--max-latency"), 250e3);
  EXPECT_DOUBLE_EQ(parse_duration_ns("1.5 s", "--max-latency"), 1.5e9);
  EXPECT_DOUBLE_EQ(parse_duration_ns("300ns", "--max-latency"), 300);
  EXPECT_NE(
      error_of([] { parse_duration_ns("5", "--max-latency"); }).find("--max-latency: expected a duration"),
      std::string::npos);
  EXPECT_NE(error_of([] { parse_duration_ns("5 min", "--max-latency"); }).find("expected a duration"),
            std::string::npos);
}

TEST(ResultsCsvTest, OneRowPerPointInPlanOrder) {
  const SweepPoint a{"aaaa", {"16", "32,64"}}, b{"bbbb", {"32", "128"}};
  SweepTable t;
  t.parameters = {"pe_array.rows", "model.seq_lens"};
  t.metrics = {"cycles", "check"};
  t.rows = {{&a, PointState::kDone, {std::string("100"), std::string("fail: C[0][0] = 1, expected 2")}},
            {&b, PointState::kFailed, {std::nullopt, std::nullopt}}};
  EXPECT_EQ(results_csv(t),
            "point,status,pe_array.rows,model.seq_lens,cycles,check\n"
            "aaaa,done,16,\"32,64\",100,\"fail: C[0][0] = 1, expected 2\"\n"
            "bbbb,failed,32,128,,\n");
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
}

}  // namespace
