#include <gtest/gtest.h>

#include "modules/common/error.h"
#include "modules/common/rng.h"
#include "modules/formats/csr.h"
#include "workloads/sparsity/format_sizes.h"

namespace tacsim::sparsity {
namespace {

TEST(Csr, RoundTripAndSize) {
  Rng rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    const int rows = 1 + static_cast<int>(rng.below(20)), cols = 1 + static_cast<int>(rng.below(300));
    Int8Matrix w(rows, cols);
    Mask m(rows, cols);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c)
        if (rng.below(4) == 0) {
          w.at(r, c) = rng.int8();
          m.set(r, c, true);
        }
    const auto bytes = encode_csr(w, m);
    // values + 16-bit columns + 32-bit row pointers: format_sizes.h's csr_bytes with its default widths.
    EXPECT_EQ(bytes.size(), csr_bytes(rows, cols, count_kept(m), {}));
    const auto [back, mask] = decode_csr(bytes.data(), bytes.size(), rows, cols, "t");
    EXPECT_EQ(mask, m);
    EXPECT_EQ(back, apply_mask(w, m));
  }
}

TEST(Csr, MalformedBytes) {
  Int8Matrix w(2, 4);
  Mask m(2, 4);
  m.set(0, 1, true);
  w.at(0, 1) = 7;
  auto bytes = encode_csr(w, m);  // 1 value, 1 column (2 bytes), 3 row pointers (12 bytes)
  ASSERT_EQ(bytes.size(), 15u);
  EXPECT_THROW(decode_csr(bytes.data(), 14, 2, 4, "t"), InputError);  // truncated
  bytes[1] = 9;                                                       // column 9 of 4
  try {
    decode_csr(bytes.data(), bytes.size(), 2, 4, "blk");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "blk: CSR column 9 beyond 4");
  }
}

}  // namespace
}  // namespace tacsim::sparsity
