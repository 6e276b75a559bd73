// A point's identity is its resolved configuration: the same configuration spelled two ways is one point, a
// preset or a derived value that differs makes another, and a finished point's config.ini resolves back to
// its id. Plans name the point and the key of the first bad value; a folder holding another sweep is refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sim/cli.h"
#include "sim/config.h"
#include "sim/sweep_plan.h"
#include "tests/support/errors.h"

namespace {

using namespace tacsim::sim;
using tacsim::testing_support::error_of;
using Args = std::vector<std::string>;
namespace fs = std::filesystem;

// The configuration `tacsim run ARGS` resolves.
SimConfig config_of(const Args& args) {
  namespace po = boost::program_options;
  const auto desc = run_options();
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  const RunOptions o = run_options_from(vm);
  return resolve_config(o.config_path, o.overrides);
}

class SweepPlanTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("tacsim-sweep-plan-" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(SweepPlanTest, TheSameConfigurationSpelledTwoWaysIsOnePoint) {
  const auto a = point_id({"--workload", "gemm", "--set", "pe_array.rows=16"});
  EXPECT_EQ(a.size(), kIdDigits);
  EXPECT_EQ(point_id({"--set", "sim.workload=gemm", "-s", "pe_array.rows=016"}), a);
  EXPECT_NE(point_id({"--workload", "gemm", "--set", "pe_array.rows=32"}), a);
  // A preset's timings count: another preset is another point.
  EXPECT_NE(point_id({"--workload", "gemm", "--set", "pe_array.rows=16", "--set", "dram.preset=ddr4-3200"}),
            a);
  // So does a value derived from another key: ViT's fixed length is not BERT's default.
  EXPECT_NE(point_id({"--model", "vit-b16"}), point_id({"--model", "bert-base"}));
  EXPECT_EQ(point_id({"--model", "bert-base"}), point_id({"--model", "bert-base", "--seq-len", "128"}));
}

TEST_F(SweepPlanTest, AFinishedPointsConfigIniResolvesToItsId) {
  for (const Args& args :
       {Args{"--workload", "gemm", "--set", "gemm.sparsity=3:8", "--set", "dram.tRCD_cycles=30"},
        Args{"--model", "tinybert-4", "--seq-len", "32,64", "--set", "model.topk=8"},
        Args{"--model", "vit-b16", "--set", "sparsity.weights=hp", "--set", "memory.model=fixed"}}) {
    fs::create_directories(dir_);
    std::ofstream(dir_ / "config.ini") << to_ini(config_of(args));  // what a run of `args` writes
    const std::string id = point_id(args);
    EXPECT_EQ(result_id(dir_, args), id) << args[1];
  }
}

TEST_F(SweepPlanTest, PlansResolveEveryPointAndMergeRepeats) {
  SweepSpec spec;
  spec.grid = {parse_axis("pe_array.rows=16,32", "--grid"), parse_axis("sim.seed=1,01", "--grid")};
  spec.metrics = {"cycles"};
  const SweepPlan plan = plan_sweep(spec, {"--workload", "gemm"});
  // seed 1 and 01 are one configuration: 2 distinct points of 4.
  ASSERT_EQ(plan.points.size(), 2u);
  EXPECT_EQ(plan.merged, 2u);
  EXPECT_EQ(plan.parameters, (Args{"pe_array.rows", "sim.seed"}));
  EXPECT_EQ(plan.describe(plan.points[1]), "pe_array.rows=32 sim.seed=1");
  EXPECT_EQ(plan.point_args(plan.points[1]),
            (Args{"--workload", "gemm", "--set", "pe_array.rows=32", "--set", "sim.seed=1"}));
}

TEST_F(SweepPlanTest, BadKeysAndValuesAreNamedBeforeAnythingRuns) {
  SweepSpec spec;
  spec.grid = {parse_axis("pe_array.rowz=16,32", "--grid")};
  EXPECT_EQ(error_of([&] { plan_sweep(spec, {}); }),
            "--grid pe_array.rowz: unknown config key (did you mean pe_array.rows?)");
  spec.grid = {parse_axis("pe_array.rows=16,0", "--grid")};
  EXPECT_NE(error_of([&] {
              plan_sweep(spec, {"--workload", "gemm"});
            }).find("sweep point 2 of 2 (pe_array.rows=0): config: pe_array.rows: must be at least 1"),
            std::string::npos);
  spec.grid = {parse_axis("dram.preset=hbm2,hbm3", "--grid")};
  EXPECT_NE(error_of([&] {
              plan_sweep(spec, {});
            }).find("(dram.preset=hbm3): config: dram.preset: unknown preset 'hbm3'"),
            std::string::npos);
  spec.grid = {parse_axis("pe_array.rows=16", "--grid")};
  spec.base = {"pe_array.colz=4"};
  EXPECT_NE(error_of([&] { plan_sweep(spec, {}); }).find("[base] pe_array.colz: unknown config key"),
            std::string::npos);
}

TEST_F(SweepPlanTest, AFolderHoldsOneSweep) {
  SweepSpec spec;
  spec.grid = {parse_axis("pe_array.rows=16,32", "--grid")};
  spec.metrics = {"cycles"};
  const SweepDir dir{dir_};
  const SweepPlan plan = plan_sweep(spec, {"--workload", "gemm"});
  claim_sweep_dir(dir, plan);
  const SweepPlan read = read_manifest(dir);
  EXPECT_EQ(read.run_args, plan.run_args);
  ASSERT_EQ(read.points.size(), 2u);
  EXPECT_EQ(read.points[1].id, plan.points[1].id);
  claim_sweep_dir(dir, plan);  // the same sweep again: fine

  spec.grid = {parse_axis("pe_array.rows=16,32,64", "--grid")};
  EXPECT_NE(error_of([&] {
              claim_sweep_dir(dir, plan_sweep(spec, {"--workload", "gemm"}));
            }).find("holds another sweep (2 points over pe_array.rows); this one has 3 points"),
            std::string::npos);

  const SweepDir other{dir_ / "other"};
  fs::create_directories(other.root);
  std::ofstream(other.root / "stats.json") << "{}";
  EXPECT_NE(error_of([&] { claim_sweep_dir(other, plan); }).find("exists and is not a sweep folder"),
            std::string::npos);
}

}  // namespace
