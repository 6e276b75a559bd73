#pragma once
// The transaction queues of one channel, in front of the per-bank command queues: a read queue and a write
// buffer, as DRAMsim3 (controller.cc: read_queue_, write_buffer_) and DRAMSys (its read and write buffers)
// keep them, and as real controllers do so that reads are not stuck behind writes.
//  - Writes are posted: acknowledged once they are in the buffer; a later read of a buffered write is served
//    from it (forwarded), a later write to the same burst replaces it (merged).
//  - Bursts move on into their bank queues at the end of a cycle, oldest first, as they find room there.
//    (DRAMsim3's ScheduleTransaction moves at most one transaction per cycle; measured against it on
//    saturating traces, that limit changes neither bandwidth nor latency by 1 %, and it would make every
//    cycle an event.)
//  - The write buffer drains in bursts: from the cycle it holds write_high_watermark writes, writes move on
//    and reads stay in the read queue (fewer read/write turnarounds on the data bus), until the writes
//    buffered at the drain's start have moved on or the buffer is down to write_low_watermark. The first
//    bound is DRAMsim3's (write_draining_ counts them down): it keeps a steady stream of writes from starving
//    reads. When no read is waiting, writes move on anyway. In the bank queues writes compete with the reads
//    there.
//  - A write never overtakes an older read of the same burst: it waits in the buffer until that read has
//    moved on (the bank queue then orders them; DRAMsim3 stops draining on such a dependency instead).
// Both queues are kept per bank, oldest first, with their arrival order (`seq`): a burst can only move on
// when its bank queue has room, so moving on is taking the oldest head among the banks with room.
#include <cstdint>
#include <vector>

#include "modules/dram/bank_queues.h"
#include "modules/dram/channel_timing.h"
#include "modules/dram/dram_params.h"

namespace tacsim::dram {

struct PendingBurst {
  std::uint64_t address = 0;  // burst-aligned
  std::uint64_t seq = 0;      // arrival order in the read queue or write buffer
  std::uint32_t txn = 0;      // reads: the engine's transaction index
  BankAddress where;
  std::uint32_t row = 0;
  std::uint32_t column = 0;
  bool is_write = false;
  bool waits_for_read = false;  // writes: an older read of the same burst is still in the read queue
};

class ReadWriteQueues {
 public:
  ReadWriteQueues(const ControllerSettings& s, std::uint32_t banks);

  bool has_room(bool is_write) const {
    return is_write ? writes_ < write_capacity_ : reads_ < read_capacity_;
  }
  std::uint32_t size() const { return reads_ + writes_; }
  std::uint32_t reads() const { return reads_; }
  bool draining() const { return draining_; }

  // The buffered write of this burst (which is in `bank`), or nullptr.
  const PendingBurst* buffered_write(std::uint32_t bank, std::uint64_t address) const {
    return writes_ == 0 ? nullptr : find(banks_[bank].writes, address);
  }
  // Requires has_room(); a write is marked waiting when an older read of its burst is queued.
  void push(const PendingBurst& burst);

  // A drain starts when the buffer holds the high watermark (it ends in moved()).
  void update_drain() {
    if (!draining_ && writes_ >= high_) {
      draining_ = true;
      ++drains_;
      drain_left_ = writes_;
    }
  }
  // Which burst moves on next into `queues`, given which bank queues have room and whether reads wait in
  // them: outside a drain the oldest read, or, when no read is queued or waiting, the oldest write; during
  // one the oldest write, or else the oldest read a buffered write waits for.
  struct Next {
    bool found = false;
    bool write = false;
    std::uint32_t bank = 0;
    std::size_t index = 0;  // in that bank's reads or writes
  };
  Next next(const BankQueues& queues) const {
    // Inline, the usual case: outside a drain with reads waiting, the oldest read that has room.
    if (!draining_ && reads_ > 0)
      return oldest(read_banks_, false, queues, [](const PendingBurst&) { return true; });
    return next_otherwise(queues);
  }
  const PendingBurst& at(const Next& n) const {
    return pool_[n.write ? banks_[n.bank].writes[n.index] : banks_[n.bank].reads[n.index]];
  }
  // Removes the burst next() named: it has moved on. A drain ends when the writes buffered at its start have
  // moved on or the buffer is down to the low watermark.
  void moved(const Next& n);
  std::uint64_t drains() const { return drains_; }  // drains started

 private:
  // One bank's reads or writes, oldest first, as places in the channel's pool of bursts: a ring, so that a
  // burst leaving at the front (the usual case) moves nothing, and the bursts themselves stay in one small
  // pool instead of a buffer per bank.
  class Fifo {
   public:
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::uint32_t operator[](std::size_t i) const { return ring_[(head_ + i) & mask_]; }
    void push_back(std::uint32_t place) {
      if (size_ == ring_.size()) grow();
      ring_[(head_ + size_++) & mask_] = place;
    }
    void erase(std::size_t i);

   private:
    void grow();
    std::vector<std::uint32_t> ring_;  // a power of two long
    std::size_t head_ = 0;
    std::size_t size_ = 0;
    std::size_t mask_ = 0;
  };
  struct BankLists {
    Fifo reads;
    Fifo writes;
  };
  // A bit per bank, 64 per word.
  struct BankSet {
    std::vector<std::uint64_t> words;
    void set(std::uint32_t b) { words[b >> 6] |= std::uint64_t{1} << (b & 63); }
    void clear(std::uint32_t b) { words[b >> 6] &= ~(std::uint64_t{1} << (b & 63)); }
  };

  Next next_otherwise(const BankQueues& queues) const;  // next() during a drain or with no read waiting
  const PendingBurst* find(const Fifo& f, std::uint64_t address) const;
  // The oldest burst of `kind` (reads or writes) that `fits` among the banks in `banks` whose queue has room.
  template <typename Fits>
  Next oldest(const BankSet& banks, bool write, const BankQueues& queues, Fits fits) const;
  void read_left(std::uint32_t bank, std::uint64_t address);  // releases the writes that waited for it

  std::vector<PendingBurst> pool_;  // every queued read and buffered write, at the place its Fifo names
  std::vector<std::uint32_t> free_places_;
  std::vector<BankLists> banks_;
  BankSet read_banks_, write_banks_;  // banks with a queued read, a queued write
  std::uint32_t reads_ = 0;
  std::uint32_t writes_ = 0;
  std::uint64_t next_seq_ = 0;
  std::uint32_t read_capacity_;
  std::uint32_t write_capacity_;
  std::uint32_t high_;
  std::uint32_t low_;
  std::uint32_t waiting_writes_ = 0;  // writes with waits_for_read
  bool draining_ = false;
  std::uint32_t drain_left_ = 0;  // writes the current drain still moves on: those buffered at its start
  std::uint64_t drains_ = 0;
};

template <typename Fits>
ReadWriteQueues::Next ReadWriteQueues::oldest(const BankSet& banks, bool write, const BankQueues& queues,
                                              Fits fits) const {
  Next best;
  std::uint64_t best_seq = 0;
  const std::vector<std::uint64_t>& full = queues.full_banks();
  for (std::size_t w = 0; w < banks.words.size(); ++w) {
    for (std::uint64_t bits = banks.words[w] & ~full[w]; bits != 0; bits &= bits - 1) {
      const auto b = static_cast<std::uint32_t>(w * 64 + static_cast<unsigned>(__builtin_ctzll(bits)));
      const Fifo& f = write ? banks_[b].writes : banks_[b].reads;
      for (std::size_t i = 0; i < f.size(); ++i) {
        const PendingBurst& x = pool_[f[i]];
        if (!fits(x)) continue;
        if (!best.found || x.seq < best_seq) {
          best = {true, write, b, i};
          best_seq = x.seq;
        }
        break;  // the oldest that fits in this bank
      }
    }
  }
  return best;
}

}  // namespace tacsim::dram
