#pragma once
// Physical address -> (channel, rank, bank group, bank, row, column). A mapping is spelled by its fields,
// most significant first, two letters each in either case: Ro(w), Ra(nk), Bg (bank group), Ba(nk), Co(lumn),
// Ch(annel); e.g. "RoRaBgBaCoCh", or DRAMsim3's "rochrababgco". The bits below the fields address bytes
// inside one burst (bus width x burst length); Co counts bursts within a row. Without a Bg field, Ba holds
// the flat bank index of the rank and its low bits select the bank group, so consecutive Ba values alternate
// bank groups. A mapping may also be given by name (kNamedMappings).
#include <cstdint>
#include <string>

#include "modules/dram/dram_params.h"

namespace tacsim::dram {

struct NamedMapping {
  const char* name;
  const char* fields;
};
inline constexpr NamedMapping kNamedMappings[] = {
    // Consecutive bursts alternate bank groups, so a stream issues at tCCD_S instead of tCCD_L (JESD79-4
    // bank groups); the channel bits lowest of all. tacsim's DDR4 presets use it.
    {"bank-group-interleaved", "RoRaBaCoBgCh"},
    // DRAMsim3's DDR4 configs (configs/DDR4_8Gb_x8_3200.ini: address_mapping = rochrababgco): a whole row of
    // one bank before the next bank group.
    {"dramsim3-ddr4", "RoChRaBaBgCo"},
    // DRAMsim3's HBM2 config (configs/HBM2_8Gb_x128.ini: address_mapping = rorabgbachco): a 2 KB row of one
    // bank, then the next channel; tacsim's HBM2 preset uses it.
    {"dramsim3-hbm2", "RoRaBgBaChCo"},
};

struct Location {
  std::uint32_t channel = 0;
  std::uint32_t rank = 0;
  std::uint32_t bankgroup = 0;
  std::uint32_t bank = 0;  // within its bank group
  std::uint32_t row = 0;
  std::uint32_t column = 0;  // first column of the burst, a multiple of burst_length
};

class AddressMap {
 public:
  // Throws tacsim::InputError ("address_mapping: ...") when the mapping does not fit the organisation.
  explicit AddressMap(const Params& params);

  // Throws std::out_of_range for an address at or beyond capacity_bytes().
  Location decode(std::uint64_t address) const;
  // The channel alone of an address below capacity_bytes().
  std::uint32_t channel_of(std::uint64_t address) const {
    return static_cast<std::uint32_t>(((address >> offset_bits_) >> channel_.shift) & channel_.mask);
  }
  // The location of the burst at `address` (below capacity_bytes()), given `previous`, the location of the
  // burst just before it: the lowest field counts up, and only its carry needs a whole decode.
  Location next(const Location& previous, std::uint64_t address) const;
  // The burst-aligned address of a location; decode(encode(l)) == l for every valid l.
  std::uint64_t encode(const Location& location) const;

  std::uint64_t capacity_bytes() const { return capacity_bytes_; }
  std::uint32_t burst_bytes() const { return burst_bytes_; }

  // "" when params.address_mapping names a valid mapping for params' organisation, else a message starting
  // with "address_mapping:". Counts must already be powers of two (Params::validate checks that first).
  static std::string check(const Params& params);

 private:
  struct Field {
    std::uint32_t shift = 0;  // in burst units, i.e. after dropping the offset bits
    std::uint64_t mask = 0;
  };
  Field channel_, rank_, bankgroup_, bank_, row_, column_;
  bool flat_banks_ = false;  // no Bg field: bank_ holds bankgroup + bankgroups * bank
  std::uint32_t bankgroups_ = 1;
  std::uint32_t bankgroup_bits_ = 0;  // log2(bankgroups_)
  // The field of the least significant bits, which counts up from one burst to the next; kNone when it is a
  // flat bank field (its bank group and bank both change) or there is none.
  enum class Lowest : std::uint8_t { kNone, kChannel, kRank, kBankgroup, kBank, kRow, kColumn };
  Lowest lowest_ = Lowest::kNone;
  std::uint64_t lowest_mask_ = 0;
  std::uint32_t offset_bits_ = 0;
  std::uint32_t burst_length_ = 1;
  std::uint32_t burst_bytes_ = 1;
  std::uint64_t capacity_bytes_ = 0;
};

}  // namespace tacsim::dram
