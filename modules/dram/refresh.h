#pragma once
// All-bank refresh of one channel's ranks (JESD79-4 REF): each rank owes one REF per tREFI, the ranks
// staggered evenly across the interval so that they are not all unavailable at once. When a rank's REF falls
// due the rank drains: the scheduler stops starting work there (draining()), refresh precharges its open
// banks as soon as each may close, and issues REF once all are closed long enough. Refresh work goes before
// any scheduled access.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "modules/common/types.h"
#include "modules/dram/channel_timing.h"

namespace tacsim::dram {

class Refresh {
 public:
  enum class Kind : std::uint8_t { kNone, kPre, kRef };
  struct Work {
    Kind kind = Kind::kNone;
    std::uint32_t rank = 0;
    std::uint32_t bank = 0;  // kPre: the bank to close
  };

  Refresh(const DeviceSpec& spec, bool enabled);

  bool enabled() const { return enabled_; }
  bool draining(std::uint32_t rank) const { return ranks_[rank].draining; }

  // The refresh command to issue at cycle t, if any, visiting ranks in order: a rank whose REF is due starts
  // draining (`started(rank)` is called: what the scheduler may do there changed), then a draining rank
  // precharges its first open bank that may close, or refreshes once all are closed. A rank after one that
  // issues is not looked at in this cycle.
  template <typename Started>
  Work work(const ChannelTiming& timing, Cycle t, Started started) {
    if (!enabled_ || (draining_ == 0 && t < first_due_)) return {};  // most cycles: inline and cheap
    return due_work(timing, t, started);
  }
  // The earliest cycle work() can return something or start a drain (kNever when disabled).
  Cycle next_at(const ChannelTiming& timing) const {
    if (!enabled_) return kNever;
    return draining_ == 0 ? first_due_ : draining_next_at(timing);
  }
  // REF issued for `rank`: the next one is due a tREFI after this one was, by the schedule rather than by t,
  // so that the average rate is exactly one per tREFI.
  void refreshed(std::uint32_t rank) {
    ranks_[rank].draining = false;
    --draining_;
    ranks_[rank].due += refi_;
    first_due_ = kNever;
    for (const Rank& r : ranks_) first_due_ = std::min(first_due_, r.due);
  }

 private:
  template <typename Started>
  Work due_work(const ChannelTiming& timing, Cycle t, Started started);
  Cycle draining_next_at(const ChannelTiming& timing) const;

  struct Rank {
    Cycle due = 0;
    bool draining = false;
  };
  std::vector<Rank> ranks_;
  Cycle refi_;
  Cycle first_due_ = 0;         // the earliest `due` of any rank
  std::uint32_t draining_ = 0;  // ranks draining
  bool enabled_;
};

template <typename Started>
Refresh::Work Refresh::due_work(const ChannelTiming& timing, Cycle t, Started started) {
  for (std::uint32_t r = 0; r < ranks_.size(); ++r) {
    Rank& rank = ranks_[r];
    if (!rank.draining && rank.due <= t) {
      rank.draining = true;
      ++draining_;
      started(r);
    }
    if (!rank.draining) continue;
    if (timing.open_banks(r) == 0) {
      if (timing.ref_earliest(r) <= t) return {Kind::kRef, r, 0};
      continue;
    }
    const std::uint32_t per_rank = timing.banks_per_rank();
    for (std::uint32_t b = r * per_rank; b < (r + 1) * per_rank; ++b) {
      if (timing.open(b) && timing.pre_earliest(b, r) <= t) return {Kind::kPre, r, b};
    }
  }
  return {};
}

}  // namespace tacsim::dram
