#pragma once
// The bursts a channel's scheduler may choose from, held per bank in arrival order, with the per-bank counts
// the scheduling and page policies read (queued, queued for the open row, hits since the row opened). Slots
// are reused: a burst is named by its slot while queued, and by its `seq` (unique, in arrival order) for age.
#include <cstdint>
#include <vector>

#include "modules/common/types.h"
#include "modules/dram/channel_timing.h"
#include "modules/dram/scheduler.h"

namespace tacsim::dram {

struct QueuedBurst {
  std::uint64_t seq = 0;
  std::uint64_t blocker_seq = 0;  // an older read of the same column that a write must not overtake
  std::uint32_t blocker = kNoSlot;
  std::uint32_t txn = 0;  // the engine's transaction index
  BankAddress where;
  std::uint32_t row = 0;
  std::uint32_t column = 0;
  bool is_write = false;
  bool valid = false;
  bool needed_pre = false;  // a PRE was issued on this burst's behalf (row conflict)
  bool needed_act = false;  // an ACT was issued on its behalf (row miss)
};

// One bank's share of the queue, counted relative to the bank's open row.
struct BankQueue {
  std::vector<std::uint32_t> slots;  // queued bursts of this bank, oldest first
  std::uint32_t queued = 0;
  std::uint32_t queued_writes = 0;
  std::uint32_t queued_hits = 0;        // of the queued bursts, those for the open row
  std::uint32_t queued_hit_writes = 0;  // of those, the writes
  std::uint32_t hits_since_act = 0;     // column commands served since the row opened
};

class BankQueues {
 public:
  BankQueues(std::uint32_t banks, std::uint32_t bursts_per_bank);

  bool full(std::uint32_t bank) const { return banks_[bank].queued == per_bank_; }
  // Banks whose queue is full, 64 per word.
  const std::vector<std::uint64_t>& full_banks() const { return full_; }
  std::uint32_t size() const { return static_cast<std::uint32_t>(slots_.size() - free_.size()); }
  std::uint32_t reads() const { return reads_; }            // queued read bursts, all banks
  std::uint32_t writes() const { return size() - reads_; }  // queued write bursts, all banks
  // A queued write of this row and column of the bank.
  bool has_write(std::uint32_t bank, std::uint32_t row, std::uint32_t column) const;
  const QueuedBurst& burst(std::uint32_t slot) const { return slots_[slot]; }
  QueuedBurst& burst(std::uint32_t slot) { return slots_[slot]; }
  const BankQueue& bank(std::uint32_t b) const { return banks_[b]; }

  // Queues a burst (requires !full(its bank)); `hit`: it is for its bank's open row. Returns its slot.
  std::uint32_t insert(const QueuedBurst& burst, bool hit);
  // The burst's column command has issued: it leaves the queue.
  void remove(std::uint32_t slot);
  void row_opened(std::uint32_t bank, std::uint32_t row);  // recounts the hits for the new row
  void row_closed(std::uint32_t bank);

  // An older access to the same column is still queued.
  bool blocked(const QueuedBurst& b) const {
    return b.blocker != kNoSlot && slots_[b.blocker].valid && slots_[b.blocker].seq == b.blocker_seq;
  }

  // Calls f(bank) for every bank with a queued burst, in bank order: idle banks cost nothing.
  template <typename F>
  void for_each_busy_bank(F f) const {
    for (std::size_t w = 0; w < busy_.size(); ++w) {
      for (std::uint64_t bits = busy_[w]; bits != 0; bits &= bits - 1)
        f(static_cast<std::uint32_t>(w * 64 + static_cast<unsigned>(__builtin_ctzll(bits))));
    }
  }
  // The occupied slots, oldest first, into `out`.
  void by_age(std::vector<std::uint32_t>& out) const;

 private:
  std::vector<QueuedBurst> slots_;
  std::vector<std::uint32_t> free_;
  std::vector<BankQueue> banks_;
  std::vector<std::uint64_t> busy_;  // banks with at least one queued burst, 64 per word
  std::vector<std::uint64_t> full_;  // banks whose queue is full
  std::uint32_t per_bank_;
  std::uint32_t reads_ = 0;
};

}  // namespace tacsim::dram
