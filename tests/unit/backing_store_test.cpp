#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <random>
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

// Scattered 64-byte writes cost their own size, not a 4 KiB page each; the ninth line of a page makes it
// whole.
TEST(BackingStore, ScatteredLinesCostTheirSize) {
  BackingStore s(std::uint64_t(1) << 33);
  std::vector<std::uint8_t> line(64);
  std::iota(line.begin(), line.end(), std::uint8_t(7));
  for (std::uint64_t i = 0; i < 1000; ++i) s.write(i * 8 * 1024 * 1024 + 128, line.data(), line.size());
  EXPECT_EQ(s.pages(), 1000u);
  EXPECT_EQ(s.bytes_held(), 1000u * 64);
  BackingStore t(1 << 20);
  for (std::uint64_t l = 0; l < 8; ++l) t.write(l * 2 * 64, line.data(), line.size());
  EXPECT_EQ(t.bytes_held(), 8u * 64);
  t.write(17 * 64 + 3, line.data(), 1);  // a ninth line
  EXPECT_EQ(t.bytes_held(), 4096u);
  std::vector<std::uint8_t> out(64);
  for (std::uint64_t l = 0; l < 8; ++l) {
    t.read(l * 2 * 64, out.data(), out.size());
    EXPECT_EQ(out, line) << l;
  }
}

// Random writes and reads of any length and alignment, against a plain array.
TEST(BackingStore, RandomAccessesMatchAPlainArray) {
  constexpr std::uint64_t kBytes = 64 * 1024;
  std::mt19937_64 rng(11);
  for (int round = 0; round < 20; ++round) {
    BackingStore s(kBytes);
    std::vector<std::uint8_t> ref(kBytes, 0);
    // Mostly short accesses, so that pages stay sparse for a while; sometimes long ones across pages.
    const std::uint64_t max_len = round % 2 == 0 ? 130 : 9000;
    for (int i = 0; i < 400; ++i) {
      const std::uint64_t len = 1 + rng() % max_len;
      const std::uint64_t at = rng() % (kBytes - len + 1);
      if (rng() % 2 == 0) {
        std::vector<std::uint8_t> in(len);
        for (auto& b : in) b = static_cast<std::uint8_t>(rng());
        s.write(at, in.data(), len);
        std::copy(in.begin(), in.end(), ref.begin() + static_cast<std::ptrdiff_t>(at));
      } else {
        std::vector<std::uint8_t> out(len, 0xa5);
        s.read(at, out.data(), len);
        ASSERT_TRUE(std::equal(out.begin(), out.end(), ref.begin() + static_cast<std::ptrdiff_t>(at)))
            << "round " << round << " access " << i << " at " << at << " len " << len;
      }
    }
    std::vector<std::uint8_t> all(kBytes);
    s.read(0, all.data(), kBytes);
    EXPECT_EQ(all, ref) << "round " << round;
    EXPECT_LE(s.bytes_held(), s.pages() * 4096);
  }
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
