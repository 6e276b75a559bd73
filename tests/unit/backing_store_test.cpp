#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "modules/common/backing_store.h"

namespace tacsim {
namespace {

TEST(BackingStore, UnwrittenBytesReadZeroAndWritesSpanPages) {
  BackingStore s(std::uint64_t(1) << 34);  // 16 GiB: only what is written costs memory
  std::vector<std::uint8_t> in(10000), out(10000, 0xff);
  std::iota(in.begin(), in.end(), std::uint8_t(1));
  const std::uint64_t at = (std::uint64_t(1) << 33) + 4096 - 17;  // crosses three 4 KiB pages
  s.write(at, in.data(), in.size());
  EXPECT_EQ(s.pages(), 4u);
  s.read(at, out.data(), out.size());
  EXPECT_EQ(out, in);
  std::vector<std::uint8_t> around(64, 0xff);
  s.read(at - 32, around.data(), around.size());  // 32 untouched bytes, then the first 32 written
  for (int i = 0; i < 32; ++i) EXPECT_EQ(around[i], 0) << i;
  for (int i = 32; i < 64; ++i) EXPECT_EQ(around[i], in[i - 32]) << i;
  s.read(0, out.data(), 100);  // a block never touched
  for (int i = 0; i < 100; ++i) EXPECT_EQ(out[i], 0) << i;
}

TEST(BackingStore, ATimingOnlyStoreKeepsNothing) {
  BackingStore s(1 << 20);
  s.set_retain(false);
  const std::uint8_t b[4] = {1, 2, 3, 4};
  s.write(64, b, 4);
  std::uint8_t out[4] = {9, 9, 9, 9};
  s.read(64, out, 4);
  EXPECT_EQ(s.pages(), 0u);
  for (std::uint8_t v : out) EXPECT_EQ(v, 0);
}

}  // namespace
}  // namespace tacsim
