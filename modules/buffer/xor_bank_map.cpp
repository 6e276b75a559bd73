#include "modules/buffer/xor_bank_map.h"

namespace tacsim::buffer {

void XorBankMap::banks(const std::uint32_t* columns, std::size_t count, std::uint32_t* banks_out) const {
  for (std::size_t i = 0; i < count; ++i) banks_out[i] = (columns[i] ^ (columns[i] / banks_)) % banks_;
}

}  // namespace tacsim::buffer
