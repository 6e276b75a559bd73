#pragma once
// The interleaved bank map: column c in bank c mod B, so consecutive columns fill the banks in turn.
#include "modules/buffer/bank_map.h"

namespace tacsim::buffer {

class InterleaveBankMap final : public BankMap {
 public:
  explicit InterleaveBankMap(std::uint32_t banks) : banks_(banks) {}
  void banks(const std::uint32_t* columns, std::size_t count, std::uint32_t* banks_out) const override;

 private:
  std::uint32_t banks_;
};

}  // namespace tacsim::buffer
