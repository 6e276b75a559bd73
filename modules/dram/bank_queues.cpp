#include "modules/dram/bank_queues.h"

#include <algorithm>

namespace tacsim::dram {

BankQueues::BankQueues(std::uint32_t banks, std::uint32_t bursts_per_bank)
    : slots_(std::size_t{banks} * bursts_per_bank),
      banks_(banks),
      busy_((banks + 63) / 64, 0),
      full_((banks + 63) / 64, 0),
      per_bank_(bursts_per_bank) {
  for (std::uint32_t s = static_cast<std::uint32_t>(slots_.size()); s-- > 0;) free_.push_back(s);
  for (BankQueue& b : banks_) b.slots.reserve(bursts_per_bank);
}

bool BankQueues::has_write(std::uint32_t bank, std::uint32_t row, std::uint32_t column) const {
  for (std::uint32_t slot : banks_[bank].slots) {
    const QueuedBurst& o = slots_[slot];
    if (o.is_write && o.row == row && o.column == column) return true;
  }
  return false;
}

std::uint32_t BankQueues::insert(const QueuedBurst& burst, bool hit) {
  const std::uint32_t index = free_.back();
  free_.pop_back();
  QueuedBurst& s = slots_[index];
  s = burst;
  s.valid = true;
  BankQueue& b = banks_[s.where.bank];
  // Reads of a queued write never get here (the write buffer serves them) and writes to it merge, so the only
  // order to keep is a write behind an older read of its column.
  if (s.is_write) {
    for (auto it = b.slots.rbegin(); it != b.slots.rend(); ++it) {
      const QueuedBurst& o = slots_[*it];
      if (o.row == s.row && o.column == s.column && !o.is_write) {
        s.blocker = *it;
        s.blocker_seq = o.seq;
        break;
      }
    }
  }
  b.slots.push_back(index);
  if (b.queued++ == 0) busy_[s.where.bank >> 6] |= std::uint64_t{1} << (s.where.bank & 63);
  if (b.queued == per_bank_) full_[s.where.bank >> 6] |= std::uint64_t{1} << (s.where.bank & 63);
  b.queued_writes += s.is_write;
  reads_ += !s.is_write;
  if (hit) {
    ++b.queued_hits;
    b.queued_hit_writes += s.is_write;
  }
  return index;
}

void BankQueues::remove(std::uint32_t slot) {
  QueuedBurst& s = slots_[slot];
  BankQueue& b = banks_[s.where.bank];
  full_[s.where.bank >> 6] &= ~(std::uint64_t{1} << (s.where.bank & 63));
  if (--b.queued == 0) busy_[s.where.bank >> 6] &= ~(std::uint64_t{1} << (s.where.bank & 63));
  b.queued_writes -= s.is_write;
  reads_ -= !s.is_write;
  --b.queued_hits;
  b.queued_hit_writes -= s.is_write;
  ++b.hits_since_act;
  s.valid = false;
  free_.push_back(slot);
  b.slots.erase(std::find(b.slots.begin(), b.slots.end(), slot));
}

void BankQueues::row_opened(std::uint32_t bank, std::uint32_t row) {
  BankQueue& b = banks_[bank];
  b.hits_since_act = 0;
  b.queued_hits = 0;
  b.queued_hit_writes = 0;
  for (std::uint32_t o : b.slots) {
    if (slots_[o].row == row) {
      ++b.queued_hits;
      b.queued_hit_writes += slots_[o].is_write;
    }
  }
}

void BankQueues::row_closed(std::uint32_t bank) {
  banks_[bank].queued_hits = 0;
  banks_[bank].queued_hit_writes = 0;
}

void BankQueues::by_age(std::vector<std::uint32_t>& out) const {
  out.clear();
  for (std::uint32_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].valid) out.push_back(i);
  std::sort(out.begin(), out.end(),
            [this](std::uint32_t a, std::uint32_t b) { return slots_[a].seq < slots_[b].seq; });
}

}  // namespace tacsim::dram
