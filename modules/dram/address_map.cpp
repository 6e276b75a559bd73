#include "modules/dram/address_map.h"

#include <array>
#include <cctype>
#include <stdexcept>

#include "modules/common/error.h"

namespace tacsim::dram {
namespace {

enum FieldId { kRo, kRa, kBg, kBa, kCo, kCh, kFieldCount };
constexpr std::array<const char*, kFieldCount> kFieldNames = {"Ro", "Ra", "Bg", "Ba", "Co", "Ch"};

std::uint32_t log2_exact(std::uint64_t v) {
  std::uint32_t bits = 0;
  while ((std::uint64_t{1} << bits) < v) ++bits;
  return bits;
}

struct Parsed {
  std::string error;
  std::array<int, kFieldCount> position{};  // index in the string, most significant first; -1 when absent
  int count = 0;
};

// The field string of a mapping given by name, else the text itself.
std::string expand(const std::string& mapping) {
  for (const NamedMapping& m : kNamedMappings)
    if (mapping == m.name) return m.fields;
  return mapping;
}

std::string mapping_names() {
  std::string names;
  for (const NamedMapping& m : kNamedMappings) names += std::string(names.empty() ? "" : ", ") + m.name;
  return names;
}

Parsed parse(const std::string& text) {
  Parsed p;
  p.position.fill(-1);
  const std::string mapping = expand(text);
  if (mapping.empty() || mapping.size() % 2 != 0) {
    p.error = "address_mapping: expected two-letter fields (Ro Ra Bg Ba Co Ch) or a name (" +
              mapping_names() + "), got '" + mapping + "'";
    return p;
  }
  for (std::size_t i = 0; i < mapping.size(); i += 2) {
    const std::string token = mapping.substr(i, 2);
    int id = -1;
    for (int f = 0; f < kFieldCount; ++f) {
      const bool same = std::toupper(static_cast<unsigned char>(token[0])) == kFieldNames[f][0] &&
                        std::tolower(static_cast<unsigned char>(token[1])) == kFieldNames[f][1];
      if (same) id = f;
    }
    if (id < 0) {
      p.error = "address_mapping: unknown field '" + token + "' in '" + mapping +
                "' (fields: Ro Ra Bg Ba Co Ch, most significant first; or a name: " + mapping_names() + ")";
      return p;
    }
    if (p.position[id] >= 0) {
      p.error = "address_mapping: field '" + token + "' appears twice in '" + mapping + "'";
      return p;
    }
    p.position[id] = p.count++;
  }
  return p;
}

// Field widths in bits for the organisation; Ba covers all banks of a rank when there is no Bg field.
std::array<std::uint32_t, kFieldCount> widths(const Params& params, bool flat_banks) {
  std::array<std::uint32_t, kFieldCount> w{};
  w[kRo] = log2_exact(params.rows);
  w[kRa] = log2_exact(params.ranks);
  w[kBg] = flat_banks ? 0 : log2_exact(params.bankgroups);
  w[kBa] = log2_exact(flat_banks ? std::uint64_t{params.bankgroups} * params.banks_per_group
                                 : params.banks_per_group);
  w[kCo] = log2_exact(params.columns / params.burst_length);
  w[kCh] = log2_exact(params.channels);
  return w;
}

}  // namespace

std::string AddressMap::check(const Params& params) {
  const Parsed p = parse(params.address_mapping);
  if (!p.error.empty()) return p.error;
  // Ro, Ba and Co are always required so that a typo cannot silently drop a field; Ra and Ch only when there
  // is more than one rank or channel to select.
  for (int f : {kRo, kBa, kCo}) {
    if (p.position[f] < 0) {
      return "address_mapping: '" + params.address_mapping + "' has no " + kFieldNames[f] + " field";
    }
  }
  if (p.position[kRa] < 0 && params.ranks > 1) {
    return "address_mapping: '" + params.address_mapping +
           "' has no Ra field but ranks = " + std::to_string(params.ranks);
  }
  if (p.position[kCh] < 0 && params.channels > 1) {
    return "address_mapping: '" + params.address_mapping +
           "' has no Ch field but channels = " + std::to_string(params.channels);
  }
  return "";
}

AddressMap::AddressMap(const Params& params) {
  const std::string error = check(params);
  if (!error.empty()) throw InputError(error);
  const Parsed p = parse(params.address_mapping);
  flat_banks_ = p.position[kBg] < 0;
  bankgroups_ = params.bankgroups;
  bankgroup_bits_ = log2_exact(bankgroups_);
  burst_length_ = params.burst_length;
  burst_bytes_ = params.burst_bytes();
  offset_bits_ = log2_exact(burst_bytes_);
  const auto w = widths(params, flat_banks_);

  // Walk from the least significant field (the last in the string) upwards.
  std::array<Field*, kFieldCount> fields = {&row_, &rank_, &bankgroup_, &bank_, &column_, &channel_};
  constexpr std::array<Lowest, kFieldCount> kLowest = {Lowest::kRow,  Lowest::kRank,   Lowest::kBankgroup,
                                                       Lowest::kBank, Lowest::kColumn, Lowest::kChannel};
  std::uint32_t shift = 0;
  for (int pos = p.count - 1; pos >= 0; --pos) {
    for (int f = 0; f < kFieldCount; ++f) {
      if (p.position[f] != pos) continue;
      fields[f]->shift = shift;
      fields[f]->mask = (std::uint64_t{1} << w[f]) - 1;
      if (shift == 0 && w[f] > 0) {
        lowest_ = f == kBa && flat_banks_ ? Lowest::kNone : kLowest[f];
        lowest_mask_ = fields[f]->mask;
      }
      shift += w[f];
    }
  }
  capacity_bytes_ = std::uint64_t{1} << (shift + offset_bits_);
}

Location AddressMap::decode(std::uint64_t address) const {
  if (address >= capacity_bytes_) {
    throw std::out_of_range("dram address " + std::to_string(address) + " is beyond the capacity of " +
                            std::to_string(capacity_bytes_) + " bytes");
  }
  const std::uint64_t unit = address >> offset_bits_;
  auto get = [unit](const Field& f) { return static_cast<std::uint32_t>((unit >> f.shift) & f.mask); };
  Location l;
  l.channel = get(channel_);
  l.rank = get(rank_);
  l.row = get(row_);
  l.column = get(column_) * burst_length_;
  if (flat_banks_) {
    const std::uint32_t flat = get(bank_);
    l.bankgroup = flat & (bankgroups_ - 1);  // bankgroups_ is a power of two
    l.bank = flat >> bankgroup_bits_;
  } else {
    l.bankgroup = get(bankgroup_);
    l.bank = get(bank_);
  }
  return l;
}

Location AddressMap::next(const Location& previous, std::uint64_t address) const {
  Location l = previous;
  // The lowest field's bits are all zero exactly when it carried into the fields above.
  if (lowest_ == Lowest::kNone || ((address >> offset_bits_) & lowest_mask_) == 0) return decode(address);
  switch (lowest_) {
    case Lowest::kChannel:
      ++l.channel;
      break;
    case Lowest::kRank:
      ++l.rank;
      break;
    case Lowest::kBankgroup:
      ++l.bankgroup;
      break;
    case Lowest::kBank:
      ++l.bank;
      break;
    case Lowest::kRow:
      ++l.row;
      break;
    case Lowest::kColumn:
      l.column += burst_length_;
      break;
    case Lowest::kNone:
      break;
  }
  return l;
}

std::uint64_t AddressMap::encode(const Location& l) const {
  auto put = [](const Field& f, std::uint64_t v) {
    if (v > f.mask) throw std::out_of_range("dram location field " + std::to_string(v) + " out of range");
    return v << f.shift;
  };
  if (l.column % burst_length_ != 0)
    throw std::out_of_range("dram column is not a multiple of the burst length");
  if (l.bankgroup >= bankgroups_) throw std::out_of_range("dram bank group out of range");
  std::uint64_t unit = put(channel_, l.channel) | put(rank_, l.rank) | put(row_, l.row) |
                       put(column_, l.column / burst_length_);
  if (flat_banks_) {
    unit |= put(bank_, std::uint64_t{l.bank} * bankgroups_ + l.bankgroup);
  } else {
    unit |= put(bankgroup_, l.bankgroup) | put(bank_, l.bank);
  }
  return unit << offset_bits_;
}

}  // namespace tacsim::dram
