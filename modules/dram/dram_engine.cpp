#include "modules/dram/dram_engine.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "modules/common/error.h"

namespace tacsim::dram {
namespace {

constexpr std::uint32_t kNoSlot = std::numeric_limits<std::uint32_t>::max();

enum class Need : std::uint8_t { kNone, kColumn, kPre, kAct };

Cycle sat_sub(Cycle a, Cycle b) {
  return a > b ? a - b : 0;
}

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

// Timing state is kept as "earliest legal cycle" per command kind at each level (bank, bank group, rank, data
// bus); issuing a command only ever raises these bounds, so a command is legal at t iff t reaches the maximum
// over its levels, and the next cycle anything can happen is a minimum over the queued bursts. step() scans
// every burst every cycle with classify(); advance_to() keeps per-bank summaries (summarize(), recache()) and
// jumps to their minimum. Both call the same *_earliest() functions; the differential test holds them equal.
struct Engine::Channel {
  struct Slot {
    std::uint64_t seq = 0;
    std::uint64_t blocker_seq = 0;  // an older burst to the same column that must go first (RAW, WAR, WAW)
    std::uint32_t blocker = kNoSlot;
    std::uint32_t txn = 0;
    std::uint32_t bank = 0;   // flat in the channel: group * banks_per_group + bank
    std::uint32_t group = 0;  // flat in the channel: rank * bankgroups + bankgroup
    std::uint32_t rank = 0;
    std::uint32_t row = 0;
    std::uint32_t column = 0;
    bool is_write = false;
    bool valid = false;
    bool needed_pre = false;  // a PRE was issued on this burst's behalf (row conflict)
    bool needed_act = false;  // an ACT was issued on its behalf (row miss)
  };
  struct Bank {
    Cycle act_ok = 0;  // tRP after PRE, tRC after ACT, tRFC after REF
    Cycle pre_ok = 0;  // tRAS after ACT, tRTP after RD, write recovery after WR
    Cycle col_ok = 0;  // tRCD after ACT
    std::uint32_t row = 0;
    std::uint32_t hits_since_act = 0;
    std::uint32_t queued = 0;  // bursts queued for this bank
    std::uint32_t queued_writes = 0;
    std::uint32_t queued_hits = 0;        // of those, the ones for the open row
    std::uint32_t queued_hit_writes = 0;  // of those, the writes
    bool open = false;
  };
  struct Group {
    Cycle act_ok = 0;  // tRRD_L
    Cycle rd_ok = 0;   // tCCD_L after RD, write data + tWTR_L after WR
    Cycle wr_ok = 0;   // tCCD_L after WR
  };
  struct Rank {
    Cycle act_ok = 0;            // tRRD_S
    Cycle rd_ok = 0;             // tCCD_S after RD, write data + tWTR_S after WR
    Cycle wr_ok = 0;             // tCCD_S after WR
    Cycle pre_ok = 0;            // tPPD
    Cycle wr_data_ok = 0;        // read data end + turnaround: earliest start of write data
    Cycle bus_ok = 0;            // earliest start of this rank's next data burst (tRTRS after other ranks)
    Cycle ref_ok = 0;            // max act_ok over the rank's banks: REF needs all of them precharged
    std::array<Cycle, 4> faw{};  // the last four ACTs; faw[faw_head] is the oldest once faw_count == 4
    std::uint32_t faw_head = 0;
    std::uint32_t faw_count = 0;
    Cycle refresh_due = 0;
    std::uint32_t open_banks = 0;
    bool refresh_pending = false;
  };

  // Front end: the bursts of one transaction for this channel, moving into the queue as slots free up.
  std::vector<Location> staged;
  std::size_t staged_next = 0;
  std::uint32_t staged_txn = 0;
  bool staged_is_write = false;

  std::vector<Slot> slots;
  std::vector<std::uint32_t> free_slots;
  std::vector<std::uint32_t> by_age;                   // occupied slots, oldest first, as of sort_by_age()
  std::vector<std::vector<std::uint32_t>> bank_slots;  // the same, per bank
  std::vector<Bank> banks;
  std::vector<Group> groups;
  std::vector<Rank> ranks;
  std::uint32_t index = 0;
  std::uint32_t banks_per_rank = 0;
  std::uint32_t rank_shift = 0;  // log2(banks_per_rank): a flat bank's rank is bank >> rank_shift
  // Banks with at least one queued burst, 64 per word: recache() visits only these, so a channel with many
  // idle banks costs what its busy ones do.
  std::vector<std::uint64_t> busy_banks;

  void set_busy(std::uint32_t b) { busy_banks[b >> 6] |= std::uint64_t{1} << (b & 63); }
  void clear_busy(std::uint32_t b) { busy_banks[b >> 6] &= ~(std::uint64_t{1} << (b & 63)); }

  // Event-path cache, per bank. The bursts of one bank that need the same command share its earliest cycle,
  // so FR-FCFS only ever picks a bank's oldest eligible read hit, write hit or row command (ACT or PRE):
  // recache() keeps those three per bank, the channel's next event, and the burst to issue then. A command
  // changes the summary of its own bank and, by kind, the earliest cycles of its rank's ACT waiters (ACT:
  // tRRD, tFAW), PRE waiters (PRE: tPPD) or every bank's column waiters (RD/WR: data bus, tCCD, tWTR); REF
  // and refresh draining touch a whole rank. step() never reads this cache, so the differential test checks
  // these rules.
  struct BankCache {
    std::uint32_t read_slot = kNoSlot;
    std::uint32_t write_slot = kNoSlot;
    std::uint32_t row_slot = kNoSlot;
    Cycle read_at = 0;
    Cycle write_at = 0;
    Cycle row_at = 0;
    Need row_need = Need::kNone;
  };
  mutable std::vector<BankCache> bank_cache;
  mutable std::vector<std::uint8_t> bank_stale;  // per bank: recompute its summary
  mutable std::vector<std::uint8_t> need_stale;  // per rank: bit 1 << Need, refresh those earliest cycles
  mutable bool stale = true;                     // some flag above is set: next and chosen are out of date
  mutable Cycle next = 0;                  // earliest cycle this channel can act, as of the last recache()
  mutable std::uint32_t chosen = kNoSlot;  // the burst FR-FCFS issues at chosen_at, unless refresh intervenes
  mutable Cycle chosen_at = kNever;
  mutable Need chosen_need = Need::kNone;

  void mark_bank(std::uint32_t b) {
    bank_stale[b] = 1;
    stale = true;
  }
  void mark_need(std::uint32_t rank, Need n) {
    need_stale[rank] |= static_cast<std::uint8_t>(1u << static_cast<unsigned>(n));
    stale = true;
  }
  void mark_rank(std::uint32_t r) {
    need_stale[r] = 0xff;
    stale = true;
  }
  void mark_all() {
    std::fill(need_stale.begin(), need_stale.end(), 0xff);
    stale = true;
  }

  // The oldest eligible burst of each kind in bank b; the same eligibility rules as classify().
  void summarize(std::uint32_t b, const Timing& tm, std::uint32_t hit_cap) const {
    BankCache& c = bank_cache[b];
    c = BankCache{};
    const Bank& bank = banks[b];
    const std::uint32_t rank = b / banks_per_rank;
    if (bank.queued == 0 || ranks[rank].refresh_pending) return;
    const bool capped = bank.hits_since_act >= hit_cap;
    const bool hits_ok = bank.open && !(capped && bank.queued > bank.queued_hits);
    bool want_read = hits_ok && bank.queued_hits > bank.queued_hit_writes;
    bool want_write = hits_ok && bank.queued_hit_writes > 0;
    bool want_row = bank.queued > bank.queued_hits && (!bank.open || bank.queued_hits == 0 || capped);
    for (std::uint32_t slot : bank_slots[b]) {
      if (!want_read && !want_write && !want_row) break;
      const Slot& s = slots[slot];
      if (blocked(s)) continue;
      if (bank.open && s.row == bank.row) {
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
    if (c.read_slot != kNoSlot) c.read_at = column_earliest(slots[c.read_slot], tm);
    if (c.write_slot != kNoSlot) c.write_at = column_earliest(slots[c.write_slot], tm);
    if (c.row_slot != kNoSlot) {
      c.row_need = bank.open ? Need::kPre : Need::kAct;
      c.row_at = bank.open ? pre_earliest(b, rank) : act_earliest(slots[c.row_slot], tm);
    }
  }

  // Only step() and the event path's refresh fallback rank every burst by age, so the order is built when
  // needed instead of being kept up to date on every arrival and issue.
  void sort_by_age() {
    by_age.clear();
    for (std::uint32_t i = 0; i < slots.size(); ++i)
      if (slots[i].valid) by_age.push_back(i);
    std::sort(by_age.begin(), by_age.end(),
              [this](std::uint32_t a, std::uint32_t b) { return slots[a].seq < slots[b].seq; });
  }

  bool blocked(const Slot& s) const {
    return s.blocker != kNoSlot && slots[s.blocker].valid && slots[s.blocker].seq == s.blocker_seq;
  }

  Cycle act_earliest(const Slot& s, const Timing& tm) const {
    const Rank& r = ranks[s.rank];
    Cycle e = std::max({banks[s.bank].act_ok, groups[s.group].act_ok, r.act_ok});
    if (r.faw_count == 4) e = std::max(e, r.faw[r.faw_head] + tm.faw);  // a fifth ACT waits for the window
    return e;
  }

  Cycle pre_earliest(std::uint32_t bank, std::uint32_t rank) const {
    return std::max(banks[bank].pre_ok, ranks[rank].pre_ok);
  }

  Cycle column_earliest(const Slot& s, const Timing& tm) const {
    const Rank& r = ranks[s.rank];
    const Group& g = groups[s.group];
    if (s.is_write) {
      const Cycle data_ok = std::max(r.bus_ok, r.wr_data_ok);
      return std::max({banks[s.bank].col_ok, g.wr_ok, r.wr_ok, sat_sub(data_ok, tm.cwl)});
    }
    return std::max({banks[s.bank].col_ok, g.rd_ok, r.rd_ok, sat_sub(r.bus_ok, tm.cl)});
  }

  // What the burst needs next and the earliest cycle that command is legal; kNoSlot while it may not be
  // scheduled at all (blocked by an older access to its column, its rank draining for refresh, its row
  // capped, or its PRE would close a row that still has queued hits).
  Need classify(const Slot& s, const Timing& tm, std::uint32_t hit_cap, Cycle& earliest) const {
    if (ranks[s.rank].refresh_pending || blocked(s)) return Need::kNone;
    const Bank& b = banks[s.bank];
    if (!b.open) {
      earliest = act_earliest(s, tm);
      return Need::kAct;
    }
    const bool capped = b.hits_since_act >= hit_cap;
    if (b.row == s.row) {
      if (capped && b.queued > b.queued_hits) return Need::kNone;  // let the waiting conflict in
      earliest = column_earliest(s, tm);
      return Need::kColumn;
    }
    if (b.queued_hits > 0 && !capped) return Need::kNone;
    earliest = pre_earliest(s.bank, s.rank);
    return Need::kPre;
  }
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

std::size_t latency_bin(Cycle latency) {
  if (latency < 64) return static_cast<std::size_t>(latency);
  const int e = 63 - __builtin_clzll(latency);  // floor(log2(latency)) >= 6
  const std::size_t bin = 64 + static_cast<std::size_t>(e - 6) * 32 + ((latency >> (e - 5)) & 31);
  return std::min(bin, kLatencyBins - 1);
}

Cycle latency_bin_floor(std::size_t bin) {
  if (bin < 64) return bin;
  const std::size_t e = 6 + (bin - 64) / 32;
  return static_cast<Cycle>(32 + (bin - 64) % 32) << (e - 5);
}

Cycle latency_percentile(const std::array<std::uint64_t, kLatencyBins>& histogram, double fraction) {
  std::uint64_t total = 0;
  for (std::uint64_t n : histogram) total += n;
  if (total == 0) return 0;
  const double want = std::max(1.0, fraction * static_cast<double>(total));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kLatencyBins; ++i) {
    seen += histogram[i];
    if (static_cast<double>(seen) >= want) return latency_bin_floor(i);
  }
  return latency_bin_floor(kLatencyBins - 1);
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

Engine::Engine(const Params& params) : params_(validated(params)), map_(params_) {
  const Params& p = params_;
  tm_ = Timing{p.CL_cycles,     p.CWL_cycles,    p.tRCD_cycles,   p.tRP_cycles,    p.tRAS_cycles,
               p.tRC_cycles,    p.tWR_cycles,    p.tRTP_cycles,   p.tWTR_S_cycles, p.tWTR_L_cycles,
               p.tRRD_S_cycles, p.tRRD_L_cycles, p.tCCD_S_cycles, p.tCCD_L_cycles, p.tFAW_cycles,
               p.tRFC_cycles,   p.tREFI_cycles,  p.tPPD_cycles,   p.tRTRS_cycles,  p.rd_to_wr_gap_cycles,
               p.burst_cycles()};
  channels_.resize(p.channels);
  for (std::uint32_t c = 0; c < p.channels; ++c) {
    Channel& ch = channels_[c];
    ch.index = c;
    ch.banks_per_rank = p.bankgroups * p.banks_per_group;
    while ((1u << ch.rank_shift) < ch.banks_per_rank) ++ch.rank_shift;  // a power of two (validate())
    ch.slots.resize(p.queue_depth_bursts);
    for (std::uint32_t s = p.queue_depth_bursts; s-- > 0;) ch.free_slots.push_back(s);
    ch.by_age.reserve(p.queue_depth_bursts);
    ch.banks.resize(std::size_t{p.ranks} * ch.banks_per_rank);
    ch.groups.resize(std::size_t{p.ranks} * p.bankgroups);
    ch.ranks.resize(p.ranks);
    ch.bank_slots.resize(ch.banks.size());
    ch.busy_banks.assign((ch.banks.size() + 63) / 64, 0);
    ch.bank_cache.resize(ch.banks.size());
    ch.bank_stale.assign(ch.banks.size(), 1);
    ch.need_stale.assign(p.ranks, 0xff);
    // Ranks refresh staggered across the interval so that they are not all unavailable at once.
    for (std::uint32_t r = 0; r < p.ranks; ++r) ch.ranks[r].refresh_due = tm_.refi + r * (tm_.refi / p.ranks);
  }
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
    if (ch.stale) ch.next = recache(ch, next_cycle_);
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
  if (ch.stale) ch.next = recache(ch, next_cycle_);
  const std::size_t left = ch.staged.size() - ch.staged_next;
  if (ch.next == kNever || left == 0) return ch.next;
  return ch.next + (left - 1);
}

Cycle Engine::next_completion_bound() const {
  Cycle e = done_heap_.empty() ? kNever : std::max(done_heap_.front().finish, next_cycle_);
  // Transactions with bursts still to issue: a column command at next_cycle_ at the earliest.
  if (txns_.size() > free_txns_.size()) e = std::min(e, next_cycle_ + std::min(tm_.cl, tm_.cwl) + tm_.burst);
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

// Within one cycle: each channel issues at most one command (refresh work first, then the oldest ready row
// hit, then the oldest ready ACT or PRE); then its front end fills freed queue slots (those bursts are
// schedulable from the next cycle); then transactions whose data ended by this cycle complete.
void Engine::process_cycle(Cycle t, bool every_channel) {
  account_occupancy(t);
  for (Channel& ch : channels_) {
    // In event mode next_event() has just refreshed every cache, so a channel whose next event is later than
    // t has nothing to do now. Its front end cannot move either: it only holds bursts while the queue is
    // full.
    if (!every_channel && ch.next != t) continue;
    issue_one(ch, t, every_channel);
    if (every_channel) ch.mark_all();  // the reference path keeps no cache
    if (!ch.staged.empty()) transfer_staged(ch);
  }
  release_completions(t);
}

// `reference`: classify every burst afresh (step()); otherwise issue what recache() chose (advance_to()).
bool Engine::issue_one(Channel& ch, Cycle t, bool reference) {
  if (params_.refresh_enabled) {
    for (std::uint32_t r = 0; r < ch.ranks.size(); ++r) {
      Channel::Rank& rank = ch.ranks[r];
      if (!rank.refresh_pending && rank.refresh_due <= t) {
        rank.refresh_pending = true;
        ch.mark_rank(r);
      }
      if (!rank.refresh_pending) continue;
      if (rank.open_banks == 0) {
        if (rank.ref_ok <= t) {
          issue_ref(ch, r, t);
          return true;
        }
        continue;
      }
      for (std::uint32_t b = r * ch.banks_per_rank; b < (r + 1) * ch.banks_per_rank; ++b) {
        if (ch.banks[b].open && ch.pre_earliest(b, r) <= t) {
          issue_pre(ch, b, t, kNoSlot);
          return true;
        }
      }
    }
  }
  if (!reference) {
    if (ch.chosen == kNoSlot || ch.chosen_at > t) return false;
    // Valid unless the chosen burst's rank started draining for refresh in this very call; then decide
    // afresh.
    if (!ch.ranks[ch.slots[ch.chosen].rank].refresh_pending) {
      if (ch.chosen_need == Need::kColumn) {
        issue_column(ch, ch.chosen, t);
      } else if (ch.chosen_need == Need::kAct) {
        issue_act(ch, ch.chosen, t);
      } else {
        issue_pre(ch, ch.slots[ch.chosen].bank, t, ch.chosen);
      }
      return true;
    }
  }
  std::uint32_t other = kNoSlot;
  Need other_need = Need::kNone;
  ch.sort_by_age();
  for (std::uint32_t slot : ch.by_age) {
    Cycle e = 0;
    const Need need = ch.classify(ch.slots[slot], tm_, params_.row_hit_cap, e);
    if (need == Need::kNone || e > t) continue;
    if (need == Need::kColumn) {  // the order is oldest first, so this is the oldest ready hit
      issue_column(ch, slot, t);
      return true;
    }
    if (other == kNoSlot) {
      other = slot;
      other_need = need;
    }
  }
  if (other == kNoSlot) return false;
  if (other_need == Need::kAct) {
    issue_act(ch, other, t);
  } else {
    issue_pre(ch, ch.slots[other].bank, t, other);
  }
  return true;
}

Cycle Engine::recache(const Channel& ch, Cycle from) const {
  Cycle refresh_at = kNever;
  if (params_.refresh_enabled) {
    for (std::uint32_t r = 0; r < ch.ranks.size(); ++r) {
      const Channel::Rank& rank = ch.ranks[r];
      if (!rank.refresh_pending) {
        refresh_at = std::min(refresh_at, rank.refresh_due);
      } else if (rank.open_banks == 0) {
        refresh_at = std::min(refresh_at, rank.ref_ok);
      } else {
        for (std::uint32_t b = r * ch.banks_per_rank; b < (r + 1) * ch.banks_per_rank; ++b) {
          if (ch.banks[b].open) refresh_at = std::min(refresh_at, ch.pre_earliest(b, r));
        }
      }
    }
  }
  // FR-FCFS over the bank summaries: the earliest cycle any command is ready (no earlier than `from`), and at
  // that cycle the oldest ready column command, else the oldest ready row command.
  Cycle best_at = kNever;
  std::uint32_t best = kNoSlot;
  Need best_need = Need::kNone;
  auto consider = [&](std::uint32_t slot, Cycle at, Need need) {
    if (slot == kNoSlot) return;
    at = std::max(at, from);
    if (at < best_at) {
      best_at = at;
    } else {
      const bool column = need == Need::kColumn;
      const bool best_column = best_need == Need::kColumn;
      if (at > best_at || (best_column && !column) ||
          (column == best_column && ch.slots[slot].seq > ch.slots[best].seq)) {
        return;
      }
    }
    best = slot;
    best_need = need;
  };
  // Only banks with queued bursts can act; an idle bank's summary is redone when a burst arrives (mark_bank).
  // The visiting order does not matter: consider() breaks every tie by the unique seq.
  for (std::size_t w = 0; w < ch.busy_banks.size(); ++w) {
    for (std::uint64_t busy = ch.busy_banks[w]; busy != 0; busy &= busy - 1) {
      const auto b = static_cast<std::uint32_t>(w * 64 + static_cast<unsigned>(__builtin_ctzll(busy)));
      const std::uint32_t r = b >> ch.rank_shift;
      const std::uint8_t bits = ch.need_stale[r];
      Channel::BankCache& c = ch.bank_cache[b];
      if (ch.bank_stale[b] || bits == 0xff) {
        ch.summarize(b, tm_, params_.row_hit_cap);
        ch.bank_stale[b] = 0;
      } else if (bits != 0) {
        if (bits & (1u << static_cast<unsigned>(Need::kColumn))) {
          if (c.read_slot != kNoSlot) c.read_at = ch.column_earliest(ch.slots[c.read_slot], tm_);
          if (c.write_slot != kNoSlot) c.write_at = ch.column_earliest(ch.slots[c.write_slot], tm_);
        }
        if (c.row_need == Need::kAct && (bits & (1u << static_cast<unsigned>(Need::kAct)))) {
          c.row_at = ch.act_earliest(ch.slots[c.row_slot], tm_);
        }
        if (c.row_need == Need::kPre && (bits & (1u << static_cast<unsigned>(Need::kPre)))) {
          c.row_at = ch.pre_earliest(b, r);
        }
      }
      consider(c.read_slot, c.read_at, Need::kColumn);
      consider(c.write_slot, c.write_at, Need::kColumn);
      consider(c.row_slot, c.row_at, c.row_need);
    }
  }
  for (std::uint8_t& bits : ch.need_stale) bits = 0;
  ch.stale = false;
  ch.chosen = best;
  ch.chosen_at = best_at;
  ch.chosen_need = best_need;
  return std::min(best_at, refresh_at == kNever ? kNever : std::max(refresh_at, from));
}

void Engine::transfer_staged(Channel& ch) {
  while (ch.staged_next < ch.staged.size() && !ch.free_slots.empty()) {
    insert_burst(ch, ch.staged[ch.staged_next++]);
    --staged_;
  }
  if (ch.staged_next == ch.staged.size()) {
    ch.staged.clear();
    ch.staged_next = 0;
  }
}

void Engine::insert_burst(Channel& ch, const Location& loc) {
  const std::uint32_t index = ch.free_slots.back();
  ch.free_slots.pop_back();
  Channel::Slot& s = ch.slots[index];
  s = Channel::Slot{};
  s.seq = next_seq_++;
  s.txn = ch.staged_txn;
  s.rank = loc.rank;
  s.group = loc.rank * params_.bankgroups + loc.bankgroup;
  s.bank = s.group * params_.banks_per_group + loc.bank;
  s.row = loc.row;
  s.column = loc.column;
  s.is_write = ch.staged_is_write;
  s.valid = true;
  Channel::Bank& b = ch.banks[s.bank];
  auto& in_bank = ch.bank_slots[s.bank];
  if (s.is_write || b.queued_writes > 0) {  // reads after reads never conflict
    for (auto it = in_bank.rbegin(); it != in_bank.rend(); ++it) {
      const Channel::Slot& o = ch.slots[*it];
      if (o.row == s.row && o.column == s.column && (o.is_write || s.is_write)) {
        s.blocker = *it;
        s.blocker_seq = o.seq;
        break;
      }
    }
  }
  in_bank.push_back(index);
  if (b.queued++ == 0) ch.set_busy(s.bank);
  b.queued_writes += s.is_write;
  if (b.open && b.row == s.row) {
    ++b.queued_hits;
    b.queued_hit_writes += s.is_write;
  }
  ++occupancy_;
  counters_.queue_occupancy_max = std::max(counters_.queue_occupancy_max, occupancy_);
  ch.mark_bank(s.bank);  // the newcomer, and its bank's row-hit and cap bookkeeping
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
  Channel::Slot& s = ch.slots[slot];
  Channel::Bank& b = ch.banks[s.bank];
  Channel::Rank& r = ch.ranks[s.rank];
  b.open = true;
  b.row = s.row;
  b.col_ok = t + tm_.rcd;
  b.pre_ok = std::max(b.pre_ok, t + tm_.ras);
  b.act_ok = std::max(b.act_ok, t + tm_.rc);
  b.hits_since_act = 0;
  r.ref_ok = std::max(r.ref_ok, b.act_ok);
  Channel::Group& g = ch.groups[s.group];
  g.act_ok = std::max(g.act_ok, t + tm_.rrd_l);
  r.act_ok = std::max(r.act_ok, t + tm_.rrd_s);
  r.faw[r.faw_head] = t;
  r.faw_head = (r.faw_head + 1) % 4;
  r.faw_count = std::min<std::uint32_t>(r.faw_count + 1, 4);
  ++r.open_banks;
  b.queued_hits = 0;
  b.queued_hit_writes = 0;
  for (std::uint32_t o : ch.bank_slots[s.bank]) {
    if (ch.slots[o].row == s.row) {
      ++b.queued_hits;
      b.queued_hit_writes += ch.slots[o].is_write;
    }
  }
  s.needed_act = true;
  ch.mark_bank(s.bank);
  ch.mark_need(s.rank, Need::kAct);
  ++counters_.act_commands;
  emit(ch, CommandType::kAct, s.bank, s.rank, s.row, 0, t);
}

void Engine::issue_pre(Channel& ch, std::uint32_t bank, Cycle t, std::uint32_t slot) {
  Channel::Bank& b = ch.banks[bank];
  const std::uint32_t rank = bank / ch.banks_per_rank;
  Channel::Rank& r = ch.ranks[rank];
  emit(ch, CommandType::kPre, bank, rank, b.row, 0, t);
  b.open = false;
  b.queued_hits = 0;
  b.queued_hit_writes = 0;
  b.act_ok = std::max(b.act_ok, t + tm_.rp);
  r.ref_ok = std::max(r.ref_ok, b.act_ok);
  r.pre_ok = std::max(r.pre_ok, t + tm_.ppd);
  --r.open_banks;
  if (slot != kNoSlot) ch.slots[slot].needed_pre = true;
  ch.mark_bank(bank);
  ch.mark_need(rank, Need::kPre);
  ++counters_.pre_commands;
}

void Engine::issue_column(Channel& ch, std::uint32_t slot, Cycle t) {
  Channel::Slot& s = ch.slots[slot];
  Channel::Bank& b = ch.banks[s.bank];
  Channel::Group& g = ch.groups[s.group];
  Channel::Rank& r = ch.ranks[s.rank];
  // Closed page precharges with the last queued access to the row; later arrivals pay a fresh ACT.
  const bool auto_pre = params_.page_policy == PagePolicy::kClosed && b.queued_hits == 1;
  const Cycle data_end = t + (s.is_write ? tm_.cwl : tm_.cl) + tm_.burst;
  if (s.is_write) {
    g.wr_ok = std::max(g.wr_ok, t + tm_.ccd_l);
    g.rd_ok = std::max(g.rd_ok, data_end + tm_.wtr_l);
    r.wr_ok = std::max(r.wr_ok, t + tm_.ccd_s);
    r.rd_ok = std::max(r.rd_ok, data_end + tm_.wtr_s);
    b.pre_ok = std::max(b.pre_ok, data_end + tm_.wr);
    ++counters_.write_bursts;
    ++(auto_pre ? counters_.wra_commands : counters_.wr_commands);
  } else {
    g.rd_ok = std::max(g.rd_ok, t + tm_.ccd_l);
    r.rd_ok = std::max(r.rd_ok, t + tm_.ccd_s);
    r.wr_data_ok = std::max(r.wr_data_ok, data_end + tm_.rtw_gap);
    b.pre_ok = std::max(b.pre_ok, t + tm_.rtp);
    ++counters_.read_bursts;
    ++(auto_pre ? counters_.rda_commands : counters_.rd_commands);
  }
  for (Channel::Rank& other : ch.ranks) {
    other.bus_ok = std::max(other.bus_ok, data_end + (&other == &r ? 0 : tm_.rtrs));
  }
  counters_.data_bus_busy_cycles += tm_.burst;
  ++(s.needed_pre ? counters_.row_conflicts : s.needed_act ? counters_.row_misses : counters_.row_hits);
  const CommandType type = s.is_write ? (auto_pre ? CommandType::kWra : CommandType::kWr)
                                      : (auto_pre ? CommandType::kRda : CommandType::kRd);
  emit(ch, type, s.bank, s.rank, s.row, s.column, t);

  if (--b.queued == 0) ch.clear_busy(s.bank);
  b.queued_writes -= s.is_write;
  --b.queued_hits;
  b.queued_hit_writes -= s.is_write;
  ++b.hits_since_act;
  ch.mark_bank(s.bank);
  for (std::uint32_t rank = 0; rank < ch.ranks.size(); ++rank) ch.mark_need(rank, Need::kColumn);  // data bus
  if (auto_pre) {
    // The device precharges once tRAS, tRTP or write recovery allow, i.e. at pre_ok.
    b.open = false;
    b.act_ok = std::max(b.act_ok, b.pre_ok + tm_.rp);
    r.ref_ok = std::max(r.ref_ok, b.act_ok);
    --r.open_banks;
  }

  Txn& x = txns_[s.txn];
  x.finish = std::max(x.finish, data_end);
  if (++x.issued == x.bursts) {
    done_heap_.push_back(Done{x.finish, x.order, x.id, x.arrival, x.is_write});
    std::push_heap(done_heap_.begin(), done_heap_.end(), kFinishesLater);
    free_txns_.push_back(s.txn);
  }
  s.valid = false;
  ch.free_slots.push_back(slot);
  auto& in_bank = ch.bank_slots[s.bank];
  in_bank.erase(std::find(in_bank.begin(), in_bank.end(), slot));
  --occupancy_;
}

void Engine::issue_ref(Channel& ch, std::uint32_t rank, Cycle t) {
  Channel::Rank& r = ch.ranks[rank];
  for (std::uint32_t b = rank * ch.banks_per_rank; b < (rank + 1) * ch.banks_per_rank; ++b) {
    ch.banks[b].act_ok = std::max(ch.banks[b].act_ok, t + tm_.rfc);
  }
  r.ref_ok = std::max(r.ref_ok, t + tm_.rfc);
  r.refresh_pending = false;
  r.refresh_due += tm_.refi;  // from the schedule, not from t, so the average rate is exactly one per tREFI
  ch.mark_rank(rank);
  ++counters_.ref_commands;
  counters_.refresh_cycles += tm_.rfc;
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
      ++counters_.read_latency_histogram[latency_bin(latency)];
    }
  }
}

void Engine::account_occupancy(Cycle until) {
  if (until <= occupancy_accounted_) return;
  counters_.queue_occupancy_sum += occupancy_ * (until - occupancy_accounted_);
  occupancy_accounted_ = until;
}

}  // namespace tacsim::dram
