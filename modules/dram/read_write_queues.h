#pragma once
// The transaction queues of one channel, in front of the per-bank command queues: a read queue and a write
// buffer, as DRAMsim3 (controller.cc: read_queue_, write_buffer_) and DRAMSys (its read and write buffers)
// keep them, and as real controllers do so that reads are not stuck behind writes.
//  - Writes are posted: acknowledged once they are in the buffer; a later read of a buffered write is served
//    from it (forwarded), a later write to the same burst replaces it (merged).
//  - One burst per cycle moves on into its bank queue, the oldest that finds room there, as DRAMsim3's
//    ScheduleTransaction moves one transaction per cycle into its command queues.
//  - The write buffer drains in bursts: from the cycle it holds write_high_watermark writes, writes move on
//  and
//    reads stay in the read queue (fewer read/write turnarounds on the data bus), until the writes buffered
//    at the drain's start have moved on or the buffer is down to write_low_watermark. The first bound is
//    DRAMsim3's (write_draining_ counts them down): it keeps a steady stream of writes from starving reads.
//    When no read is waiting, writes move on anyway. In the bank queues writes compete with the reads there.
//  - A write never overtakes an older read of the same burst: it waits in the buffer until that read has
//    moved on (the bank queue then orders them; DRAMsim3 stops draining on such a dependency instead).
// Bursts are named by their burst-aligned address; both queues hold them oldest first.
#include <cstdint>
#include <vector>

#include "modules/dram/channel_timing.h"
#include "modules/dram/dram_params.h"

namespace tacsim::dram {

struct PendingBurst {
  std::uint64_t address = 0;  // burst-aligned
  std::uint32_t txn = 0;      // reads: the engine's transaction index
  BankAddress where;
  std::uint32_t row = 0;
  std::uint32_t column = 0;
  bool is_write = false;
  bool waits_for_read = false;  // writes: an older read of the same burst is still in the read queue
};

class ReadWriteQueues {
 public:
  explicit ReadWriteQueues(const ControllerSettings& s);

  bool has_room(bool is_write) const {
    return is_write ? writes_.size() < write_capacity_ : reads_.size() < read_capacity_;
  }
  std::uint32_t size() const { return static_cast<std::uint32_t>(reads_.size() + writes_.size()); }
  bool draining() const { return draining_; }

  // The buffered write of this burst, or nullptr.
  const PendingBurst* buffered_write(std::uint64_t address) const;
  // Requires has_room(); a write is marked waiting when an older read of its burst is queued.
  void push(const PendingBurst& burst);

  // A drain starts when the buffer holds the high watermark (it ends in moved()).
  void update_drain() {
    if (!draining_ && writes_.size() >= high_) {
      draining_ = true;
      ++drains_;
      drain_left_ = writes_.size();
    }
  }
  // The burst that moves on next, given which bank queues have room (`room(burst)`) and whether reads wait in
  // the bank queues: outside a drain the oldest read, or, when no read is queued or waiting, the oldest
  // write; during one the oldest write, or else the oldest read a buffered write waits for. nullptr: none
  // can.
  template <typename Room>
  const PendingBurst* next(bool reads_waiting, Room room) const;
  // Removes `burst` (a pointer next() returned): it has moved on. A drain ends when the writes buffered at
  // its start have moved on or the buffer is down to the low watermark.
  void moved(const PendingBurst* burst);
  std::uint64_t drains() const { return drains_; }  // drains started

 private:
  void read_left(std::uint64_t address);  // releases the writes that waited for it

  std::vector<PendingBurst> reads_;
  std::vector<PendingBurst> writes_;
  std::uint32_t read_capacity_;
  std::uint32_t write_capacity_;
  std::uint32_t high_;
  std::uint32_t low_;
  bool draining_ = false;
  std::size_t drain_left_ = 0;  // writes the current drain still moves on: those buffered at its start
  std::uint64_t drains_ = 0;
};

template <typename Room>
const PendingBurst* ReadWriteQueues::next(bool reads_waiting, Room room) const {
  auto first_write = [&]() -> const PendingBurst* {
    for (const PendingBurst& w : writes_)
      if (!w.waits_for_read && room(w)) return &w;
    return nullptr;
  };
  if (draining_) {
    if (const PendingBurst* w = first_write()) return w;
    for (const PendingBurst& r : reads_)
      if (buffered_write(r.address) != nullptr && room(r)) return &r;
    return nullptr;
  }
  for (const PendingBurst& r : reads_)
    if (room(r)) return &r;
  return reads_.empty() && !reads_waiting ? first_write() : nullptr;
}

}  // namespace tacsim::dram
