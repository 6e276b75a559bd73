#include "modules/dram/dram_engine.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "modules/common/error.h"
#include "modules/dram/bank_queues.h"
#include "modules/dram/channel_timing.h"
#include "modules/dram/read_write_queues.h"
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

// One channel: its front end (the bursts of one transaction, moving on as room frees up), the read queue and
// write buffer, the bank queues, the devices' timing state, refresh and the scheduler. step() asks the
// scheduler afresh every cycle (pick()); advance_to() keeps the scheduler's next pick and the channel's next
// event until something changes (stale).
struct Engine::Channel {
  Channel(std::uint32_t index, const Params& p)
      : index(index),
        ranks(p.ranks),
        rw(p, p.ranks * p.bankgroups * p.banks_per_group),
        queues(p.ranks * p.bankgroups * p.banks_per_group, p.bank_queue_bursts),
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
  std::vector<PendingBurst> staged;
  std::size_t staged_next = 0;

  ReadWriteQueues rw;
  BankQueues queues;
  ChannelTiming timing;
  Refresh refresh;
  std::unique_ptr<Scheduler> scheduler;

  bool can_move = false;       // a burst can move on into its bank queue at the end of the next cycle
  bool issued_chosen = false;  // this cycle's first command was `chosen`
  bool freed = false;          // a column command freed a place in a bank queue this cycle
  mutable bool stale = true;   // something changed since `next` and `chosen` were computed
  mutable Cycle next = 0;      // earliest cycle this channel can act, as of the last recache()
  mutable Pick chosen;         // what the scheduler issues at chosen.at, unless refresh intervenes
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
      {"reads_forwarded", "bursts", "read bursts served from the write buffer", &Counters::reads_forwarded},
      {"writes_merged", "bursts", "write bursts merged into a buffered write of the same burst",
       &Counters::writes_merged},
      {"write_drains", "drains", "times a write buffer reached its high watermark and drained",
       &Counters::write_drains},
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
  if (txn.bytes == 0 || txn.rows == 0)
    throw std::invalid_argument("dram: transaction " + std::to_string(txn.id) + " has 0 bytes");
  if (txn.rows > 1 && txn.stride < txn.bytes) {
    throw std::invalid_argument("dram: transaction " + std::to_string(txn.id) + " has rows of " +
                                std::to_string(txn.bytes) + " bytes only " + std::to_string(txn.stride) +
                                " bytes apart");
  }
  const std::uint64_t last_row = txn.address + std::uint64_t{txn.rows - 1} * txn.stride;
  if (txn.address >= map_.capacity_bytes() || last_row >= map_.capacity_bytes() ||
      txn.bytes > map_.capacity_bytes() - last_row) {
    throw std::out_of_range("dram: transaction " + std::to_string(txn.id) + " at " +
                            std::to_string(last_row) + " + " + std::to_string(txn.bytes) +
                            " bytes is beyond the capacity of " + std::to_string(map_.capacity_bytes()) +
                            " bytes");
  }
  if (now > next_cycle_) advance_to(now - 1);

  if (has_refused_ && txn.id == refused_.id && txn.address == refused_.address &&
      txn.bytes == refused_.bytes && txn.is_write == refused_.is_write && txn.rows == refused_.rows &&
      txn.stride == refused_.stride && !channels_[refused_channel_].staged.empty()) {
    return false;  // the same front end is still busy
  }
  // Bursts in address order, a burst shared by two rows once: a row starts at the burst after the last one
  // of the row before it, if that is later (rows ascend).
  const std::uint64_t bb = map_.burst_bytes();
  // f(address, first of its row) returns false to stop; so does for_each_burst then.
  auto for_each_burst = [&txn, bb](auto f) {
    std::uint64_t next_burst = 0;
    for (std::uint32_t r = 0; r < txn.rows; ++r) {
      const std::uint64_t row = txn.address + std::uint64_t{r} * txn.stride;
      const std::uint64_t last = (row + txn.bytes - 1) / bb * bb;
      const std::uint64_t first = std::max(row / bb * bb, next_burst);
      for (std::uint64_t a = first; a <= last; a += bb)
        if (!f(a, a == first)) return false;
      next_burst = last + bb;
    }
    return true;
  };
  // A busy front end refuses the transaction before anything is decoded or staged.
  const bool free = for_each_burst([&](std::uint64_t a, bool) {
    refused_channel_ = map_.channel_of(a);
    return channels_[refused_channel_].staged.empty();
  });
  if (!free) {
    refused_ = txn;
    has_refused_ = true;
    return false;
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
  std::uint32_t bursts = 0;
  Location loc;
  for_each_burst([&](std::uint64_t a, bool first) {
    loc = first ? map_.decode(a) : map_.next(loc, a);  // sequential bursts: an increment, mostly
    PendingBurst& burst = channels_[loc.channel].staged.emplace_back();
    burst.address = a;
    burst.txn = index;
    burst.where.rank = loc.rank;
    burst.where.group = loc.rank * params_.bankgroups + loc.bankgroup;
    burst.where.bank = burst.where.group * params_.banks_per_group + loc.bank;
    burst.row = loc.row;
    burst.column = loc.column;
    burst.is_write = txn.is_write;
    ++bursts;
    return true;
  });
  Txn& x = txns_[index];
  x = Txn{txn.id, next_order_++, now, 0, bursts, 0, txn.is_write};
  if (!txn.is_write) count_read_left(x.bursts, 1);
  staged_ += bursts;
  for (Channel& ch : channels_) {
    if (!ch.staged.empty()) move_on(ch, now, false);
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

// The earliest cycle the channel can issue a column command, as far as its state now tells: the scheduler's
// pick if it is one, else no earlier than the bound it gives for the other bus (Pick::other_at) nor than the
// cycle after the row command it picked, which may open a row. Refresh and bursts about to move on into the
// bank queues change the candidates, so a column can follow them from the next cycle on.
Cycle Engine::column_bound(const Channel& ch) const {
  if (ch.stale) ch.next = recache(ch);
  const Pick& p = ch.chosen;
  Cycle column = p.slot == kNoSlot ? kNever : p.need == Need::kColumn ? p.at : std::min(p.other_at, p.at + 1);
  const Cycle refresh_at = ch.refresh.next_at(ch.timing);
  if (refresh_at != kNever) column = std::min(column, std::max(refresh_at, next_cycle_) + 1);
  if (ch.can_move) column = std::min(column, next_cycle_ + 1);
  return std::max(column, next_cycle_);
}

Cycle Engine::next_retry_cycle() const {
  if (!has_refused_) throw std::logic_error("dram: next_retry_cycle() without a refused transaction");
  // A front end holds bursts only while its channel's read queue or write buffer is full. Room there comes
  // only as bursts move on into the bank queues: at the end of a cycle with a column command (which frees a
  // place there), or of the cycle bursts just admitted can move on.
  const Channel& ch = channels_[refused_channel_];
  if (ch.stale) ch.next = recache(ch);
  return ch.can_move ? next_cycle_ : column_bound(ch);
}

Cycle Engine::next_completion_bound() const {
  Cycle e = done_heap_.empty() ? kNever : std::max(done_heap_.front().finish, next_cycle_);
  // Reads with bursts still to issue: each needs a column command, and a channel's data bus carries one
  // burst at a time, so the transaction with the fewest such bursts, n, ends no earlier than CL plus
  // ceil(n / channels) bursts after the first column command of a channel with reads queued.
  if (queued_reads_ > 0) {
    std::uint32_t fewest = 1;
    while (fewest < kLeftBuckets && reads_by_left_[fewest] == 0) ++fewest;
    Cycle column = kNever;
    for (const Channel& ch : channels_)
      if (ch.rw.reads() > 0 || ch.queues.reads() > 0) column = std::min(column, column_bound(ch));
    const Cycle bursts = (fewest + params_.channels - 1) / params_.channels;
    if (column != kNever)
      e = std::min(e, column + Cycle{params_.CL_cycles} + bursts * params_.burst_cycles());
  }
  // Bursts in a front end: a write acknowledged, or a read served from the write buffer, in the cycle after
  // they move on, which happens at a channel's event.
  if (staged_ > 0) e = std::min(e, next_event() + 1);
  return e;
}

void Engine::count_read_left(std::uint32_t left, int delta) {
  if (left > 0) reads_by_left_[std::min(left, kLeftBuckets)] += static_cast<std::uint64_t>(delta);
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

// Within one cycle: each channel issues a command (refresh work first, then the scheduler's pick), and with
// separate row and column buses a second one on the other bus; then bursts move on from the front end and the
// read queue and write buffer into freed places (schedulable from the next cycle); then transactions whose
// data ended by this cycle complete.
void Engine::process_cycle(Cycle t, bool every_channel) {
  account_occupancy(t);
  for (Channel& ch : channels_) {
    // In event mode next_event() has just refreshed every channel, so a channel whose next event is later
    // than t has nothing to do now. Nothing can move on there either: room only comes with a command.
    if (!every_channel && ch.next != t) continue;
    const Cycle other_at = ch.chosen.other_at;  // as of the recache that scheduled this cycle
    ch.issued_chosen = false;
    const Need first = issue_one(ch, t, every_channel, CommandBus::kAny);
    // A second command on the other bus, unless the event path knows none can be legal now (it issued its
    // chosen command, and the scheduler's bound for the other bus is later).
    const bool none_other = !every_channel && ch.issued_chosen && other_at > t;
    if (params_.separate_row_column_buses && first != Need::kNone && !none_other)
      issue_one(ch, t, every_channel, first == Need::kColumn ? CommandBus::kRow : CommandBus::kColumn);
    if (every_channel) ch.mark_all();  // the reference path keeps nothing between cycles
    // Room in a bank queue comes only with a column command; bursts to move on only from the front end (and
    // from try_enqueue(), which admits but does not move).
    if (ch.freed || ch.can_move || every_channel || !ch.staged.empty()) move_on(ch, t, true);
    ch.freed = false;
  }
  release_completions(t);
}

// Issues one command on `bus` at t and says what it was (a refresh PRE or REF counts as kPre: a row command).
// `reference`: ask the scheduler afresh (step()); otherwise issue what recache() chose (advance_to()).
Need Engine::issue_one(Channel& ch, Cycle t, bool reference, CommandBus bus) {
  if (bus != CommandBus::kColumn) {
    const Refresh::Work work =
        ch.refresh.work(ch.timing, t, [&ch](std::uint32_t rank) { ch.mark_rank(rank); });
    if (work.kind == Refresh::Kind::kRef) {
      issue_ref(ch, work.rank, t);
      return Need::kPre;
    }
    if (work.kind == Refresh::Kind::kPre) {
      issue_pre(ch, work.bank, t, kNoSlot);
      return Need::kPre;
    }
  }
  if (!reference && bus == CommandBus::kAny) {
    if (ch.chosen.slot == kNoSlot || ch.chosen.at > t) return Need::kNone;
    // Valid unless the chosen burst's rank started draining for refresh in this very call; then decide
    // afresh.
    if (!ch.refresh.draining(ch.queues.burst(ch.chosen.slot).where.rank)) {
      const Pick chosen = ch.chosen;
      issue(ch, chosen, t);
      ch.issued_chosen = true;
      return chosen.need;
    }
  }
  // The second command of a cycle on HBM's other bus: the event path asks next() from t, which agrees with
  // pick() by the scheduler's contract.
  const Pick pick = reference || bus == CommandBus::kAny ? ch.scheduler->pick(ch.view(), t, bus)
                                                         : ch.scheduler->next(ch.view(), t, bus);
  if (pick.slot == kNoSlot || pick.at != t) return Need::kNone;
  issue(ch, pick, t);
  return pick.need;
}

void Engine::issue(Channel& ch, const Pick& pick, Cycle t) {
  ch.scheduler->issued(ch.queues.burst(pick.slot).where.bank);
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
  ch.chosen = ch.scheduler->next(ch.view(), next_cycle_, CommandBus::kAny);
  ch.stale = false;
  const Cycle move_at = ch.can_move ? next_cycle_ : kNever;
  return std::min({ch.chosen.at, move_at, refresh_at == kNever ? kNever : std::max(refresh_at, next_cycle_)});
}

// At the end of a cycle t (`move`), bursts move on from the read queue and write buffer into their bank
// queues while they find room, and the front end's bursts enter the read queue or write buffer in order while
// there is room. A read of a buffered write is served from it and a write to a buffered one merges, both done
// in the next cycle, as is a write's acknowledgement. try_enqueue() admits only (`move` false): a request
// reaches its bank queue at the end of its arrival cycle and can issue its first command the cycle after, as
// in DRAMsim3.
void Engine::move_on(Channel& ch, Cycle t, bool move) {
  const std::uint64_t drains = ch.rw.drains();
  if (!ch.staged.empty()) admit_staged(ch, t);  // the test inline: most calls have nothing staged
  ch.rw.update_drain();
  while (move) {
    const ReadWriteQueues::Next n = ch.rw.next(ch.queues);
    if (!n.found) break;
    insert_burst(ch, ch.rw.at(n));
    ch.rw.moved(n);
    if (!ch.staged.empty()) admit_staged(ch, t);
    ch.rw.update_drain();
  }
  counters_.write_drains += ch.rw.drains() - drains;
  // Bursts admitted by try_enqueue() that can move on give the channel an event at the end of that cycle.
  // The scheduler sees only the bank queues (insert_burst() marks what it changes there), so the channel's
  // next event changes here only with can_move.
  const bool could_move = ch.can_move;
  ch.can_move = !move && ch.rw.next(ch.queues).found;
  if (ch.can_move != could_move) ch.stale = true;
}

bool Engine::admit_staged(Channel& ch, Cycle t) {
  if (ch.staged.empty()) return false;
  const std::size_t before = ch.staged_next;
  while (ch.staged_next < ch.staged.size()) {
    const PendingBurst& b = ch.staged[ch.staged_next];
    const bool buffered = ch.rw.buffered_write(b.where.bank, b.address) != nullptr ||
                          (ch.queues.bank(b.where.bank).queued_writes > 0 &&
                           ch.queues.has_write(b.where.bank, b.row, b.column));
    if (buffered) {
      ++(b.is_write ? counters_.writes_merged : counters_.reads_forwarded);
    } else {
      if (!ch.rw.has_room(b.is_write)) break;
      ch.rw.push(b);
      ++occupancy_;
      queued_reads_ += !b.is_write;
      counters_.queue_occupancy_max = std::max(counters_.queue_occupancy_max, occupancy_);
    }
    if (buffered || b.is_write) burst_done(b.txn, t + 1);
    ++ch.staged_next;
    --staged_;
  }
  const bool moved = ch.staged_next != before;
  if (ch.staged_next == ch.staged.size()) {
    ch.staged.clear();
    ch.staged_next = 0;
  }
  return moved;
}

void Engine::insert_burst(Channel& ch, const PendingBurst& b) {
  QueuedBurst s;
  s.seq = next_seq_++;  // age: the order bursts become visible to the scheduler, as in DRAMsim3's queues
  s.txn = b.txn;
  s.where = b.where;
  s.row = b.row;
  s.column = b.column;
  s.is_write = b.is_write;
  const bool hit = ch.timing.open(s.where.bank) && ch.timing.open_row(s.where.bank) == s.row;
  ch.queues.insert(s, hit);
  ch.mark_bank(s.where.bank);  // the newcomer, and its bank's row-hit and cap bookkeeping
}

void Engine::burst_done(std::uint32_t txn, Cycle finish) {
  Txn& x = txns_[txn];
  x.finish = std::max(x.finish, finish);
  if (!x.is_write) {
    count_read_left(x.bursts - x.done, -1);
    count_read_left(x.bursts - x.done - 1, 1);
  }
  if (++x.done == x.bursts) {
    done_heap_.push_back(Done{x.finish, x.order, x.id, x.arrival, x.is_write});
    std::push_heap(done_heap_.begin(), done_heap_.end(), kFinishesLater);
    free_txns_.push_back(txn);
  }
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
  ch.freed = true;
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

  if (!s.is_write) {  // a write was acknowledged when it entered the write buffer
    burst_done(s.txn, data_end);
    --queued_reads_;
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
