#pragma once
// The transaction queues of one channel, in front of the per-bank command queues: a read queue and a write
// buffer, as DRAMsim3 (controller.cc: read_queue_, write_buffer_) and DRAMSys (its read and write buffers)
// keep them, and as real controllers do so that reads are not stuck behind writes.
//  - Writes are posted: acknowledged once they are in the buffer; a later read of a buffered write is served
//    from it (forwarded), a later write to the same burst replaces it (merged).
//  - Writes drain in bursts: from the cycle write_high_watermark writes wait to be written (in the buffer or
//    already in their bank queues) until only write_low_watermark do, writes move on to the bank queues and
//    reads stay in the read queue (fewer read/write turnarounds on the data bus); when no read is waiting,
//    writes move on anyway. As in DRAMsim3, the reads already in the bank queues still compete, so a drain's
//    writes wait at most for those.
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

  // Moves queued bursts on, oldest first, while `take(burst)` accepts them (false: the burst's bank queue is
  // full). `reads_waiting` and `writes_waiting`: bursts already in the bank queues. A drain starts when the
  // high watermark of writes waits and ends when the low one does; during it writes move on and only the
  // reads a buffered write waits for; otherwise reads move on, and writes too when no read is queued here nor
  // waits.
  template <typename Take>
  void move_on(bool reads_waiting, std::uint32_t writes_waiting, Take take);
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
  std::uint64_t drains_ = 0;
};

template <typename Take>
void ReadWriteQueues::move_on(bool reads_waiting, std::uint32_t writes_waiting, Take take) {
  const std::size_t writes = writes_.size() + writes_waiting;
  if (draining_ && writes <= low_) draining_ = false;
  if (!draining_ && writes >= high_) {
    draining_ = true;
    ++drains_;
  }
  for (std::size_t i = 0; i < reads_.size();) {
    if ((draining_ && buffered_write(reads_[i].address) == nullptr) || !take(reads_[i])) {
      ++i;
      continue;
    }
    const std::uint64_t address = reads_[i].address;
    reads_.erase(reads_.begin() + static_cast<std::ptrdiff_t>(i));
    read_left(address);
    reads_waiting = true;
  }
  if (!draining_ && (reads_waiting || !reads_.empty())) return;
  for (std::size_t i = 0; i < writes_.size();) {
    if (writes_[i].waits_for_read || !take(writes_[i])) {
      ++i;
      continue;
    }
    writes_.erase(writes_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

}  // namespace tacsim::dram
