#pragma once
// Where word c (an activation column) of a banked buffer lives: one small interface, one implementation per
// file (interleave_bank_map.h, xor_bank_map.h, hp_bank_map.h), one factory keyed on BankMapKind.
//
// Contract:
// - banks() is a pure function of the columns and the map's construction parameters: the same column always
//   lands in the same bank, every bank is below the bank count, and a map never changes after it is made.
// - It maps a run of columns at once (a wave's reads), so a caller pays one virtual call per wave, not per
//   read.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace tacsim::buffer {

enum class BankMapKind {
  kInterleave,  // c mod B
  kXor,         // (c xor (c / B)) mod B: spreads strides that are multiples of B
  kHp,          // (c mod block_cols) mod B: the map HP pruning targets (modules/formats/hp.h hp_bank())
};

// "interleave", "xor", "hp".
std::string bank_map_name(BankMapKind kind);
// Inverse of bank_map_name; anything else throws InputError naming `key` and the choices.
BankMapKind parse_bank_map(const std::string& text, const std::string& key);

class BankMap {
 public:
  virtual ~BankMap() = default;
  // banks_out[i] = the bank of columns[i], for i < count.
  virtual void banks(const std::uint32_t* columns, std::size_t count, std::uint32_t* banks_out) const = 0;

  std::uint32_t bank(std::uint32_t column) const {
    std::uint32_t b = 0;
    banks(&column, 1, &b);
    return b;
  }
};

// `banks` >= 1; `block_cols` >= 1 is the HP block width, which only the hp map uses.
std::unique_ptr<const BankMap> make_bank_map(BankMapKind kind, std::uint32_t banks, std::uint32_t block_cols);

}  // namespace tacsim::buffer
