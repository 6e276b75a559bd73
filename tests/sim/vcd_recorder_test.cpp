// VcdRecorder: changes in any order come out sorted, once per time, only when a value changes; a window
// opens with the values before it; spilled runs merge into the same bytes; globs select and report misses.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <unistd.h>

#include "modules/common/error.h"
#include "sim/vcd_recorder.h"
#include "tests/support/vcd_reader.h"

namespace {

namespace fs = std::filesystem;
using tacsim::sim::VcdOptions;
using tacsim::sim::VcdRecorder;
using tacsim::test::read_vcd;

class VcdRecorderTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tacsim-vcd-recorder-" + std::to_string(::getpid()) + "-" +
                                        testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string slurp(const std::string& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  fs::path dir_;
};

constexpr std::uint64_t kNs = 1'000'000;  // fs

TEST_F(VcdRecorderTest, ChangesInAnyOrderComeOutSortedOncePerTimeAndOnlyWhenTheValueChanges) {
  VcdRecorder r(VcdOptions{});
  const auto busy = r.integer("a.b.busy", 1, "");
  const auto depth = r.integer("a.depth", 8, "");
  const auto cmd = r.enumerated("a.b.cmd", {"-", "ACT", "RD"}, "");
  const auto op = r.text("a.op", "");
  busy.set(0, 0);
  depth.set(0, 0);
  cmd.set(30 * kNs, 2);  // before the changes made at earlier times
  cmd.set(10 * kNs, 1);
  cmd.set(11 * kNs, 0);
  busy.set(20 * kNs, 1);
  busy.set(20 * kNs, 0);  // the last change made at a time counts: no change
  depth.set(5 * kNs, 3);
  depth.set(7 * kNs, 3);  // the same value: nothing written
  depth.set(8 * kNs, tacsim::waves::kUnknown);
  op.set_text(9 * kNs, "layer0.ffn up");
  EXPECT_EQ(r.write(path("a.vcd"), "test"), 10u);  // 4 initial values + 6 changes
  const auto f = read_vcd(path("a.vcd"));
  EXPECT_EQ(f.timescale, "1ps");
  EXPECT_EQ(f.times, (std::vector<std::uint64_t>{0, 5000, 8000, 9000, 10000, 11000, 30000}));
  EXPECT_EQ(f.at("a.b.busy").changes.size(), 1u);
  const auto& d = f.at("a.depth").changes;
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[1].value, "11");
  EXPECT_EQ(d[2].value, "x");
  EXPECT_EQ(f.at("a.b.cmd").type, "string");
  EXPECT_EQ(f.at("a.b.cmd").value_at(10000), "ACT");
  EXPECT_EQ(f.at("a.b.cmd").value_at(29999), "-");
  EXPECT_EQ(f.at("a.b.cmd").value_at(30000), "RD");
  EXPECT_EQ(f.at("a.op").changes.front().value, "-");
  EXPECT_EQ(f.at("a.op").value_at(9000), "layer0.ffn_up");
}

TEST_F(VcdRecorderTest, AWindowOpensWithTheValuesBeforeItAndDropsWhatFollows) {
  VcdOptions o;
  o.start_fs = 100 * kNs;
  o.end_fs = 200 * kNs;
  VcdRecorder r(o);
  const auto v = r.integer("m.v", 16, "");
  const auto never = r.integer("m.never", 4, "");
  const auto e = r.enumerated("m.e", {"idle", "busy"}, "");
  for (std::uint64_t t = 0; t < 300; t += 10) v.set(t * kNs, t);
  v.set(95 * kNs, 1234);  // made after the change at 100 ns, earlier in time
  e.set(100 * kNs, 1);
  (void)never;
  r.write(path("w.vcd"), "window");
  const auto f = read_vcd(path("w.vcd"));
  EXPECT_EQ(f.times.front(), 100000u);
  EXPECT_EQ(f.times.back(), 190000u);
  const auto& c = f.at("m.v").changes;
  ASSERT_EQ(c.size(), 10u);  // 100 (its own change there), 110, ..., 190
  EXPECT_EQ(tacsim::test::VcdVariable::number(c.front().value), 100u);
  EXPECT_EQ(f.at("m.never").changes.front().value, "x");
  EXPECT_EQ(f.at("m.e").changes.front().value, "busy");
  EXPECT_EQ(f.at("m.e").changes.size(), 1u);

  // Before the window only the latest value counts, whatever the order the changes were made in.
  VcdRecorder r2(o);
  const auto w = r2.integer("m.w", 16, "");
  w.set(50 * kNs, 5);
  w.set(20 * kNs, 2);
  r2.write(path("w2.vcd"), "");
  EXPECT_EQ(read_vcd(path("w2.vcd")).at("m.w").changes.front().value, "101");
}

TEST_F(VcdRecorderTest, SpilledRunsMergeIntoTheSameBytes) {
  // Many changes at random times (with ties), recorded once in memory and once through runs of 1000.
  const auto record = [&](VcdRecorder& r) {
    std::vector<tacsim::waves::Signal> s;
    for (int i = 0; i < 20; ++i) s.push_back(r.integer("top.s" + std::to_string(i), 10, ""));
    const auto e = r.enumerated("top.e", {"a", "b", "c"}, "");
    std::mt19937_64 rng(7);
    for (int i = 0; i < 50000; ++i) {
      const std::uint64_t t = (rng() % 20000) * 625'000;  // a DRAM clock's edges
      s[rng() % s.size()].set(t, rng() % 4);
      e.set(t, rng() % 3);
    }
  };
  VcdRecorder whole(VcdOptions{});
  record(whole);
  whole.write(path("whole.vcd"), "");
  VcdOptions o;
  o.buffer_changes = 1000;
  o.spill_path = path("runs");
  VcdRecorder spilled(o);
  record(spilled);
  EXPECT_TRUE(fs::exists(path("runs")));
  spilled.write(path("spilled.vcd"), "");
  EXPECT_FALSE(fs::exists(path("runs"))) << "the runs are removed once merged";
  EXPECT_EQ(slurp(path("whole.vcd")), slurp(path("spilled.vcd")));
  EXPECT_NO_THROW(read_vcd(path("whole.vcd")));
}

TEST_F(VcdRecorderTest, GlobsSelectScopesAndSignalsAndReportWhatMatchedNothing) {
  VcdOptions o;
  o.patterns = {"accel.engine0", "*.cmd", "nothing.*"};
  VcdRecorder r(o);
  EXPECT_TRUE(r.integer("accel.engine0.pe_array.x", 1, ""));
  EXPECT_TRUE(r.integer("accel.engine0.y", 1, ""));
  EXPECT_FALSE(r.integer("accel.engine1.y", 1, ""));
  EXPECT_FALSE(r.integer("accel.engine00.y", 1, ""));
  EXPECT_TRUE(r.enumerated("accel.memory.channel0.cmd", {"-"}, ""));
  EXPECT_EQ(r.selected(), 3u);
  EXPECT_EQ(r.declared().size(), 5u);
  EXPECT_EQ(r.unmatched_patterns(), std::vector<std::string>{"nothing.*"});
}

TEST_F(VcdRecorderTest, AFileThatCannotBeWrittenIsAnInputErrorNamingIt) {
  VcdRecorder r(VcdOptions{});
  r.integer("a.b", 1, "");
  try {
    r.write(path("no/such/folder/x.vcd"), "");
    FAIL();
  } catch (const tacsim::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--vcd: "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("x.vcd: cannot write"), std::string::npos) << e.what();
  }
}

}  // namespace
