// The text layer (modules/common/text.h): every parser's trimming, numbers, lists and key = value lines.
#include "modules/common/text.h"

#include <gtest/gtest.h>

#include <sstream>

#include "modules/common/error.h"

namespace {

using namespace tacsim;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Text, TrimAndAffixes) {
  EXPECT_EQ(text::trim(" \t a b \r\n"), "a b");
  EXPECT_EQ(text::trim("   "), "");
  EXPECT_TRUE(text::starts_with("dram.tRP", "dram."));
  EXPECT_TRUE(text::ends_with("x_cycles", "_cycles"));
  EXPECT_FALSE(text::ends_with("s", "_cycles"));
  EXPECT_EQ(text::one_of({"a", "b", "c"}), "a, b or c");
  EXPECT_EQ(text::one_of({"a"}), "a");
}

TEST(Text, UnsignedNumbersRejectSignsSpacesAndOverflow) {
  EXPECT_EQ(text::to_unsigned("18446744073709551615"), 18446744073709551615ull);
  EXPECT_FALSE(text::to_unsigned("18446744073709551616"));  // 2^64 wraps: an error, not 0
  EXPECT_FALSE(text::to_unsigned("-1"));
  EXPECT_FALSE(text::to_unsigned("+1"));
  EXPECT_FALSE(text::to_unsigned(" 1"));
  EXPECT_FALSE(text::to_unsigned(""));
  EXPECT_FALSE(text::to_unsigned("256", 255));
  EXPECT_EQ(error_of([] { text::parse_unsigned("x", "--set pe_array.rows", 4294967295u); }),
            "--set pe_array.rows: expected an unsigned integer up to 4294967295, got 'x'");
}

TEST(Text, DoublesAndBools) {
  EXPECT_EQ(text::to_double("0.25"), 0.25);
  EXPECT_EQ(text::to_double("1e3"), 1000.0);
  EXPECT_FALSE(text::to_double("1GHz"));
  EXPECT_FALSE(text::to_double("nan"));
  EXPECT_FALSE(text::to_double("inf"));
  EXPECT_FALSE(text::to_double("1e999"));
  EXPECT_FALSE(text::to_double(" 1"));
  EXPECT_EQ(text::to_bool("on"), true);
  EXPECT_EQ(text::to_bool("0"), false);
  EXPECT_FALSE(text::to_bool("maybe"));
}

TEST(Text, ListsHaveNoHoles) {
  EXPECT_EQ(text::split_list("32, 64 ,128", ',', "k"), (std::vector<std::string>{"32", "64", "128"}));
  for (const char* bad : {"128,", ",128", "1,,2", "", " "})
    EXPECT_EQ(error_of([&] {
                text::split_list(bad, ',', "model.seq_lens");
              }).rfind("model.seq_lens: empty item", 0),
              0u)
        << bad;
}

TEST(Text, KeyValueLinesWithSectionsCommentsAndErrors) {
  std::istringstream in("# c\n[pe_array]\nrows = 32 ; note\n\ncols=8\n[dram]\npreset = hbm2 # x\n");
  text::KeyValueSyntax syntax;
  syntax.sections = true;
  syntax.comments = "#;";
  const auto lines = text::parse_key_values(in, "f.ini", syntax);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].key, "pe_array.rows");
  EXPECT_EQ(lines[0].value, "32");
  EXPECT_EQ(lines[0].line, 3);
  EXPECT_EQ(lines[2].key, "dram.preset");
  auto err = [&](const std::string& textv, text::KeyValueSyntax s) {
    return error_of([&] {
      std::istringstream i(textv);
      text::parse_key_values(i, "f", s);
    });
  };
  EXPECT_EQ(err("a = 1\na = 2\n", {}), "f:2: a is set twice (first on line 1)");
  EXPECT_EQ(err("a\n", {}), "f:1: expected 'key = value', got 'a'");
  EXPECT_EQ(err("a =\n", {}), "f:1: a: missing value");
  EXPECT_EQ(err("= 3\n", {}), "f:1: expected a key name before '=', got '= 3'");
  EXPECT_EQ(err("[x\n", syntax), "f:1: expected a section header like [pe_array], got '[x'");
  text::KeyValueSyntax dup;
  dup.duplicates = true;
  EXPECT_EQ(err("a = 1\na = 2\n", dup), "no error");
}

TEST(Text, FilesThatAreNotRegularFilesAreNamed) {
  EXPECT_EQ(error_of([] { text::open_input("/nonexistent/x.ini", "config file"); }),
            "/nonexistent/x.ini: cannot open config file (no such file)");
  EXPECT_EQ(error_of([] { text::open_input("/tmp", "mask"); }),
            "/tmp: cannot open mask (not a regular file)");
}

TEST(Text, ClosestSuggestsOnlyNearNames) {
  const std::vector<std::string> keys = {"pe_array.rows", "pe_array.cols", "dram.preset"};
  EXPECT_EQ(text::closest("pe_array.rowz", keys), "pe_array.rows");
  EXPECT_EQ(text::closest("dram.prest", keys), "dram.preset");
  EXPECT_FALSE(text::closest("sfu.anything", keys));
}

}  // namespace
