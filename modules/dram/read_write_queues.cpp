#include "modules/dram/read_write_queues.h"

#include <algorithm>

namespace tacsim::dram {

void ReadWriteQueues::Fifo::grow() {
  std::vector<std::uint32_t> ring(std::max<std::size_t>(8, 2 * ring_.size()));
  for (std::size_t i = 0; i < size_; ++i) ring[i] = (*this)[i];
  ring_.swap(ring);
  head_ = 0;
  mask_ = ring_.size() - 1;
}

void ReadWriteQueues::Fifo::erase(std::size_t i) {
  if (i == 0) {
    head_ = (head_ + 1) & mask_;
    --size_;
    return;
  }
  for (std::size_t j = i + 1; j < size_; ++j) ring_[(head_ + j - 1) & mask_] = ring_[(head_ + j) & mask_];
  --size_;
}

ReadWriteQueues::ReadWriteQueues(const ControllerSettings& s, std::uint32_t banks)
    : pool_(std::size_t{s.read_queue_bursts} + s.write_buffer_bursts),
      banks_(banks),
      read_capacity_(s.read_queue_bursts),
      write_capacity_(s.write_buffer_bursts),
      high_(s.write_high_watermark_bursts),
      low_(s.write_low_watermark_bursts) {
  for (std::size_t p = pool_.size(); p-- > 0;) free_places_.push_back(static_cast<std::uint32_t>(p));
  read_banks_.words.assign((banks + 63) / 64, 0);
  write_banks_.words.assign((banks + 63) / 64, 0);
}

const PendingBurst* ReadWriteQueues::find(const Fifo& f, std::uint64_t address) const {
  for (std::size_t i = 0; i < f.size(); ++i)
    if (pool_[f[i]].address == address) return &pool_[f[i]];
  return nullptr;
}

void ReadWriteQueues::push(const PendingBurst& burst) {
  BankLists& lists = banks_[burst.where.bank];
  const std::uint32_t place = free_places_.back();
  free_places_.pop_back();
  PendingBurst& b = pool_[place];
  b = burst;
  b.seq = next_seq_++;
  if (!b.is_write) {
    lists.reads.push_back(place);
    read_banks_.set(b.where.bank);
    ++reads_;
    return;
  }
  b.waits_for_read = find(lists.reads, b.address) != nullptr;
  waiting_writes_ += b.waits_for_read;
  lists.writes.push_back(place);
  write_banks_.set(b.where.bank);
  ++writes_;
}

ReadWriteQueues::Next ReadWriteQueues::next_otherwise(const BankQueues& queues) const {
  const auto free_write = [](const PendingBurst& w) { return !w.waits_for_read; };
  if (draining_) {
    if (const Next w = oldest(write_banks_, true, queues, free_write); w.found) return w;
    if (waiting_writes_ == 0) return {};
    return oldest(read_banks_, false, queues, [this](const PendingBurst& r) {
      return find(banks_[r.where.bank].writes, r.address) != nullptr;
    });
  }
  return queues.reads() == 0 ? oldest(write_banks_, true, queues, free_write) : Next{};
}

void ReadWriteQueues::moved(const Next& n) {
  BankLists& lists = banks_[n.bank];
  if (n.write) {
    free_places_.push_back(lists.writes[n.index]);
    lists.writes.erase(n.index);
    if (lists.writes.empty()) write_banks_.clear(n.bank);
    --writes_;
    if (draining_ && (--drain_left_ == 0 || writes_ <= low_)) draining_ = false;
    return;
  }
  const std::uint64_t address = pool_[lists.reads[n.index]].address;
  free_places_.push_back(lists.reads[n.index]);
  lists.reads.erase(n.index);
  if (lists.reads.empty()) read_banks_.clear(n.bank);
  --reads_;
  if (waiting_writes_ > 0) read_left(n.bank, address);
}

void ReadWriteQueues::read_left(std::uint32_t bank, std::uint64_t address) {
  BankLists& lists = banks_[bank];
  if (find(lists.reads, address) != nullptr) return;  // another read of it is still queued
  for (std::size_t i = 0; i < lists.writes.size(); ++i) {
    PendingBurst& w = pool_[lists.writes[i]];
    if (w.address == address && w.waits_for_read) {
      w.waits_for_read = false;
      --waiting_writes_;
    }
  }
}

}  // namespace tacsim::dram
