// The bank maps (modules/buffer/bank_map.h): names, hand-computed banks of each map, the hp map against the
// HP format's hp_bank(), and what xor hashing buys over interleaving.
#include "modules/buffer/bank_map.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "modules/buffer/bank_arbiter.h"
#include "modules/common/error.h"
#include "modules/common/rng.h"
#include "modules/formats/hp.h"

namespace tacsim::buffer {
namespace {

TEST(BankMap, NamesRoundTripAndBadNamesNameTheKey) {
  for (BankMapKind k : {BankMapKind::kInterleave, BankMapKind::kXor, BankMapKind::kHp})
    EXPECT_EQ(parse_bank_map(bank_map_name(k), "act_buffer.bank_map"), k);
  EXPECT_EQ(bank_map_name(BankMapKind::kXor), "xor");
  try {
    parse_bank_map("hashed", "act_buffer.bank_map");
    FAIL() << "bad name accepted";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "act_buffer.bank_map: expected one of interleave, xor, hp, got 'hashed'");
  }
}

TEST(BankMap, HandComputedBanks) {
  // interleave: 37 mod 16 = 5.
  EXPECT_EQ(make_bank_map(BankMapKind::kInterleave, 16, 16)->bank(37), 5u);
  // xor: 37 / 16 = 2, 37 xor 2 = 39, 39 mod 16 = 7.
  EXPECT_EQ(make_bank_map(BankMapKind::kXor, 16, 16)->bank(37), 7u);
  // xor: 64 / 8 = 8, 64 xor 8 = 72, 72 mod 8 = 0; 65 xor 8 = 73 -> 1; 72 / 8 = 9, 72 xor 9 = 65 -> 1.
  const auto x = make_bank_map(BankMapKind::kXor, 8, 16);
  EXPECT_EQ(x->bank(64), 0u);
  EXPECT_EQ(x->bank(65), 1u);
  EXPECT_EQ(x->bank(72), 1u);
  // hp, block 12, 8 banks: 37 mod 12 = 1 -> 1; 22 mod 12 = 10, 10 mod 8 = 2; 11 -> 11 mod 8 = 3.
  const auto hp = make_bank_map(BankMapKind::kHp, 8, 12);
  EXPECT_EQ(hp->bank(37), 1u);
  EXPECT_EQ(hp->bank(22), 2u);
  EXPECT_EQ(hp->bank(11), 3u);
}

TEST(BankMap, HpMapIsTheFormatsHpBank) {
  for (std::uint32_t banks : {1u, 3u, 8u, 16u}) {
    for (std::uint32_t block : {1u, 5u, 16u, 24u}) {
      const auto map = make_bank_map(BankMapKind::kHp, banks, block);
      for (std::uint32_t c = 0; c < 200; ++c) {
        ASSERT_EQ(map->bank(c), static_cast<std::uint32_t>(
                                    sparsity::hp_bank(c, static_cast<int>(block), static_cast<int>(banks))))
            << "banks " << banks << " block " << block << " column " << c;
      }
    }
  }
}

TEST(BankMap, ARunOfColumnsMapsAsEachColumnDoesAndStaysBelowTheBankCount) {
  Rng rng(0xba4c);
  for (int trial = 0; trial < 300; ++trial) {
    const auto kind = static_cast<BankMapKind>(rng.below(3));
    const auto banks = static_cast<std::uint32_t>(1 + rng.below(40));
    const auto block = static_cast<std::uint32_t>(1 + rng.below(64));
    const auto map = make_bank_map(kind, banks, block);
    std::vector<std::uint32_t> columns(rng.below(20));
    for (auto& c : columns) c = static_cast<std::uint32_t>(rng.below(1u << 30));
    std::vector<std::uint32_t> run(columns.size());
    map->banks(columns.data(), columns.size(), run.data());
    for (std::size_t i = 0; i < columns.size(); ++i) {
      ASSERT_EQ(run[i], map->bank(columns[i])) << bank_map_name(kind);
      ASSERT_LT(run[i], banks) << bank_map_name(kind);
    }
  }
}

TEST(BankMap, XorSpreadsAStrideThatInterleavingPilesUp) {
  // Columns 0, 8, 16, ..., 56 with 8 banks: interleave puts all 8 in bank 0 (8 cycles on one port);
  // xor puts column 8i in bank (8i xor i) mod 8 = i, all distinct (1 cycle).
  std::vector<std::uint32_t> columns, inter(8), hashed(8);
  for (std::uint32_t i = 0; i < 8; ++i) columns.push_back(8 * i);
  make_bank_map(BankMapKind::kInterleave, 8, 16)->banks(columns.data(), 8, inter.data());
  make_bank_map(BankMapKind::kXor, 8, 16)->banks(columns.data(), 8, hashed.data());
  BankParams p;
  p.banks = 8;
  p.ports_per_bank = 1;
  BankArbiter a(p, 8);
  EXPECT_EQ(a.wave_cycles(inter), 8u);
  EXPECT_EQ(a.wave_cycles(hashed), 1u);
}

}  // namespace
}  // namespace tacsim::buffer
