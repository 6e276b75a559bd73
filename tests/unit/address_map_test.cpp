#include "modules/dram/address_map.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "modules/common/error.h"

namespace tacsim::dram {
namespace {

// A small organisation whose every field has a different width: 2 channels, 2 ranks, 4 bank groups of 2
// banks, 8 rows, 32 columns with BL8 (4 bursts per row), 64-bit bus (64-byte bursts).
Params small(const std::string& mapping) {
  Params p;
  p.channels = 2;
  p.ranks = 2;
  p.bankgroups = 4;
  p.banks_per_group = 2;
  p.rows = 8;
  p.columns = 32;
  p.address_mapping = mapping;
  return p;
}

// Plain reference decoder: read the fields as digits of a mixed-radix number, least significant field last in
// the name, after dividing out the burst size. Without Bg, Ba counts all banks and bank group = Ba %
// bankgroups.
Location reference_decode(const Params& p, const std::string& mapping, std::uint64_t address) {
  std::uint64_t rest = address / p.burst_bytes();
  Location l;
  std::uint32_t flat = 0;
  const bool has_bg = mapping.find("Bg") != std::string::npos;
  for (std::size_t i = mapping.size(); i >= 2; i -= 2) {
    const std::string f = mapping.substr(i - 2, 2);
    auto digit = [&rest](std::uint64_t radix) {
      const auto d = static_cast<std::uint32_t>(rest % radix);
      rest /= radix;
      return d;
    };
    if (f == "Ch") l.channel = digit(p.channels);
    if (f == "Ra") l.rank = digit(p.ranks);
    if (f == "Bg") l.bankgroup = digit(p.bankgroups);
    if (f == "Ba") flat = digit(has_bg ? p.banks_per_group : p.bankgroups * p.banks_per_group);
    if (f == "Ro") l.row = digit(p.rows);
    if (f == "Co") l.column = digit(p.columns / p.burst_length) * p.burst_length;
  }
  if (has_bg) {
    l.bank = flat;
  } else {
    l.bankgroup = flat % p.bankgroups;
    l.bank = flat / p.bankgroups;
  }
  return l;
}

auto fields(const Location& l) {
  return std::make_tuple(l.channel, l.rank, l.bankgroup, l.bank, l.row, l.column);
}

TEST(AddressMap, DecodesAHandPickedAddress) {
  const AddressMap map(small("RoRaBgBaCoCh"));
  // Bits from the bottom: 6 offset, 1 Ch, 2 Co, 1 Ba, 2 Bg, 1 Ra, 3 Ro (16 bits, 64 KiB).
  // 0b101_1_10_1_11_0_000000 = row 5, rank 1, bank group 2, bank 1, column burst 3 (column 24), channel 0.
  const std::uint64_t address = 0b1011101110000000;
  const Location l = map.decode(address);
  EXPECT_EQ(fields(l), std::make_tuple(0u, 1u, 2u, 1u, 5u, 24u));
  EXPECT_EQ(map.decode(address + 63).row, 5u);  // the offset bits do not matter
  EXPECT_EQ(map.decode(address + 64).channel, 1u);
  EXPECT_EQ(map.capacity_bytes(), 65536u);
  EXPECT_EQ(map.burst_bytes(), 64u);
}

TEST(AddressMap, MatchesTheMixedRadixReferenceForEveryNamedMapping) {
  for (const std::string mapping :
       {"RoBaRaCoCh", "RoRaBaChCo", "RoRaBgBaCoCh", "ChRaRoBgBaCo", "RoRaBaCoBgCh", "CoRaRoBgBaCh",
        "CoChRoBgBaRa", "CoChRoBaRaBg", "CoChRaBgBaRo", "CoChBgRaRoBa", "RoRaCoChBa"}) {
    SCOPED_TRACE(mapping);
    const Params p = small(mapping);
    const AddressMap map(p);
    std::set<
        std::tuple<std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t>>
        seen;
    Location stepped;  // the incremental decode of sequential bursts that try_enqueue() uses
    for (std::uint64_t a = 0; a < map.capacity_bytes(); a += 64) {
      const Location l = map.decode(a);
      EXPECT_EQ(fields(l), fields(reference_decode(p, mapping, a))) << "address " << a;
      EXPECT_EQ(map.encode(l), a);
      stepped = a == 0 ? l : map.next(stepped, a);
      EXPECT_EQ(fields(stepped), fields(l)) << "address " << a;
      seen.insert(fields(l));
    }
    EXPECT_EQ(seen.size(), map.capacity_bytes() / 64) << "the map is a bijection onto the locations";
  }
}

TEST(AddressMap, PresetSizedMapsRoundTripRandomAddresses) {
  Params p;  // one rank of DDR4-3200: 8 GiB
  p.address_mapping = "RoRaBgBaCoCh";
  const AddressMap map(p);
  EXPECT_EQ(map.capacity_bytes(), p.capacity_bytes());
  EXPECT_EQ(map.capacity_bytes(), 8ull << 30);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t a = rng() % map.capacity_bytes();
    EXPECT_EQ(fields(map.decode(a)), fields(reference_decode(p, p.address_mapping, a)));
    EXPECT_EQ(map.encode(map.decode(a)), a / 64 * 64);
  }
}

TEST(AddressMap, WithoutABankGroupFieldConsecutiveBanksAlternateGroups) {
  const AddressMap map(small("RoRaBaCoCh"));
  // Ba holds 3 bits (8 banks): flat bank b is bank group b % 4, bank b / 4.
  for (std::uint32_t flat = 0; flat < 8; ++flat) {
    // Ba sits above 6 offset + 1 Ch + 2 Co bits.
    const Location l = map.decode(std::uint64_t{flat} << 9);
    EXPECT_EQ(l.bankgroup, flat % 4);
    EXPECT_EQ(l.bank, flat / 4);
  }
}

TEST(AddressMap, AddressesBeyondCapacityAreErrors) {
  const AddressMap map(small("RoRaBgBaCoCh"));
  EXPECT_NO_THROW(map.decode(65535));
  EXPECT_THROW(map.decode(65536), std::out_of_range);
  EXPECT_THROW(map.decode(~std::uint64_t{0}), std::out_of_range);
  Location l;
  l.row = 8;  // one past the last row
  EXPECT_THROW(map.encode(l), std::out_of_range);
}

TEST(AddressMap, BadMappingNamesAreErrorsNamingTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"RoRaBgBaCoXx", "unknown field 'Xx'"},
      {"RoRaBgBaCo", "has no Ch field but channels = 2"},
      {"RoBgBaCoCh", "has no Ra field but ranks = 2"},
      {"RoRaBgRaBaCoCh", "field 'Ra' appears twice"},
      {"RoRaBgBaCoC", "expected two-letter fields"},
      {"RaBgBaCoCh", "has no Ro field"},
      {"rorabgbacoxx", "unknown field 'xx'"},
      {"", "expected two-letter fields"},
      {"dramsim3-ddr5", "or a name (bank-group-interleaved, dramsim3-ddr4, dramsim3-hbm2)"},
  };
  for (const auto& [mapping, expected] : cases) {
    SCOPED_TRACE(mapping);
    const std::string message = AddressMap::check(small(mapping));
    EXPECT_EQ(message.rfind("address_mapping: ", 0), 0u) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_THROW(AddressMap{small(mapping)}, InputError);
  }
  Params one = small("RoBgBaCo");  // one channel and one rank need no Ch or Ra field
  one.channels = 1;
  one.ranks = 1;
  EXPECT_EQ(AddressMap::check(one), "");
}

TEST(AddressMap, DramSim3SpellingsAndNamesMeanTheSameFields) {
  const AddressMap lower(small("rochrababgco"));
  const AddressMap mixed(small("RoChRaBaBgCo"));
  const AddressMap named(small("dramsim3-ddr4"));
  for (std::uint64_t a = 0; a < 65536; a += 64) {
    const Location x = lower.decode(a), y = mixed.decode(a), z = named.decode(a);
    ASSERT_EQ(std::tie(x.channel, x.rank, x.bankgroup, x.bank, x.row, x.column),
              std::tie(y.channel, y.rank, y.bankgroup, y.bank, y.row, y.column));
    ASSERT_EQ(std::tie(y.channel, y.rank, y.bankgroup, y.bank, y.row, y.column),
              std::tie(z.channel, z.rank, z.bankgroup, z.bank, z.row, z.column));
  }
  for (const NamedMapping& m : kNamedMappings) EXPECT_EQ(AddressMap::check(small(m.name)), "") << m.name;
}

}  // namespace
}  // namespace tacsim::dram
