#include "modules/buffer/hp_bank_map.h"

#include "modules/formats/hp.h"

namespace tacsim::buffer {

void HpBankMap::banks(const std::uint32_t* columns, std::size_t count, std::uint32_t* banks_out) const {
  for (std::size_t i = 0; i < count; ++i)
    banks_out[i] = static_cast<std::uint32_t>(
        sparsity::hp_bank(columns[i], static_cast<int>(block_cols_), static_cast<int>(banks_)));
}

}  // namespace tacsim::buffer
