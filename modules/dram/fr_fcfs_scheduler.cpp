#include <algorithm>
#include <vector>

#include "modules/dram/bank_queues.h"
#include "modules/dram/channel_timing.h"
#include "modules/dram/dram_params.h"
#include "modules/dram/refresh.h"
#include "modules/dram/scheduler.h"

namespace tacsim::dram {
namespace {

// FR-FCFS (Rixner et al., ISCA 2000), as DRAMsim3 and DRAMSys schedule: among the commands legal now, the
// oldest row hit (RD/WR) first, else the oldest row command (ACT or PRE). Two guards keep it fair: a PRE
// never closes a row that queued hits still want, unless the row has served row_hit_cap hits since it opened
// while another row waits; from then on, the row's hits wait for that conflict (DRAMsim3 caps at 4 hits).
//
// The event path keeps, per bank, the oldest eligible read hit, write hit and row command: the bursts of a
// bank that need the same command share its earliest cycle, so FR-FCFS only ever picks one of those three.
// A command changes the summary of its own bank and, by kind, the earliest cycles of its rank's ACT waiters
// (ACT: tRRD, tFAW), PRE waiters (PRE: tPPD) or every bank's column waiters (RD/WR: data bus, tCCD, tWTR);
// REF and refresh draining touch a whole rank. pick() never reads these caches, so the differential test
// checks these rules.
class FrFcfsScheduler : public Scheduler {
 public:
  explicit FrFcfsScheduler(const Params& p)
      : hit_cap_(p.row_hit_cap),
        banks_per_rank_(p.bankgroups * p.banks_per_group),
        cache_(std::size_t{p.ranks} * banks_per_rank_),
        bank_stale_(cache_.size(), 1),
        need_stale_(p.ranks, 0xff) {
    by_age_.reserve(cache_.size() * p.bank_queue_bursts);
  }

  Pick pick(const ChannelView& v, Cycle t, CommandBus bus) override;
  Pick next(const ChannelView& v, Cycle from, CommandBus bus) override;
  void bank_changed(std::uint32_t bank) override { bank_stale_[bank] = 1; }
  void timing_changed(std::uint32_t rank, Need waiters) override {
    need_stale_[rank] |= static_cast<std::uint8_t>(1u << static_cast<unsigned>(waiters));
    any_need_stale_ = true;
  }
  void rank_changed(std::uint32_t rank) override {
    need_stale_[rank] = 0xff;
    any_need_stale_ = true;
  }
  void issued(std::uint32_t) override {}

 private:
  struct BankCache {
    std::uint32_t read_slot = kNoSlot;
    std::uint32_t write_slot = kNoSlot;
    std::uint32_t row_slot = kNoSlot;
    Need row_need = Need::kNone;
    Cycle read_at = 0;
    Cycle write_at = 0;
    Cycle row_at = 0;
    std::uint64_t read_seq = 0;  // the slots' ages, so that ranking them needs no look-up
    std::uint64_t write_seq = 0;
    std::uint64_t row_seq = 0;
  };

  Need classify(const ChannelView& v, const QueuedBurst& s, Cycle& earliest) const;
  void summarize(const ChannelView& v, std::uint32_t bank);

  std::uint32_t hit_cap_;
  std::uint32_t banks_per_rank_;
  std::vector<BankCache> cache_;
  std::vector<std::uint8_t> bank_stale_;  // per bank: recompute its summary
  std::vector<std::uint8_t> need_stale_;  // per rank: bit 1 << Need, refresh those earliest cycles
  bool any_need_stale_ = true;
  std::vector<std::uint32_t> by_age_;
};

// What the burst needs next and the earliest cycle that command is legal; kNone while it may not be scheduled
// at all (blocked by an older access to its column, its rank draining for refresh, its row capped, or its PRE
// would close a row that still has queued hits).
Need FrFcfsScheduler::classify(const ChannelView& v, const QueuedBurst& s, Cycle& earliest) const {
  if (v.refresh.draining(s.where.rank) || v.queues.blocked(s)) return Need::kNone;
  const BankQueue& q = v.queues.bank(s.where.bank);
  if (!v.timing.open(s.where.bank)) {
    earliest = v.timing.act_earliest(s.where);
    return Need::kAct;
  }
  const bool capped = q.hits_since_act >= hit_cap_;
  if (v.timing.open_row(s.where.bank) == s.row) {
    if (capped && q.queued > q.queued_hits) return Need::kNone;  // let the waiting conflict in
    earliest = v.timing.column_earliest(s.where, s.is_write);
    return Need::kColumn;
  }
  if (q.queued_hits > 0 && !capped) return Need::kNone;
  earliest = v.timing.pre_earliest(s.where.bank, s.where.rank);
  return Need::kPre;
}

Pick FrFcfsScheduler::pick(const ChannelView& v, Cycle t, CommandBus bus) {
  Pick other;
  v.queues.by_age(by_age_);
  for (std::uint32_t slot : by_age_) {
    Cycle e = 0;
    const Need need = classify(v, v.queues.burst(slot), e);
    if (need == Need::kNone || e > t || !on_bus(need, bus)) continue;
    if (need == Need::kColumn) return {slot, need, t};  // the order is oldest first: the oldest ready hit
    if (other.slot == kNoSlot) other = {slot, need, t};
  }
  return other;
}

// The oldest eligible burst of each kind in bank b; the same eligibility rules as classify().
void FrFcfsScheduler::summarize(const ChannelView& v, std::uint32_t b) {
  BankCache& c = cache_[b];
  c = BankCache{};
  const BankQueue& q = v.queues.bank(b);
  const std::uint32_t rank = v.timing.rank_of(b);
  if (q.queued == 0 || v.refresh.draining(rank)) return;
  const bool open = v.timing.open(b);
  const bool capped = q.hits_since_act >= hit_cap_;
  const bool hits_ok = open && !(capped && q.queued > q.queued_hits);
  bool want_read = hits_ok && q.queued_hits > q.queued_hit_writes;
  bool want_write = hits_ok && q.queued_hit_writes > 0;
  bool want_row = q.queued > q.queued_hits && (!open || q.queued_hits == 0 || capped);
  for (std::uint32_t slot : q.slots) {
    if (!want_read && !want_write && !want_row) break;
    const QueuedBurst& s = v.queues.burst(slot);
    if (v.queues.blocked(s)) continue;
    if (open && s.row == v.timing.open_row(b)) {
      if (s.is_write && want_write) {
        c.write_slot = slot;
        want_write = false;
      } else if (!s.is_write && want_read) {
        c.read_slot = slot;
        want_read = false;
      }
    } else if (want_row) {
      c.row_slot = slot;
      want_row = false;
    }
  }
  if (c.read_slot != kNoSlot) {
    c.read_at = v.timing.column_earliest(v.queues.burst(c.read_slot).where, false);
    c.read_seq = v.queues.burst(c.read_slot).seq;
  }
  if (c.write_slot != kNoSlot) {
    c.write_at = v.timing.column_earliest(v.queues.burst(c.write_slot).where, true);
    c.write_seq = v.queues.burst(c.write_slot).seq;
  }
  if (c.row_slot != kNoSlot) {
    c.row_seq = v.queues.burst(c.row_slot).seq;
    c.row_need = open ? Need::kPre : Need::kAct;
    c.row_at =
        open ? v.timing.pre_earliest(b, rank) : v.timing.act_earliest(v.queues.burst(c.row_slot).where);
  }
}

// FR-FCFS over the bank summaries: the earliest cycle any command is ready (no earlier than `from`), and at
// that cycle the oldest ready column command, else the oldest ready row command.
Pick FrFcfsScheduler::next(const ChannelView& v, Cycle from, CommandBus bus) {
  Pick best;
  std::uint64_t best_seq = 0;
  Cycle column_at = kNever, row_at = kNever;  // the earliest command of each bus, for Pick::other_at
  auto consider = [&](std::uint32_t slot, Cycle at, Need need, std::uint64_t seq) {
    if (slot == kNoSlot || !on_bus(need, bus)) return;
    at = std::max(at, from);
    Cycle& bus_at = need == Need::kColumn ? column_at : row_at;
    bus_at = std::min(bus_at, at);
    if (at < best.at) {
      best.at = at;
    } else {
      const bool column = need == Need::kColumn;
      const bool best_column = best.need == Need::kColumn;
      if (at > best.at || (best_column && !column) || (column == best_column && seq > best_seq)) return;
    }
    best.slot = slot;
    best.need = need;
    best_seq = seq;
  };
  // Only banks with queued bursts can act; an idle bank's summary is redone when a burst arrives
  // (bank_changed). The visiting order does not matter: consider() breaks every tie by the unique seq.
  constexpr unsigned kColumnBit = 1u << static_cast<unsigned>(Need::kColumn);
  constexpr unsigned kActBit = 1u << static_cast<unsigned>(Need::kAct);
  constexpr unsigned kPreBit = 1u << static_cast<unsigned>(Need::kPre);
  v.queues.for_each_busy_bank([&](std::uint32_t b) {
    const std::uint32_t r = v.timing.rank_of(b);
    const std::uint8_t bits = need_stale_[r];
    BankCache& c = cache_[b];
    if (bank_stale_[b] || bits == 0xff) {
      summarize(v, b);
      bank_stale_[b] = 0;
    } else if (bits != 0) {
      if (bits & kColumnBit) {
        if (c.read_slot != kNoSlot)
          c.read_at = v.timing.column_earliest(v.queues.burst(c.read_slot).where, false);
        if (c.write_slot != kNoSlot)
          c.write_at = v.timing.column_earliest(v.queues.burst(c.write_slot).where, true);
      }
      if (c.row_need == Need::kAct && (bits & kActBit))
        c.row_at = v.timing.act_earliest(v.queues.burst(c.row_slot).where);
      if (c.row_need == Need::kPre && (bits & kPreBit)) c.row_at = v.timing.pre_earliest(b, r);
    }
    consider(c.read_slot, c.read_at, Need::kColumn, c.read_seq);
    consider(c.write_slot, c.write_at, Need::kColumn, c.write_seq);
    consider(c.row_slot, c.row_at, c.row_need, c.row_seq);
  });
  if (any_need_stale_) {
    for (std::uint8_t& bits : need_stale_) bits = 0;
    any_need_stale_ = false;
  }
  best.other_at = best.need == Need::kColumn ? row_at : column_at;
  return best;
}

}  // namespace

std::unique_ptr<Scheduler> make_fr_fcfs_scheduler(const Params& params) {
  return std::make_unique<FrFcfsScheduler>(params);
}

}  // namespace tacsim::dram
