#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <unistd.h>

#include "modules/common/error.h"
#include "traces/dram_trace.h"

namespace tacsim::traces {
namespace {

class DramTrace : public testing::Test {
 protected:
  std::string write(const std::string& text) {
    std::ofstream(path_) << text;
    return path_;
  }
  std::string error_of(const std::string& text, std::uint64_t capacity = 1 << 20) {
    try {
      read_dram_trace(write(text), capacity);
    } catch (const InputError& e) {
      std::string m = e.what();
      return m.replace(0, path_.size(), "T");
    }
    return "no error";
  }
  void TearDown() override { std::remove(path_.c_str()); }
  // One file per test process: CTest runs the tests of this fixture in parallel.
  std::string path_ = testing::TempDir() + "tacsim-dram-trace-" + std::to_string(::getpid()) + ".txt";
};

TEST_F(DramTrace, ReadsDramsim3Lines) {
  const auto r =
      read_dram_trace(write("# comment\n0x1f40 READ 0\n\n0X40 WRITE 7\n0xff\tREAD   7\n"), 1 << 20);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].address, 0x1f40u);
  EXPECT_FALSE(r[0].is_write);
  EXPECT_EQ(r[1].address, 0x40u);
  EXPECT_TRUE(r[1].is_write);
  EXPECT_EQ(r[1].cycle, 7u);
  EXPECT_EQ(r[2].cycle, 7u);
}

TEST_F(DramTrace, LongTracesStreamAcrossReadBlocks) {
  std::string text = "# " + std::string(200000, 'x') + "\n";  // a line longer than a read block
  for (int i = 0; i < 20000; ++i)
    text += "0x" + std::to_string(i) + "0 " + (i % 3 ? "READ" : "WRITE") + " " + std::to_string(i) + "\n";
  text += "0x40 READ 20000";  // no newline at the end
  DramTraceReader reader(write(text), std::uint64_t{1} << 40);
  DramRequest r;
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(reader.next(r)) << i;
    ASSERT_EQ(r.address, std::stoull(std::to_string(i) + "0", nullptr, 16)) << i;
    ASSERT_EQ(r.is_write, i % 3 == 0) << i;
    ASSERT_EQ(r.cycle, std::uint64_t(i)) << i;
  }
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.address, 0x40u);
  EXPECT_EQ(r.cycle, 20000u);
  EXPECT_FALSE(reader.next(r));
  EXPECT_EQ(reader.requests(), 20001u);
}

TEST_F(DramTrace, BadLinesNameFileAndLine) {
  EXPECT_EQ(error_of("0x10 READ 0\n0xZZ READ 1\n"), "T:2: expected a hex address like 0x1f40, got '0xZZ'");
  EXPECT_EQ(error_of("10 READ 1\n"), "T:1: expected a hex address like 0x1f40, got '10'");
  EXPECT_EQ(error_of("0x10 FETCH 1\n"), "T:1: expected READ or WRITE, got 'FETCH'");
  EXPECT_EQ(error_of("0x10 READ 5\n0x20 READ 4\n"), "T:2: cycle 4 is before the previous line's 5");
  EXPECT_EQ(error_of("0x10 READ\n"), "T:1: expected '0x<hex address> READ|WRITE <cycle>', got '0x10 READ'");
  EXPECT_EQ(error_of("0x10 READ 1 extra\n"),
            "T:1: expected '0x<hex address> READ|WRITE <cycle>', got '0x10 READ 1 extra'");
  EXPECT_EQ(error_of("0x10 READ -1\n"), "T:1: expected a cycle number, got '-1'");
  EXPECT_EQ(error_of("0x10 READ 18446744073709551616\n"),  // 2^64
            "T:1: expected a cycle number, got '18446744073709551616'");
  EXPECT_EQ(error_of("0x100000 READ 1\n", 1 << 20),
            "T:1: address 0x100000 is beyond the DRAM's capacity of 1048576 bytes");
  EXPECT_EQ(error_of("", 0).substr(0, 8), "no error");
}

TEST_F(DramTrace, MissingFile) {
  EXPECT_THROW(read_dram_trace("/nonexistent/trace.txt", 1 << 20), InputError);
}

}  // namespace
}  // namespace tacsim::traces
