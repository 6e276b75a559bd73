#pragma once
// The XOR-hashed bank map: column c in bank (c xor (c / B)) mod B. Columns a multiple of B apart, which
// interleaving piles into one bank, are spread over the banks by their higher bits.
#include "modules/buffer/bank_map.h"

namespace tacsim::buffer {

class XorBankMap final : public BankMap {
 public:
  explicit XorBankMap(std::uint32_t banks) : banks_(banks) {}
  void banks(const std::uint32_t* columns, std::size_t count, std::uint32_t* banks_out) const override;

 private:
  std::uint32_t banks_;
};

}  // namespace tacsim::buffer
