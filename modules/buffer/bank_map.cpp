#include "modules/buffer/bank_map.h"

#include "modules/buffer/hp_bank_map.h"
#include "modules/buffer/interleave_bank_map.h"
#include "modules/buffer/xor_bank_map.h"
#include "modules/common/error.h"

namespace tacsim::buffer {

std::string bank_map_name(BankMapKind kind) {
  switch (kind) {
    case BankMapKind::kInterleave:
      return "interleave";
    case BankMapKind::kXor:
      return "xor";
    case BankMapKind::kHp:
      return "hp";
  }
  return "unknown";
}

BankMapKind parse_bank_map(const std::string& text, const std::string& key) {
  for (BankMapKind k : {BankMapKind::kInterleave, BankMapKind::kXor, BankMapKind::kHp})
    if (text == bank_map_name(k)) return k;
  throw InputError(key + ": expected one of interleave, xor, hp, got '" + text + "'");
}

std::unique_ptr<const BankMap> make_bank_map(BankMapKind kind, std::uint32_t banks,
                                             std::uint32_t block_cols) {
  switch (kind) {
    case BankMapKind::kInterleave:
      return std::make_unique<InterleaveBankMap>(banks);
    case BankMapKind::kXor:
      return std::make_unique<XorBankMap>(banks);
    case BankMapKind::kHp:
      return std::make_unique<HpBankMap>(banks, block_cols);
  }
  return nullptr;
}

}  // namespace tacsim::buffer
