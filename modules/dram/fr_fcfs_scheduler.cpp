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
// Their earliest cycles are kept in two parts (channel_timing.h): the bank's own, redone when the engine
// reports the bank changed (a command to it, an arrival, a REF of its rank), and the bank group's and rank's,
// redone for all groups at once after any command raised them. pick() never reads these caches, so the
// differential test checks these rules.
class FrFcfsScheduler : public Scheduler {
 public:
  explicit FrFcfsScheduler(const Params& p)
      : hit_cap_(p.row_hit_cap),
        banks_per_rank_(p.bankgroups * p.banks_per_group),
        banks_per_group_(p.banks_per_group),
        cache_(std::size_t{p.ranks} * banks_per_rank_),
        groups_(std::size_t{p.ranks} * p.bankgroups) {
    by_age_.reserve(cache_.size() * p.bank_queue_bursts);
    for (std::uint32_t b = 0; b < cache_.size(); ++b) {
      cache_[b].rank = b / banks_per_rank_;
      cache_[b].group = b / banks_per_group_;
    }
  }

  Pick pick(const ChannelView& v, Cycle t, CommandBus bus) override;
  Pick next(const ChannelView& v, Cycle from, CommandBus bus) override;
  void bank_changed(std::uint32_t bank) override { cache_[bank].stale = true; }
  void timing_changed(std::uint32_t, Need) override { ++epoch_; }
  void rank_changed(std::uint32_t rank) override {
    for (std::uint32_t b = rank * banks_per_rank_; b < (rank + 1) * banks_per_rank_; ++b)
      cache_[b].stale = true;
    ++epoch_;
  }
  void issued(std::uint32_t) override {}

 private:
  // One cache line per bank (64 bytes, aligned).
  struct alignas(64) BankCache {
    std::uint32_t read_slot = kNoSlot;
    std::uint32_t write_slot = kNoSlot;
    std::uint32_t row_slot = kNoSlot;
    std::uint32_t group = 0;
    std::uint32_t rank = 0;
    Need row_need = Need::kNone;
    bool stale = true;           // recompute the summary
    Cycle column_ok = 0;         // the bank's own part of its column commands' earliest cycle
    Cycle row_ok = 0;            // of its row command's (ACT or PRE)
    std::uint64_t read_seq = 0;  // the slots' ages, so that ranking them needs no look-up
    std::uint64_t write_seq = 0;
    std::uint64_t row_seq = 0;
  };
  // The shared parts of a bank group's earliest cycles: reads, writes, ACTs, and its rank's PREs; current
  // while `epoch` is epoch_. Beside each other, so that a bank's visit touches few cache lines. (Redoing only
  // the kind a command raised costs fewer instructions but more time on random traffic: the extra branches
  // mispredict.)
  struct GroupBounds {
    std::uint64_t epoch = 0;
    Cycle read = 0;
    Cycle write = 0;
    Cycle act = 0;
    Cycle pre = 0;
  };

  Need classify(const ChannelView& v, const QueuedBurst& s, Cycle& earliest) const;
  void summarize(const ChannelView& v, std::uint32_t bank);
  template <CommandBus kBus>
  Pick next_on(const ChannelView& v, Cycle from);

  std::uint32_t hit_cap_;
  std::uint32_t banks_per_rank_;
  std::uint32_t banks_per_group_;
  std::vector<BankCache> cache_;
  std::vector<GroupBounds> groups_;
  std::uint64_t epoch_ = 1;
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
  BankCache& c = cache_[b];  // its rank and group are fixed; the rest is read only with a slot set
  c.read_slot = kNoSlot;
  c.write_slot = kNoSlot;
  c.row_slot = kNoSlot;
  c.stale = false;
  const BankQueue& q = v.queues.bank(b);
  if (q.queued == 0 || v.refresh.draining(c.rank)) return;
  const bool open = v.timing.open(b);
  const bool capped = q.hits_since_act >= hit_cap_;
  const bool hits_ok = open && !(capped && q.queued > q.queued_hits);
  bool want_read = hits_ok && q.queued_hits > q.queued_hit_writes;
  bool want_write = hits_ok && q.queued_hit_writes > 0;
  bool want_row = q.queued > q.queued_hits && (!open || q.queued_hits == 0 || capped);
  const std::uint32_t open_row = v.timing.open_row(b);
  for (std::uint32_t slot : q.slots) {
    if (!want_read && !want_write && !want_row) break;
    const QueuedBurst& s = v.queues.burst(slot);
    if (v.queues.blocked(s)) continue;
    if (open && s.row == open_row) {
      if (s.is_write && want_write) {
        c.write_slot = slot;
        c.write_seq = s.seq;
        want_write = false;
      } else if (!s.is_write && want_read) {
        c.read_slot = slot;
        c.read_seq = s.seq;
        want_read = false;
      }
    } else if (want_row) {
      c.row_slot = slot;
      c.row_seq = s.seq;
      want_row = false;
    }
  }
  c.column_ok = v.timing.bank_column_ok(b);
  if (c.row_slot != kNoSlot) {
    c.row_need = open ? Need::kPre : Need::kAct;
    c.row_ok = open ? v.timing.bank_pre_ok(b) : v.timing.bank_act_ok(b);
  }
}

// FR-FCFS over the bank summaries: the earliest cycle any command is ready (no earlier than `from`), and at
// that cycle the oldest ready column command, else the oldest ready row command.
Pick FrFcfsScheduler::next(const ChannelView& v, Cycle from, CommandBus bus) {
  switch (bus) {
    case CommandBus::kAny:
      return next_on<CommandBus::kAny>(v, from);
    case CommandBus::kRow:
      return next_on<CommandBus::kRow>(v, from);
    case CommandBus::kColumn:
      return next_on<CommandBus::kColumn>(v, from);
  }
  return {};
}

// next() for one bus, known at compile time: the engine asks for kAny at every event.
template <CommandBus kBus>
Pick FrFcfsScheduler::next_on(const ChannelView& v, Cycle from) {
  // The best column command and the best row command apart, each the earliest and then the oldest; their
  // cycles are also each bus's earliest command, for Pick::other_at.
  struct Best {
    std::uint32_t slot = kNoSlot;
    Need need = Need::kNone;
    Cycle at = kNever;
    std::uint64_t seq = 0;
    void consider(std::uint32_t s, Cycle a, Need n, std::uint64_t q) {
      // Without branches: on random traffic which candidate wins is unpredictable.
      const bool better = (a < at) | ((a == at) & (q < seq));
      slot = better ? s : slot;
      need = better ? n : need;
      at = better ? a : at;
      seq = better ? q : seq;
    }
  };
  Best column, row;
  constexpr bool kColumns = kBus != CommandBus::kRow;
  constexpr bool kRows = kBus != CommandBus::kColumn;
  // Only banks with queued bursts can act; an idle bank's summary is redone when a burst arrives
  // (bank_changed). The visiting order does not matter: every tie is broken by the unique seq.
  v.queues.for_each_busy_bank([&](std::uint32_t b) {
    if (cache_[b].stale) summarize(v, b);
    const BankCache& c = cache_[b];
    GroupBounds& g = groups_[c.group];
    if (g.epoch != epoch_) {
      g.epoch = epoch_;
      g.read = v.timing.group_column_ok(c.group, c.rank, false);
      g.write = v.timing.group_column_ok(c.group, c.rank, true);
      g.act = v.timing.group_act_ok(c.group, c.rank);
      g.pre = v.timing.rank_pre_ok(c.rank);
    }
    if (kColumns && c.read_slot != kNoSlot)
      column.consider(c.read_slot, std::max({c.column_ok, g.read, from}), Need::kColumn, c.read_seq);
    if (kColumns && c.write_slot != kNoSlot)
      column.consider(c.write_slot, std::max({c.column_ok, g.write, from}), Need::kColumn, c.write_seq);
    if (kRows && c.row_slot != kNoSlot)
      row.consider(c.row_slot, std::max({c.row_ok, c.row_need == Need::kAct ? g.act : g.pre, from}),
                   c.row_need, c.row_seq);
  });
  // At the same cycle a column command goes before a row command.
  Pick best;
  if (column.slot != kNoSlot && column.at <= row.at) {
    best = {column.slot, Need::kColumn, column.at, row.at};
  } else if (row.slot != kNoSlot) {
    best = {row.slot, row.need, row.at, column.at};
  } else {
    best.other_at = column.at;
  }
  return best;
}

}  // namespace

std::unique_ptr<Scheduler> make_fr_fcfs_scheduler(const Params& params) {
  return std::make_unique<FrFcfsScheduler>(params);
}

}  // namespace tacsim::dram
