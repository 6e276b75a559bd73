#include "modules/buffer/interleave_bank_map.h"

namespace tacsim::buffer {

void InterleaveBankMap::banks(const std::uint32_t* columns, std::size_t count,
                              std::uint32_t* banks_out) const {
  for (std::size_t i = 0; i < count; ++i) banks_out[i] = columns[i] % banks_;
}

}  // namespace tacsim::buffer
