#include "modules/formats/nm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "modules/common/error.h"
#include "tests/support/errors.h"
#include "workloads/sparsity/nm_pruner.h"

namespace tacsim::sparsity {
namespace {

using testing_support::contains;
using testing_support::error_of;

Int8Matrix random_matrix(int rows, int cols, std::mt19937& rng, double zero_fraction = 0.0) {
  Int8Matrix w(rows, cols);
  std::uniform_int_distribution<int> value(-128, 127);
  std::bernoulli_distribution zero(zero_fraction);
  for (auto& v : w.data) v = zero(rng) ? 0 : static_cast<std::int8_t>(value(rng));
  return w;
}

// The InputError's message, or "" when none is thrown (so EXPECT_THAT-style substring checks read simply).
TEST(NmSpec, ParsesNmAndDense) {
  EXPECT_EQ(parse_nm("2:4"), (NmSpec{2, 4}));
  EXPECT_EQ(parse_nm(" 1:16 "), (NmSpec{1, 16}));
  EXPECT_EQ(parse_nm("16:16"), (NmSpec{16, 16}));
  EXPECT_EQ(parse_nm("dense"), (NmSpec{1, 1}));
  EXPECT_EQ(parse_nm("Dense"), (NmSpec{1, 1}));
  EXPECT_TRUE(parse_nm("dense").is_dense());
  EXPECT_TRUE(parse_nm("4:4").is_dense());
  EXPECT_FALSE(parse_nm("3:4").is_dense());
  for (int m = 1; m <= 16; ++m) {
    for (int n = 1; n <= m; ++n) EXPECT_EQ(parse_nm(NmSpec{n, m}.to_string()), (NmSpec{n, m}));
  }
}

TEST(NmSpec, RejectsBadSpecsSayingWhatIsAllowed) {
  const std::string allowed = "expected 'N:M' with 1 <= N <= M <= 16, or 'dense'";
  const std::string too_many = error_of([] { parse_nm("5:4"); });
  EXPECT_TRUE(contains(too_many, "'5:4'")) << too_many;
  EXPECT_TRUE(contains(too_many, "N must be in 1..M (M = 4), got 5")) << too_many;
  EXPECT_TRUE(contains(too_many, allowed)) << too_many;
  EXPECT_TRUE(contains(error_of([] { parse_nm("0:4"); }), "N must be in 1..M (M = 4), got 0"));
  EXPECT_TRUE(contains(error_of([] { parse_nm("2:17"); }), "M must be in 1..16, got 17"));
  for (const char* bad : {"2:x", "", "2:", ":4", "2:4:8", "-1:4", "2/4", "sparse", "2 :4"}) {
    const std::string err = error_of([bad] { parse_nm(bad); });
    EXPECT_TRUE(contains(err, allowed)) << "'" << bad << "' gave: " << err;
  }
}

TEST(NmSpec, ValidateNamesTheField) {
  EXPECT_EQ(NmSpec({2, 4}).validate(), "");
  EXPECT_EQ(NmSpec({0, 4}).validate(), "n: must be in 1..m (m = 4), got 0");
  EXPECT_EQ(NmSpec({5, 4}).validate(), "n: must be in 1..m (m = 4), got 5");
  EXPECT_EQ(NmSpec({1, 17}).validate(), "m: must be in 1..16, got 17");
  EXPECT_EQ(NmSpec({1, 0}).validate(), "m: must be in 1..16, got 0");
}

// Every group keeps exactly N, and nothing dropped beats anything kept (ties: the kept one has the lower
// index).
TEST(NmPrune, KeepsExactlyTheNLargestOfEveryGroup) {
  std::mt19937 rng(11);
  for (int m = 1; m <= 16; ++m) {
    for (int n = 1; n <= m; ++n) {
      // A narrow value range makes ties common, so the tie rule is exercised too.
      Int8Matrix w(5, m * 3);
      std::uniform_int_distribution<int> value(-4, 4);
      for (auto& v : w.data) v = static_cast<std::int8_t>(value(rng));
      const Mask mask = prune_nm_mask(w, NmSpec{n, m});
      for (int r = 0; r < w.rows; ++r) {
        for (int c0 = 0; c0 < w.cols; c0 += m) {
          int kept = 0;
          for (int a = 0; a < m; ++a) {
            kept += mask.at(r, c0 + a) ? 1 : 0;
            for (int b = 0; b < m; ++b) {
              if (!mask.at(r, c0 + a) || mask.at(r, c0 + b)) continue;
              const float ka = magnitude(w.at(r, c0 + a));
              const float db = magnitude(w.at(r, c0 + b));
              ASSERT_TRUE(ka > db || (ka == db && a < b))
                  << n << ":" << m << " row " << r << " kept " << a << " dropped " << b;
            }
          }
          ASSERT_EQ(kept, n) << n << ":" << m;
        }
      }
    }
  }
}

TEST(NmPrune, TiesGoToTheLowerIndexAndMinus128IsLargest) {
  Int8Matrix w(3, 4);
  w.data = {3,   -3,   3, 1,      // three tied at |3|: indices 0 and 1 win
            0,   0,    0, 0,      // all zero: indices 0 and 1
            127, -128, 1, -127};  // |-128| = 128 beats 127; then 127 (index 0) beats |-127| (index 3)
  const Mask mask = prune_nm_mask(w, NmSpec{2, 4});
  EXPECT_EQ(mask.keep, (std::vector<std::uint8_t>{1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0}));
  EXPECT_EQ(prune_nm_mask(to_float(w), NmSpec{2, 4}), mask);
}

TEST(NmPrune, RejectsColsNotDivisibleByM) {
  const Int8Matrix w(4, 10);
  const std::string err = error_of([&] { prune_nm_mask(w, NmSpec{2, 4}); });
  EXPECT_TRUE(contains(err, "in (cols) = 10 is not divisible by M = 4")) << err;
  EXPECT_TRUE(contains(error_of([&] { prune_nm(w, NmSpec{3, 2}); }), "n: must be in 1..m (m = 2), got 3"));
}

TEST(NmPrune, RejectsNanMagnitudes) {
  FloatMatrix w(1, 4);
  w.data[2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(contains(error_of([&] { prune_nm_mask(w, NmSpec{2, 4}); }), "row 0, col 2 is NaN"));
}

TEST(NmMatrixForm, SlotLayoutAndPaddingAtLowestUnusedIndex) {
  Int8Matrix w(2, 8);
  w.data = {0, 5, 0, 0, 7, 0, 0, -2,  // group 0 holds one non-zero: padded with index 0
            1, 2, 3, 4, 0, 0, 0, 0};  // group 1 all zero: indices 0 and 1
  Mask mask = mask_of_nonzeros(w);
  mask.set(1, 2, false);  // row 1 group 0 keeps cols 0 and 1 (values 1, 2) only
  mask.set(1, 3, false);
  const NmMatrix x = to_nm(w, mask, NmSpec{2, 4});
  EXPECT_EQ(x.values, (std::vector<std::int8_t>{0, 5, 7, -2, 1, 2, 0, 0}));
  EXPECT_EQ(x.index, (std::vector<std::uint8_t>{0, 1, 0, 3, 0, 1, 0, 1}));
  // slot s of group g of row r at (r * (cols / M) + g) * N + s: row 1 group 0 slot 1 is (1 * 2 + 0) * 2 + 1
  // = 5.
  EXPECT_EQ(x.slot(1, 0, 1), 5u);
  EXPECT_EQ(x.values[5], 2);
  EXPECT_EQ(validate_nm(x), "");
  EXPECT_EQ(to_dense(x), apply_mask(w, mask));
}

TEST(NmMatrixForm, RejectsGroupsWithMoreThanN) {
  Int8Matrix w(1, 8);
  w.data = {1, 0, 0, 0, 1, 1, 1, 0};
  const std::string err = error_of([&] { to_nm(w, NmSpec{2, 4}); });
  EXPECT_TRUE(contains(err, "row 0 group 1 (cols 4..7) keeps 3, more than N = 2 of 2:4")) << err;
  EXPECT_EQ(min_n_for(mask_of_nonzeros(w), 4), 3);
  EXPECT_EQ(check_nm(mask_of_nonzeros(w), NmSpec{3, 4}), "");
}

// Round trips for every N:M from 1:1 to 16:16 on dense and on mostly-zero matrices (which exercises padding).
TEST(NmRoundTrip, EverySpecBothEncodings) {
  std::mt19937 rng(2024);
  for (int m = 1; m <= 16; ++m) {
    for (int n = 1; n <= m; ++n) {
      const NmSpec spec{n, m};
      for (double zeros : {0.0, 0.7}) {
        const int rows = 1 + static_cast<int>(rng() % 6);
        const int cols = m * (1 + static_cast<int>(rng() % 5));
        const Int8Matrix w = random_matrix(rows, cols, rng, zeros);
        const Mask mask = prune_nm_mask(w, spec);
        const NmMatrix x = to_nm(w, mask, spec);
        ASSERT_EQ(validate_nm(x), "");
        ASSERT_EQ(x, prune_nm(w, spec));
        ASSERT_EQ(to_dense(x), apply_mask(w, mask)) << spec.to_string();
        ASSERT_EQ(slot_mask(x), mask);
        ASSERT_EQ(to_nm(to_dense(x), spec).values.size(), x.values.size());
        for (NmEncoding enc : {NmEncoding::kIndex, NmEncoding::kBitmap}) {
          const std::vector<std::uint8_t> bytes = encode_nm(x, enc);
          ASSERT_EQ(bytes.size(), nm_encoded_bytes(rows, cols, spec, enc)) << spec.to_string();
          NmEncoding seen = enc == NmEncoding::kIndex ? NmEncoding::kBitmap : NmEncoding::kIndex;
          ASSERT_EQ(decode_nm(bytes, "t", &seen), x) << spec.to_string();
          ASSERT_EQ(seen, enc);
        }
      }
    }
  }
}

TEST(NmEncoding, SizesByHand) {
  // 2:4, 4 x 8: G = 2; values 2*2 = 4 B; index 4 * 2 bits = 1 B; bitmap 2 * 4 bits = 1 B. 16 + 4 * 5 = 36.
  EXPECT_EQ(nm_encoded_bytes(4, 8, {2, 4}, NmEncoding::kIndex), 36u);
  EXPECT_EQ(nm_encoded_bytes(4, 8, {2, 4}, NmEncoding::kBitmap), 36u);
  // 3:8, 2 x 16: values 6 B; index 6 * 3 = 18 bits -> 3 B, row 9, 16 + 18 = 34; bitmap 16 bits -> 2 B, 16 +
  // 16 = 32.
  EXPECT_EQ(nm_encoded_bytes(2, 16, {3, 8}, NmEncoding::kIndex), 34u);
  EXPECT_EQ(nm_encoded_bytes(2, 16, {3, 8}, NmEncoding::kBitmap), 32u);
  // 1:1 (dense), 3 x 5: index has 0 bits, row 5, 16 + 15 = 31; bitmap 5 bits -> 1 B, row 6, 16 + 18 = 34.
  EXPECT_EQ(nm_encoded_bytes(3, 5, {1, 1}, NmEncoding::kIndex), 31u);
  EXPECT_EQ(nm_encoded_bytes(3, 5, {1, 1}, NmEncoding::kBitmap), 34u);
  // 5:16, 768 x 768 (a BERT-base projection): G = 48, values 240 B, index 240 * 4 bits = 120 B -> 768 * 360.
  EXPECT_EQ(nm_payload_bytes(768, 768, {5, 16}, NmEncoding::kIndex), 276480u);
  EXPECT_EQ(nm_row_bytes(768, {5, 16}, NmEncoding::kBitmap), 240u + 96u);  // 48 groups * 16 bits = 96 B
}

// Pins the documented layout (FORMATS.md) byte by byte.
TEST(NmEncoding, ByteImageOfA2x4Row) {
  Int8Matrix w(1, 8);
  w.data = {0, 5, 0, 0, 7, 0, 0, -2};
  const NmMatrix x = to_nm(w, NmSpec{2, 4});  // indices {0,1} {0,3}, values {0,5} {7,-2}
  const std::vector<std::uint8_t> header = {'T', 'S', 'N', 'M', 1, 0, 2, 4, 1, 0, 0, 0, 8, 0, 0, 0};
  std::vector<std::uint8_t> index = header;
  // Indices 0, 1, 0, 3 at 2 bits each, LSB-first: 00 | 01 << 2 | 00 << 4 | 11 << 6 = 0xC4.
  index.insert(index.end(), {0x00, 0x05, 0x07, 0xFE, 0xC4});
  EXPECT_EQ(encode_nm(x, NmEncoding::kIndex), index);
  std::vector<std::uint8_t> bitmap = header;
  bitmap[5] = 1;
  // Bitmaps 0b0011 (group 0) at bits 0..3 and 0b1001 (group 1) at bits 4..7 = 0x93.
  bitmap.insert(bitmap.end(), {0x00, 0x05, 0x07, 0xFE, 0x93});
  EXPECT_EQ(encode_nm(x, NmEncoding::kBitmap), bitmap);
}

std::vector<std::uint8_t> sample_stream(NmEncoding enc) {
  Int8Matrix w(2, 8);
  w.data = {0, 5, 0, 0, 7, 0, 0, -2, 1, 0, 2, 0, 0, 0, 3, 0};
  return encode_nm(to_nm(w, NmSpec{2, 4}), enc);
}

TEST(NmDecode, RejectsEveryTruncation) {
  for (NmEncoding enc : {NmEncoding::kIndex, NmEncoding::kBitmap}) {
    const std::vector<std::uint8_t> full = sample_stream(enc);
    for (std::size_t len = 0; len < full.size(); ++len) {
      const std::vector<std::uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
      const std::string err = error_of([&] { decode_nm(cut, "w.nm"); });
      ASSERT_TRUE(contains(err, "w.nm: ")) << len;
      ASSERT_TRUE(contains(err, "truncated")) << len << ": " << err;
    }
  }
}

TEST(NmDecode, RejectsMalformedStreams) {
  const std::vector<std::uint8_t> good = sample_stream(NmEncoding::kIndex);  // rows 26 bytes: 16 + 2 * 5
  auto with = [&](std::size_t at, std::uint8_t v) {
    std::vector<std::uint8_t> b = good;
    b[at] = v;
    return error_of([&] { decode_nm(b, "w.nm"); });
  };
  EXPECT_TRUE(contains(with(0, 'X'), "w.nm: byte 0: not an N:M stream: magic is not \"TSNM\""));
  EXPECT_TRUE(contains(with(4, 2), "unsupported N:M stream version 2"));
  EXPECT_TRUE(contains(with(5, 7), "unknown N:M encoding 7"));
  EXPECT_TRUE(contains(with(6, 5), "bad N:M in header: n: must be in 1..m (m = 4), got 5"));
  EXPECT_TRUE(contains(with(7, 3), "cols = 8 is not divisible by M = 3"));
  // Row 0 indices byte 0xC4 = {0, 1, 0, 3}; 0x34 = {0, 1, 3, 0}: group 1 descends.
  EXPECT_TRUE(contains(with(20, 0x34), "row 0 group 1: indices not strictly ascending (3 then 0)"));
  EXPECT_TRUE(contains(with(20, 0x05), "row 0 group 0: indices not strictly ascending (1 then 1)"));
  std::vector<std::uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_TRUE(contains(error_of([&] { decode_nm(longer, "w.nm"); }), "needs 10 bytes, the stream has 11"));

  // 3-bit indices (M = 5) can say 5..7, which are not in-group indices.
  Int8Matrix w5(1, 5);
  w5.data = {1, 2, 3, 4, 5};
  std::vector<std::uint8_t> s5 = encode_nm(to_nm(w5, NmSpec{5, 5}), NmEncoding::kIndex);
  // Indices 0..4 at 3 bits: bits 12..14 hold index 4; make it 7.
  s5[16 + 5 + 1] = static_cast<std::uint8_t>(s5[16 + 5 + 1] | 0x70);
  EXPECT_TRUE(contains(error_of([&] { decode_nm(s5, "w5"); }), "index 7 is not below M = 5"));
  // Non-zero padding after the last field: 15 bits of indices, bit 15 is padding.
  s5 = encode_nm(to_nm(w5, NmSpec{5, 5}), NmEncoding::kIndex);
  s5.back() = static_cast<std::uint8_t>(s5.back() | 0x80);
  EXPECT_TRUE(
      contains(error_of([&] { decode_nm(s5, "w5"); }), "padding bits after the metadata are not zero"));

  std::vector<std::uint8_t> bm = sample_stream(NmEncoding::kBitmap);
  bm[20] = 0x97;  // group 0 bitmap 0b0111: three bits set for N = 2
  EXPECT_TRUE(contains(error_of([&] { decode_nm(bm, "w.nm"); }),
                       "row 0 group 0: bitmap has 3 bits set, expected exactly N = 2"));
}

TEST(NmDecode, EmptyRowsDecodeWithoutWork) {
  // 2^31 - 1 rows of 0 columns: a valid, empty payload that must not cost a pass over the rows.
  std::vector<std::uint8_t> b = {'T', 'S', 'N', 'M', 1, 0, 2, 4, 0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0};
  const NmMatrix x = decode_nm(b, "empty");
  EXPECT_EQ(x.rows, 2147483647);
  EXPECT_TRUE(x.values.empty());
}

// Corrupted streams never crash or decode into something invalid: they throw InputError or decode cleanly.
TEST(NmDecode, RandomCorruptionIsRejectedOrValid) {
  std::mt19937 rng(7);
  int rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const NmSpec spec{1 + static_cast<int>(rng() % 3), 3 + static_cast<int>(rng() % 6)};
    const Int8Matrix w = random_matrix(3, spec.m * 2, rng, 0.5);
    std::vector<std::uint8_t> b =
        encode_nm(prune_nm(w, spec), trial % 2 ? NmEncoding::kIndex : NmEncoding::kBitmap);
    b[rng() % b.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    try {
      ASSERT_EQ(validate_nm(decode_nm(b, "fuzz")), "");
    } catch (const InputError&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 300);  // flips in the header and in metadata are mostly caught
}

}  // namespace
}  // namespace tacsim::sparsity
