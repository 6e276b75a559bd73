#include "modules/dram/read_write_queues.h"

namespace tacsim::dram {

ReadWriteQueues::ReadWriteQueues(const ControllerSettings& s)
    : read_capacity_(s.read_queue_bursts),
      write_capacity_(s.write_buffer_bursts),
      high_(s.write_high_watermark_bursts),
      low_(s.write_low_watermark_bursts) {
  reads_.reserve(read_capacity_);
  writes_.reserve(write_capacity_);
}

const PendingBurst* ReadWriteQueues::buffered_write(std::uint64_t address) const {
  for (const PendingBurst& w : writes_)
    if (w.address == address) return &w;
  return nullptr;
}

void ReadWriteQueues::push(const PendingBurst& burst) {
  if (!burst.is_write) {
    reads_.push_back(burst);
    return;
  }
  writes_.push_back(burst);
  for (const PendingBurst& r : reads_) writes_.back().waits_for_read |= r.address == burst.address;
}

void ReadWriteQueues::moved(const PendingBurst* burst) {
  if (burst->is_write) {
    writes_.erase(writes_.begin() + (burst - writes_.data()));
    if (draining_ && (--drain_left_ == 0 || writes_.size() <= low_)) draining_ = false;
    return;
  }
  const std::uint64_t address = burst->address;
  reads_.erase(reads_.begin() + (burst - reads_.data()));
  read_left(address);
}

void ReadWriteQueues::read_left(std::uint64_t address) {
  for (const PendingBurst& r : reads_)
    if (r.address == address) return;  // another read of it is still queued
  for (PendingBurst& w : writes_)
    if (w.address == address) w.waits_for_read = false;
}

}  // namespace tacsim::dram
