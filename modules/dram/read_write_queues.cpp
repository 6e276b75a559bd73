#include "modules/dram/read_write_queues.h"

#include <algorithm>

namespace tacsim::dram {

void ReadWriteQueues::Fifo::push_back(const PendingBurst& b) {
  if (end_ == items_.size()) {
    // Slide the live bursts back to the start before growing: the buffer stays about twice the queue.
    if (head_ > 0) {
      std::copy(items_.begin() + static_cast<std::ptrdiff_t>(head_), items_.end(), items_.begin());
      end_ -= head_;
      head_ = 0;
    }
    if (end_ == items_.size()) items_.resize(2 * items_.size() + 8);
  }
  items_[end_++] = b;
}

void ReadWriteQueues::Fifo::erase(std::size_t i) {
  if (i == 0) {
    ++head_;
    return;
  }
  std::copy(items_.begin() + static_cast<std::ptrdiff_t>(head_ + i + 1),
            items_.begin() + static_cast<std::ptrdiff_t>(end_),
            items_.begin() + static_cast<std::ptrdiff_t>(head_ + i));
  --end_;
}

ReadWriteQueues::ReadWriteQueues(const ControllerSettings& s, std::uint32_t banks)
    : banks_(banks),
      read_capacity_(s.read_queue_bursts),
      write_capacity_(s.write_buffer_bursts),
      high_(s.write_high_watermark_bursts),
      low_(s.write_low_watermark_bursts) {
  read_banks_.words.assign((banks + 63) / 64, 0);
  write_banks_.words.assign((banks + 63) / 64, 0);
}

const PendingBurst* ReadWriteQueues::find(const Fifo& f, std::uint64_t address) {
  for (std::size_t i = 0; i < f.size(); ++i)
    if (f[i].address == address) return &f[i];
  return nullptr;
}

void ReadWriteQueues::push(const PendingBurst& burst) {
  BankLists& lists = banks_[burst.where.bank];
  PendingBurst b = burst;
  b.seq = next_seq_++;
  if (!b.is_write) {
    lists.reads.push_back(b);
    read_banks_.set(b.where.bank);
    ++reads_;
    return;
  }
  b.waits_for_read = find(lists.reads, b.address) != nullptr;
  waiting_writes_ += b.waits_for_read;
  lists.writes.push_back(b);
  write_banks_.set(b.where.bank);
  ++writes_;
}

ReadWriteQueues::Next ReadWriteQueues::next(const BankQueues& queues) const {
  const auto any = [](const PendingBurst&) { return true; };
  const auto free_write = [](const PendingBurst& w) { return !w.waits_for_read; };
  if (draining_) {
    if (const Next w = oldest(write_banks_, true, queues, free_write); w.found) return w;
    if (waiting_writes_ == 0) return {};
    return oldest(read_banks_, false, queues, [this](const PendingBurst& r) {
      return find(banks_[r.where.bank].writes, r.address) != nullptr;
    });
  }
  if (reads_ > 0) return oldest(read_banks_, false, queues, any);
  return queues.reads() == 0 ? oldest(write_banks_, true, queues, free_write) : Next{};
}

void ReadWriteQueues::moved(const Next& n) {
  BankLists& lists = banks_[n.bank];
  if (n.write) {
    lists.writes.erase(n.index);
    if (lists.writes.empty()) write_banks_.clear(n.bank);
    --writes_;
    if (draining_ && (--drain_left_ == 0 || writes_ <= low_)) draining_ = false;
    return;
  }
  const std::uint64_t address = lists.reads[n.index].address;
  lists.reads.erase(n.index);
  if (lists.reads.empty()) read_banks_.clear(n.bank);
  --reads_;
  if (waiting_writes_ > 0) read_left(n.bank, address);
}

void ReadWriteQueues::read_left(std::uint32_t bank, std::uint64_t address) {
  BankLists& lists = banks_[bank];
  if (find(lists.reads, address) != nullptr) return;  // another read of it is still queued
  for (std::size_t i = 0; i < lists.writes.size(); ++i) {
    PendingBurst& w = lists.writes[i];
    if (w.address == address && w.waits_for_read) {
      w.waits_for_read = false;
      --waiting_writes_;
    }
  }
}

}  // namespace tacsim::dram
