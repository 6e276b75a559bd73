#include <gtest/gtest.h>

#include "modules/common/stats.h"

namespace tacsim {
namespace {

TEST(StatsGroup, ValuesInRegistrationOrder) {
  std::uint64_t reads = 0, writes = 0;
  StatsGroup g;
  g.add("writes", &writes, "count", "writes");
  g.add("reads", &reads, "count", "reads");
  g.add_derived(
      "ratio", [&] { return double(reads) / double(writes); }, "ratio", "reads per write");
  reads = 6;
  writes = 3;
  EXPECT_EQ(g.values().dump(), R"({"writes":3,"reads":6,"ratio":2.0})");
  writes = 0;
  reads = 0;
  EXPECT_TRUE(g.value("ratio").is_null());  // 0 / 0 has no JSON number
  EXPECT_THROW(g.value("nope"), std::out_of_range);
  EXPECT_THROW(g.add("reads", &reads, "", ""), std::logic_error);
}

}  // namespace
}  // namespace tacsim
