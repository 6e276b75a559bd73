#include <algorithm>
#include <vector>

#include "modules/dram/bank_queues.h"
#include "modules/dram/channel_timing.h"
#include "modules/dram/dram_params.h"
#include "modules/dram/refresh.h"
#include "modules/dram/scheduler.h"

namespace tacsim::dram {
namespace {

// DRAMsim3's command scheduling (command_queue.cc, GetCommandToIssue with PER_BANK queues): the bank queues
// take turns, starting after the one that issued last, and each offers the first command in its queue order
// that is legal now. A PRE is offered only for the first burst of its bank's queue, and only when no later
// burst of the queue hits the open row or the row has served row_hit_cap hits (ArbitratePrecharge, which caps
// at 4). It is here so that tacsim can be compared with DRAMsim3 scheduler for scheduler; fr-fcfs is the
// default, and keeps no caches: what a bank offers depends on the queue and the device state, never on the
// cycle, so next() finds the cycle by trying pick() where commands become legal.
class BankRoundRobinScheduler : public Scheduler {
 public:
  explicit BankRoundRobinScheduler(const Params& p)
      : hit_cap_(p.row_hit_cap), banks_(p.ranks * p.bankgroups * p.banks_per_group) {}

  Pick pick(const ChannelView& v, Cycle t, CommandBus bus) override { return choose(v, t, bus); }
  // What pick() returns can only change at a cycle where an offered command becomes legal: try those in
  // order. No command of a bus is legal before the earliest of its offered commands (Pick::other_at).
  Pick next(const ChannelView& v, Cycle from, CommandBus bus) override {
    cycles_.clear();
    Cycle column_at = kNever, row_at = kNever;
    v.queues.for_each_busy_bank([&](std::uint32_t b) {
      for (std::uint32_t slot : v.queues.bank(b).slots) {
        Cycle e = 0;
        const Need need = classify(v, slot, e);
        if (need == Need::kNone) continue;
        e = std::max(e, from);
        cycles_.push_back(e);
        Cycle& bus_at = need == Need::kColumn ? column_at : row_at;
        bus_at = std::min(bus_at, e);
      }
    });
    std::sort(cycles_.begin(), cycles_.end());
    for (std::size_t i = 0; i < cycles_.size(); ++i) {
      if (i > 0 && cycles_[i] == cycles_[i - 1]) continue;
      Pick p = choose(v, cycles_[i], bus);
      if (p.slot == kNoSlot) continue;
      p.other_at = p.need == Need::kColumn ? row_at : column_at;
      return p;
    }
    return {};
  }
  void bank_changed(std::uint32_t) override {}
  void timing_changed(std::uint32_t, Need) override {}
  void rank_changed(std::uint32_t) override {}
  void issued(std::uint32_t bank) override { last_ = bank; }

 private:
  // What the burst in `slot` needs, and its earliest cycle; kNone when its bank may not offer it.
  Need classify(const ChannelView& v, std::uint32_t slot, Cycle& earliest) const {
    const QueuedBurst& s = v.queues.burst(slot);
    if (v.refresh.draining(s.where.rank) || v.queues.blocked(s)) return Need::kNone;
    const BankQueue& q = v.queues.bank(s.where.bank);
    if (!v.timing.open(s.where.bank)) {
      earliest = v.timing.act_earliest(s.where);
      return Need::kAct;
    }
    if (v.timing.open_row(s.where.bank) == s.row) {
      earliest = v.timing.column_earliest(s.where, s.is_write);
      return Need::kColumn;
    }
    // The queue holds its bank's bursts oldest first: hits to the open row after this one count, and only the
    // first burst may close the row.
    if (q.slots.front() != slot || (q.queued_hits > 0 && q.hits_since_act < hit_cap_)) return Need::kNone;
    earliest = v.timing.pre_earliest(s.where.bank, s.where.rank);
    return Need::kPre;
  }

  Pick choose(const ChannelView& v, Cycle t, CommandBus bus) const {
    for (std::uint32_t i = 1; i <= banks_; ++i) {
      const std::uint32_t b = (last_ + i) % banks_;
      for (std::uint32_t slot : v.queues.bank(b).slots) {
        Cycle e = 0;
        const Need need = classify(v, slot, e);
        // A second command in the cycle (HBM's other bus) is the next ready one in turn, offered only when it
        // is for that bus (DRAMsim3 Controller::ClockTick with hbm_dual_cmd).
        if (need != Need::kNone && e <= t) return on_bus(need, bus) ? Pick{slot, need, t} : Pick{};
      }
    }
    return {};
  }

  std::uint32_t hit_cap_;
  std::uint32_t banks_;
  std::uint32_t last_ = 0;  // the bank queue that issued last
  std::vector<Cycle> cycles_;
};

}  // namespace

std::unique_ptr<Scheduler> make_bank_round_robin_scheduler(const Params& params) {
  return std::make_unique<BankRoundRobinScheduler>(params);
}

}  // namespace tacsim::dram
