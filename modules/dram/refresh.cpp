#include "modules/dram/refresh.h"

#include <algorithm>

namespace tacsim::dram {

Refresh::Refresh(const DeviceSpec& spec, bool enabled)
    : ranks_(spec.ranks), refi_(spec.tREFI_cycles), enabled_(enabled) {
  for (std::uint32_t r = 0; r < spec.ranks; ++r) ranks_[r].due = refi_ + r * (refi_ / spec.ranks);
  first_due_ = ranks_.empty() ? kNever : ranks_.front().due;
}

Cycle Refresh::draining_next_at(const ChannelTiming& timing) const {
  Cycle at = kNever;
  for (std::uint32_t r = 0; r < ranks_.size(); ++r) {
    if (!ranks_[r].draining) {
      at = std::min(at, ranks_[r].due);
    } else if (timing.open_banks(r) == 0) {
      at = std::min(at, timing.ref_earliest(r));
    } else {
      const std::uint32_t per_rank = timing.banks_per_rank();
      for (std::uint32_t b = r * per_rank; b < (r + 1) * per_rank; ++b)
        if (timing.open(b)) at = std::min(at, timing.pre_earliest(b, r));
    }
  }
  return at;
}

}  // namespace tacsim::dram
