#pragma once
// The HP-aware bank map: column c in bank (c mod block_cols) mod B, exactly the HP format's hp_bank()
// (modules/formats/hp.h), so the non-zeros HP pruning keeps apart in one row of a block are read from
// distinct banks. When B divides block_cols it is plain interleaving.
#include "modules/buffer/bank_map.h"

namespace tacsim::buffer {

class HpBankMap final : public BankMap {
 public:
  HpBankMap(std::uint32_t banks, std::uint32_t block_cols) : banks_(banks), block_cols_(block_cols) {}
  void banks(const std::uint32_t* columns, std::size_t count, std::uint32_t* banks_out) const override;

 private:
  std::uint32_t banks_;
  std::uint32_t block_cols_;
};

}  // namespace tacsim::buffer
