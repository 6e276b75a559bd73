#include "modules/formats/mask.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "modules/common/error.h"
#include "tests/support/errors.h"
#include "workloads/sparsity/unstructured_pruner.h"

namespace tacsim::sparsity {
namespace {

using testing_support::error_of;

TEST(UnstructuredPrune, KeepsExactlyTheRoundedCountOfLargest) {
  std::mt19937 rng(17);
  std::uniform_int_distribution<int> value(-128, 127);
  for (double d : {0.0, 0.013, 0.1, 0.25, 0.5, 0.77, 1.0}) {
    Int8Matrix w(37, 53);  // 1961 entries
    for (auto& v : w.data) v = static_cast<std::int8_t>(value(rng));
    const Mask mask = prune_unstructured(w, d);
    ASSERT_EQ(count_kept(mask), static_cast<std::uint64_t>(std::llround(d * 1961))) << d;
    float min_kept = 1e9f;
    float max_dropped = -1.0f;
    for (std::size_t i = 0; i < w.size(); ++i) {
      const float m = magnitude(w.data[i]);
      if (mask.keep[i])
        min_kept = std::min(min_kept, m);
      else
        max_dropped = std::max(max_dropped, m);
    }
    if (d > 0 && d < 1) {
      EXPECT_GE(min_kept, max_dropped) << d;
    }
    EXPECT_EQ(prune_unstructured(to_float(w), d), mask);  // float ranking agrees with int8 ranking
  }
}

TEST(UnstructuredPrune, TiesGoToTheLowerPosition) {
  Int8Matrix w(2, 4);
  w.data = {5,    -5, 5,   1,  //
            -128, 5,  127, 0};
  // Ranking: -128 (128) at 4, 127 at 6, then |5| at positions 0, 1, 2, 5 in that order.
  EXPECT_EQ(prune_unstructured(w, 0.25).keep, (std::vector<std::uint8_t>{0, 0, 0, 0, 1, 0, 1, 0}));
  EXPECT_EQ(prune_unstructured(w, 0.5).keep, (std::vector<std::uint8_t>{1, 1, 0, 0, 1, 0, 1, 0}));
  EXPECT_EQ(prune_unstructured(w, 0.75).keep, (std::vector<std::uint8_t>{1, 1, 1, 0, 1, 1, 1, 0}));
}

TEST(UnstructuredPrune, RejectsBadDensityAndNan) {
  const Int8Matrix w(2, 2);
  EXPECT_EQ(error_of([&] { prune_unstructured(w, 1.5); }), "density: must be in [0, 1], got 1.500000");
  EXPECT_EQ(error_of([&] { prune_unstructured(w, -0.1); }), "density: must be in [0, 1], got -0.100000");
  EXPECT_NE(error_of([&] { prune_unstructured(w, std::nan("")); }), "");
  FloatMatrix f(2, 2);
  f.data[3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(error_of([&] { prune_unstructured(f, 0.5); }),
            "prune_unstructured: weight at row 1, col 1 is NaN; magnitudes must be numbers");
}

TEST(Mask, HelpersAgree) {
  Int8Matrix w(2, 3);
  w.data = {0, 4, 0, -1, 0, 9};
  const Mask nz = mask_of_nonzeros(w);
  EXPECT_EQ(nz.keep, (std::vector<std::uint8_t>{0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(count_kept(nz), 3u);
  EXPECT_DOUBLE_EQ(density(nz), 0.5);
  EXPECT_DOUBLE_EQ(density(Mask{}), 0.0);
  Mask m = nz;
  m.set(1, 2, false);
  EXPECT_TRUE(m.at(0, 1));
  EXPECT_FALSE(m.at(1, 2));
  Int8Matrix expect(2, 3);
  expect.data = {0, 4, 0, -1, 0, 0};
  EXPECT_EQ(apply_mask(w, m), expect);
  EXPECT_EQ(apply_mask(to_float(w), m), to_float(expect));
  EXPECT_EQ(mask_of_nonzeros(to_float(w)), nz);
  EXPECT_EQ(error_of([&] { apply_mask(w, Mask(3, 2)); }),
            "apply_mask: mask is 3 x 2 but the matrix is 2 x 3");
}

}  // namespace
}  // namespace tacsim::sparsity
