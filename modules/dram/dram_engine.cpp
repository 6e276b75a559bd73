#include "modules/dram/dram_engine.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "modules/common/error.h"
#include "modules/dram/bank_queues.h"
#include "modules/dram/channel_timing.h"
#include "modules/dram/refresh.h"
#include "modules/dram/scheduler.h"

namespace tacsim::dram {
namespace {

// Heap order for pending completions: the earliest finish on top, acceptance order breaking ties.
constexpr auto kFinishesLater = [](const auto& a, const auto& b) {
  return a.finish != b.finish ? a.finish > b.finish : a.order > b.order;
};

const Params& validated(const Params& params) {
  const std::string error = params.validate();
  if (!error.empty()) throw InputError("dram: " + error);
  return params;
}

}  // namespace

// One channel: its front end (the bursts of one transaction, moving into the queue as slots free up), the
// queue, the devices' timing state, refresh and the scheduler. step() asks the scheduler afresh every cycle
// (pick()); advance_to() keeps the scheduler's next pick and the channel's next event until something changes
// (stale).
struct Engine::Channel {
  Channel(std::uint32_t index, const Params& p)
      : index(index),
        ranks(p.ranks),
        queues(p.ranks * p.bankgroups * p.banks_per_group, p.queue_depth_bursts),
        timing(p),
        refresh(p, p.refresh_enabled),
        scheduler(make_scheduler(p.scheduler, p)) {}

  ChannelView view() const { return {queues, timing, refresh}; }
  void mark_bank(std::uint32_t b) {
    scheduler->bank_changed(b);
    stale = true;
  }
  void mark_need(std::uint32_t rank, Need n) {
    scheduler->timing_changed(rank, n);
    stale = true;
  }
  void mark_rank(std::uint32_t r) {
    scheduler->rank_changed(r);
    stale = true;
  }
  void mark_all() {
    for (std::uint32_t r = 0; r < ranks; ++r) scheduler->rank_changed(r);
    stale = true;
  }

  std::uint32_t index;
  std::uint32_t ranks;
  std::vector<Location> staged;
  std::size_t staged_next = 0;
  std::uint32_t staged_txn = 0;
  bool staged_is_write = false;

  BankQueues queues;
  ChannelTiming timing;
  Refresh refresh;
  std::unique_ptr<Scheduler> scheduler;

  mutable bool stale = true;  // something changed since `next` and `chosen` were computed
  mutable Cycle next = 0;     // earliest cycle this channel can act, as of the last recache()
  mutable Pick chosen;        // what the scheduler issues at chosen.at, unless refresh intervenes
};

const char* to_string(CommandType type) {
  switch (type) {
    case CommandType::kAct:
      return "ACT";
    case CommandType::kPre:
      return "PRE";
    case CommandType::kRd:
      return "RD";
    case CommandType::kWr:
      return "WR";
    case CommandType::kRda:
      return "RDA";
    case CommandType::kWra:
      return "WRA";
    case CommandType::kRef:
      return "REF";
  }
  return "?";
}

const std::vector<CounterInfo>& counter_infos() {
  static const std::vector<CounterInfo> table = {
      {"read_transactions", "transactions", "read transactions completed", &Counters::read_transactions},
      {"write_transactions", "transactions", "write transactions completed", &Counters::write_transactions},
      {"read_bursts", "bursts", "read column commands issued", &Counters::read_bursts},
      {"write_bursts", "bursts", "write column commands issued", &Counters::write_bursts},
      {"row_hits", "bursts", "bursts served from an already open row", &Counters::row_hits},
      {"row_misses", "bursts", "bursts that needed an ACT on a closed bank", &Counters::row_misses},
      {"row_conflicts", "bursts", "bursts that needed a PRE of another row", &Counters::row_conflicts},
      {"act_commands", "commands", "ACT commands", &Counters::act_commands},
      {"pre_commands", "commands", "explicit PRE commands", &Counters::pre_commands},
      {"rd_commands", "commands", "RD commands", &Counters::rd_commands},
      {"wr_commands", "commands", "WR commands", &Counters::wr_commands},
      {"rda_commands", "commands", "RD with auto-precharge", &Counters::rda_commands},
      {"wra_commands", "commands", "WR with auto-precharge", &Counters::wra_commands},
      {"ref_commands", "commands", "all-bank REF commands", &Counters::ref_commands},
      {"data_bus_busy_cycles", "cycles", "data-bus cycles carrying data, summed over channels",
       &Counters::data_bus_busy_cycles},
      {"refresh_cycles", "cycles", "tRFC per REF, summed over ranks", &Counters::refresh_cycles},
      {"read_latency_sum_cycles", "cycles", "arrival to last data, summed over reads",
       &Counters::read_latency_sum_cycles},
      {"write_latency_sum_cycles", "cycles", "arrival to last data, summed over writes",
       &Counters::write_latency_sum_cycles},
      {"queue_occupancy_sum", "burst-cycles", "queued bursts summed over cycles",
       &Counters::queue_occupancy_sum},
      {"queue_occupancy_max", "bursts", "most bursts queued at once", &Counters::queue_occupancy_max},
  };
  return table;
}

Engine::Engine(const Params& params)
    : params_(validated(params)), map_(params_), page_policy_(make_page_policy(params_.page_policy)) {
  channels_.reserve(params_.channels);
  for (std::uint32_t c = 0; c < params_.channels; ++c) channels_.emplace_back(c, params_);
}

Engine::~Engine() = default;

bool Engine::try_enqueue(const Transaction& txn, Cycle now) {
  if (now < next_cycle_) {
    throw std::logic_error("dram: try_enqueue at cycle " + std::to_string(now) + " but cycles up to " +
                           std::to_string(next_cycle_ - 1) + " are already processed");
  }
  if (txn.bytes == 0)
    throw std::invalid_argument("dram: transaction " + std::to_string(txn.id) + " has 0 bytes");
  if (txn.address >= map_.capacity_bytes() || txn.bytes > map_.capacity_bytes() - txn.address) {
    throw std::out_of_range("dram: transaction " + std::to_string(txn.id) + " at " +
                            std::to_string(txn.address) + " + " + std::to_string(txn.bytes) +
                            " bytes is beyond the capacity of " + std::to_string(map_.capacity_bytes()) +
                            " bytes");
  }
  if (now > next_cycle_) advance_to(now - 1);

  if (has_refused_ && txn.id == refused_.id && txn.address == refused_.address &&
      txn.bytes == refused_.bytes && txn.is_write == refused_.is_write &&
      !channels_[refused_channel_].staged.empty()) {
    return false;  // the same front end is still busy
  }
  const std::uint64_t bb = map_.burst_bytes();
  const std::uint64_t first = txn.address / bb * bb;
  const std::uint64_t last = (txn.address + txn.bytes - 1) / bb * bb;
  scratch_.clear();
  for (std::uint64_t a = first; a <= last; a += bb) {
    scratch_.push_back(map_.decode(a));
    if (!channels_[scratch_.back().channel].staged.empty()) {
      refused_ = txn;
      refused_channel_ = scratch_.back().channel;
      has_refused_ = true;
      return false;
    }
  }
  has_refused_ = false;

  account_occupancy(now);
  std::uint32_t index;
  if (free_txns_.empty()) {
    index = static_cast<std::uint32_t>(txns_.size());
    txns_.emplace_back();
  } else {
    index = free_txns_.back();
    free_txns_.pop_back();
  }
  Txn& x = txns_[index];
  x = Txn{txn.id, next_order_++, now, 0, static_cast<std::uint32_t>(scratch_.size()), 0, txn.is_write};
  for (const Location& loc : scratch_) {
    Channel& ch = channels_[loc.channel];
    ch.staged.push_back(loc);
    ch.staged_txn = index;
    ch.staged_is_write = txn.is_write;
  }
  staged_ += scratch_.size();
  for (Channel& ch : channels_) {
    if (!ch.staged.empty()) transfer_staged(ch);
  }
  return true;
}

void Engine::advance_to(Cycle now) {
  if (now == kNever) throw std::logic_error("dram: advance_to(kNever) would never return");
  if (now < next_cycle_) return;
  for (;;) {
    const Cycle c = next_event();
    if (c > now) break;
    process_cycle(c, false);
    next_cycle_ = c + 1;
  }
  next_cycle_ = now + 1;
  account_occupancy(next_cycle_);
}

void Engine::step(Cycle now) {
  if (now != next_cycle_) {
    throw std::logic_error("dram: step(" + std::to_string(now) + ") but the next cycle is " +
                           std::to_string(next_cycle_));
  }
  process_cycle(now, true);
  next_cycle_ = now + 1;
  account_occupancy(next_cycle_);
}

Cycle Engine::next_event() const {
  Cycle e = kNever;
  for (const Channel& ch : channels_) {
    if (ch.stale) ch.next = recache(ch);
    e = std::min(e, ch.next);
  }
  if (!done_heap_.empty()) e = std::min(e, std::max(done_heap_.front().finish, next_cycle_));
  return e;
}

Cycle Engine::next_retry_cycle() const {
  if (!has_refused_) throw std::logic_error("dram: next_retry_cycle() without a refused transaction");
  // A front end holds bursts only while its channel's queue is full, and each of them needs a slot that one
  // column command of that channel frees: with `left` bursts held, it empties after `left` more commands of
  // the channel, one per cycle at most, the first at its next event.
  const Channel& ch = channels_[refused_channel_];
  if (ch.stale) ch.next = recache(ch);
  const std::size_t left = ch.staged.size() - ch.staged_next;
  if (ch.next == kNever || left == 0) return ch.next;
  return ch.next + (left - 1);
}

Cycle Engine::next_completion_bound() const {
  Cycle e = done_heap_.empty() ? kNever : std::max(done_heap_.front().finish, next_cycle_);
  // Transactions with bursts still to issue: a column command at next_cycle_ at the earliest.
  if (txns_.size() > free_txns_.size())
    e = std::min(
        e, next_cycle_ + Cycle{std::min(params_.CL_cycles, params_.CWL_cycles)} + params_.burst_cycles());
  return e;
}

std::vector<Completion> Engine::take_completions() {
  std::vector<Completion> out;
  out.swap(ready_);
  return out;
}

void Engine::take_completions(std::vector<Completion>& out) {
  out.clear();
  out.swap(ready_);
}

bool Engine::idle() const {
  return staged_ == 0 && occupancy_ == 0 && done_heap_.empty() && ready_.empty();
}

// Within one cycle: each channel issues at most one command (refresh work first, then the scheduler's pick);
// then its front end fills freed queue slots (those bursts are schedulable from the next cycle); then
// transactions whose data ended by this cycle complete.
void Engine::process_cycle(Cycle t, bool every_channel) {
  account_occupancy(t);
  for (Channel& ch : channels_) {
    // In event mode next_event() has just refreshed every channel, so a channel whose next event is later
    // than t has nothing to do now. Its front end cannot move either: it only holds bursts while the queue is
    // full.
    if (!every_channel && ch.next != t) continue;
    issue_one(ch, t, every_channel);
    if (every_channel) ch.mark_all();  // the reference path keeps nothing between cycles
    if (!ch.staged.empty()) transfer_staged(ch);
  }
  release_completions(t);
}

// `reference`: ask the scheduler afresh (step()); otherwise issue what recache() chose (advance_to()).
bool Engine::issue_one(Channel& ch, Cycle t, bool reference) {
  const Refresh::Work work = ch.refresh.work(ch.timing, t, [&ch](std::uint32_t rank) { ch.mark_rank(rank); });
  if (work.kind == Refresh::Kind::kRef) {
    issue_ref(ch, work.rank, t);
    return true;
  }
  if (work.kind == Refresh::Kind::kPre) {
    issue_pre(ch, work.bank, t, kNoSlot);
    return true;
  }
  if (!reference) {
    if (ch.chosen.slot == kNoSlot || ch.chosen.at > t) return false;
    // Valid unless the chosen burst's rank started draining for refresh in this very call; then decide
    // afresh.
    if (!ch.refresh.draining(ch.queues.burst(ch.chosen.slot).where.rank)) {
      issue(ch, ch.chosen, t);
      return true;
    }
  }
  const Pick pick = ch.scheduler->pick(ch.view(), t);
  if (pick.slot == kNoSlot) return false;
  issue(ch, pick, t);
  return true;
}

void Engine::issue(Channel& ch, const Pick& pick, Cycle t) {
  switch (pick.need) {
    case Need::kColumn:
      issue_column(ch, pick.slot, t);
      break;
    case Need::kAct:
      issue_act(ch, pick.slot, t);
      break;
    case Need::kPre:
      issue_pre(ch, ch.queues.burst(pick.slot).where.bank, t, pick.slot);
      break;
    case Need::kNone:
      break;
  }
}

Cycle Engine::recache(const Channel& ch) const {
  const Cycle refresh_at = ch.refresh.next_at(ch.timing);
  ch.chosen = ch.scheduler->next(ch.view(), next_cycle_);
  ch.stale = false;
  return std::min(ch.chosen.at, refresh_at == kNever ? kNever : std::max(refresh_at, next_cycle_));
}

void Engine::transfer_staged(Channel& ch) {
  while (ch.staged_next < ch.staged.size() && !ch.queues.full()) {
    insert_burst(ch, ch.staged[ch.staged_next++]);
    --staged_;
  }
  if (ch.staged_next == ch.staged.size()) {
    ch.staged.clear();
    ch.staged_next = 0;
  }
}

void Engine::insert_burst(Channel& ch, const Location& loc) {
  QueuedBurst s;
  s.seq = next_seq_++;
  s.txn = ch.staged_txn;
  s.where.rank = loc.rank;
  s.where.group = loc.rank * params_.bankgroups + loc.bankgroup;
  s.where.bank = s.where.group * params_.banks_per_group + loc.bank;
  s.row = loc.row;
  s.column = loc.column;
  s.is_write = ch.staged_is_write;
  const bool hit = ch.timing.open(s.where.bank) && ch.timing.open_row(s.where.bank) == s.row;
  ch.queues.insert(s, hit);
  ++occupancy_;
  counters_.queue_occupancy_max = std::max(counters_.queue_occupancy_max, occupancy_);
  ch.mark_bank(s.where.bank);  // the newcomer, and its bank's row-hit and cap bookkeeping
}

void Engine::emit(const Channel& ch, CommandType type, std::uint32_t bank, std::uint32_t rank,
                  std::uint32_t row, std::uint32_t column, Cycle t) {
  if (!observer_) return;
  Command c;
  c.cycle = t;
  c.type = type;
  c.channel = ch.index;
  c.rank = rank;
  if (bank != kNoSlot) {
    c.bank = bank % params_.banks_per_group;
    c.bankgroup = (bank / params_.banks_per_group) % params_.bankgroups;
  }
  c.row = row;
  c.column = column;
  observer_(c);
}

void Engine::issue_act(Channel& ch, std::uint32_t slot, Cycle t) {
  QueuedBurst& s = ch.queues.burst(slot);
  ch.timing.act(s.where, s.row, t);
  ch.queues.row_opened(s.where.bank, s.row);
  s.needed_act = true;
  ch.mark_bank(s.where.bank);
  ch.mark_need(s.where.rank, Need::kAct);
  ++counters_.act_commands;
  emit(ch, CommandType::kAct, s.where.bank, s.where.rank, s.row, 0, t);
}

void Engine::issue_pre(Channel& ch, std::uint32_t bank, Cycle t, std::uint32_t slot) {
  const std::uint32_t rank = ch.timing.rank_of(bank);
  emit(ch, CommandType::kPre, bank, rank, ch.timing.open_row(bank), 0, t);
  ch.timing.pre(bank, rank, t);
  ch.queues.row_closed(bank);
  if (slot != kNoSlot) ch.queues.burst(slot).needed_pre = true;
  ch.mark_bank(bank);
  ch.mark_need(rank, Need::kPre);
  ++counters_.pre_commands;
}

void Engine::issue_column(Channel& ch, std::uint32_t slot, Cycle t) {
  const QueuedBurst s = ch.queues.burst(slot);
  const bool auto_pre = page_policy_->auto_precharge(ch.queues.bank(s.where.bank));
  const Cycle data_end = ch.timing.column(s.where, s.is_write, auto_pre, t);
  if (s.is_write) {
    ++counters_.write_bursts;
    ++(auto_pre ? counters_.wra_commands : counters_.wr_commands);
  } else {
    ++counters_.read_bursts;
    ++(auto_pre ? counters_.rda_commands : counters_.rd_commands);
  }
  counters_.data_bus_busy_cycles += params_.burst_cycles();
  ++(s.needed_pre ? counters_.row_conflicts : s.needed_act ? counters_.row_misses : counters_.row_hits);
  const CommandType type = s.is_write ? (auto_pre ? CommandType::kWra : CommandType::kWr)
                                      : (auto_pre ? CommandType::kRda : CommandType::kRd);
  emit(ch, type, s.where.bank, s.where.rank, s.row, s.column, t);

  ch.queues.remove(slot);
  ch.mark_bank(s.where.bank);
  for (std::uint32_t rank = 0; rank < params_.ranks; ++rank) ch.mark_need(rank, Need::kColumn);  // data bus

  Txn& x = txns_[s.txn];
  x.finish = std::max(x.finish, data_end);
  if (++x.issued == x.bursts) {
    done_heap_.push_back(Done{x.finish, x.order, x.id, x.arrival, x.is_write});
    std::push_heap(done_heap_.begin(), done_heap_.end(), kFinishesLater);
    free_txns_.push_back(s.txn);
  }
  --occupancy_;
}

void Engine::issue_ref(Channel& ch, std::uint32_t rank, Cycle t) {
  ch.timing.ref(rank, t);
  ch.refresh.refreshed(rank);
  ch.mark_rank(rank);
  ++counters_.ref_commands;
  counters_.refresh_cycles += params_.tRFC_cycles;
  emit(ch, CommandType::kRef, kNoSlot, rank, 0, 0, t);
}

void Engine::release_completions(Cycle t) {
  while (!done_heap_.empty() && done_heap_.front().finish <= t) {
    std::pop_heap(done_heap_.begin(), done_heap_.end(), kFinishesLater);
    const Done d = done_heap_.back();
    done_heap_.pop_back();
    ready_.push_back(Completion{d.id, d.finish});
    const Cycle latency = d.finish - d.arrival;
    if (d.is_write) {
      ++counters_.write_transactions;
      counters_.write_latency_sum_cycles += latency;
    } else {
      ++counters_.read_transactions;
      counters_.read_latency_sum_cycles += latency;
      counters_.read_latency_histogram.add(latency);
    }
  }
}

void Engine::account_occupancy(Cycle until) {
  if (until <= occupancy_accounted_) return;
  counters_.queue_occupancy_sum += occupancy_ * (until - occupancy_accounted_);
  occupancy_accounted_ = until;
}

}  // namespace tacsim::dram
