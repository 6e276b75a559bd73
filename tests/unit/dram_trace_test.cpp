#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "modules/common/error.h"
#include "modules/common/rng.h"
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

// The format's rules written out plainly, for one line after a first "0x0 READ 0": the request, nothing (a
// comment or a blank line), or an error.
struct Expected {
  bool error = false;
  std::optional<DramRequest> request;
};

Expected reference_parse(const std::string& line, std::uint64_t capacity) {
  std::istringstream in(line);
  std::vector<std::string> f;
  for (std::string w; in >> w;) f.push_back(w);
  if (f.empty() || f[0][0] == '#') return {};
  Expected bad{true, {}};
  if (f.size() != 3) return bad;
  const std::string& a = f[0];
  if (a.size() < 3 || a.size() > 18 || a[0] != '0' || (a[1] != 'x' && a[1] != 'X')) return bad;
  for (std::size_t i = 2; i < a.size(); ++i)
    if (!std::isxdigit(static_cast<unsigned char>(a[i]))) return bad;
  if (f[1] != "READ" && f[1] != "WRITE") return bad;
  for (char c : f[2])
    if (c < '0' || c > '9') return bad;
  // Leading zeros may make a small number long.
  const std::size_t nz = f[2].find_first_not_of('0');
  const std::string digits = nz == std::string::npos ? "0" : f[2].substr(nz);
  if (digits.size() > 11) return bad;  // beyond kMaxTraceCycle (11 digits) either way
  DramRequest r{std::stoull(a.substr(2), nullptr, 16), f[1] == "WRITE", std::stoull(digits)};
  if (r.cycle > kMaxTraceCycle || r.address >= capacity) return bad;
  return {false, r};
}

// The reader takes the common line a quicker way than the general one; on lines of every shape near it
// (blanks of each kind and number, carriage returns, case, leading zeros, too many digits, near-miss words)
// both must give what the rules say.
TEST_F(DramTrace, EveryLineShapeParsesAsTheRulesSay) {
  Rng rng(7);
  auto pick = [&rng](const std::vector<std::string>& v) { return v[rng.below(v.size())]; };
  const std::vector<std::string> blanks{" ", " ", "\t", "  ", " \t ", "\v", "\f"};
  const std::vector<std::string> ends{"", "", "", "\r", " ", "\t", " \r", "x", " 1"};
  const std::vector<std::string> words{"READ", "READ", "WRITE", "WRITE", "read", "READX", "WRIT", "RE"};
  const std::uint64_t capacity = std::uint64_t{1} << 36;
  for (int i = 0; i < 3000; ++i) {
    std::string hex = (rng.below(8) ? "0x" : rng.below(2) ? "0X" : "x");
    const int zeros = static_cast<int>(rng.below(3) == 0 ? rng.below(6) : 0);
    hex += std::string(zeros, '0');
    std::ostringstream h;
    h << std::hex << (rng.below(3) ? rng.below(capacity) : rng.next());
    std::string digits = h.str();
    if (rng.below(4) == 0)
      for (char& c : digits) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (rng.below(20) == 0) digits += "g";
    hex += rng.below(30) ? digits : "";
    std::string cycle = std::string(rng.below(4) == 0 ? rng.below(12) : 0, '0');
    cycle += rng.below(10) ? std::to_string(rng.below(5) ? rng.below(1000) : rng.next()) : "";
    std::string line = (rng.below(10) ? "" : pick(blanks)) + hex + pick(blanks) + pick(words) + pick(blanks) +
                       cycle + pick(ends);
    if (rng.below(40) == 0) line = "#" + line;
    const Expected want = reference_parse(line, capacity);
    SCOPED_TRACE(testing::Message() << "line " << i << ": '" << line << "'");
    try {
      const auto got = read_dram_trace(write("0x0 READ 0\n" + line + "\n"), capacity);
      ASSERT_FALSE(want.error) << "read without an error";
      ASSERT_EQ(got.size(), want.request ? 2u : 1u);
      if (want.request) {
        EXPECT_EQ(got[1].address, want.request->address);
        EXPECT_EQ(got[1].is_write, want.request->is_write);
        EXPECT_EQ(got[1].cycle, want.request->cycle);
      }
    } catch (const InputError& e) {
      ASSERT_TRUE(want.error) << e.what();
      EXPECT_NE(std::string(e.what()).find(":2: "), std::string::npos) << e.what();
    }
  }
}

TEST_F(DramTrace, MissingFile) {
  EXPECT_THROW(read_dram_trace("/nonexistent/trace.txt", 1 << 20), InputError);
}

}  // namespace
}  // namespace tacsim::traces
