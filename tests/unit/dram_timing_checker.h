#pragma once
// An independent legality checker for DRAM command streams, written from the JEDEC rules (JESD79-4 DDR4,
// JESD209-4 LPDDR4, JESD235 HBM) and not from the engine: it keeps the recent commands of each channel and
// checks every new command pairwise against them ("command B at least X cycles after command A"), plus the
// bank state and refresh obligations those rules imply. Feed it through Engine::set_command_observer.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "modules/dram/dram_engine.h"
#include "modules/dram/dram_params.h"

namespace tacsim::dram::testing {

class TimingChecker {
 public:
  explicit TimingChecker(const Params& p)
      : p_(p),
        banks_per_rank_(p.bankgroups * p.banks_per_group),
        rtp_(p.burst_length == 2 ? p.tRTP_S_cycles
                                 : p.tRTP_L_cycles) {  // JESD235: tRTPS for BL2, tRTPL for BL4
    const std::uint64_t burst = p.burst_length / 2;
    // The longest pairwise rule; a command older than this cannot constrain a new one.
    horizon_ = std::max<std::uint64_t>(
                   {std::uint64_t{p.tRC_cycles}, p.tRAS_cycles, p.tRCD_cycles, p.tRP_cycles, rtp_,
                    p.CWL_cycles + burst + p.tWR_cycles, p.tRRD_L_cycles, p.tPPD_cycles, p.tCCD_L_cycles,
                    p.CWL_cycles + burst + p.tWTR_L_cycles, p.CL_cycles + burst + p.rd_to_wr_gap_cycles,
                    p.tFAW_cycles, std::max(p.CL_cycles, p.CWL_cycles) + burst + p.tRTRS_cycles}) +
               1;
    channels_.resize(p.channels);
    for (Channel& ch : channels_) {
      ch.banks.resize(std::size_t{p.ranks} * banks_per_rank_);
      ch.ref_until.assign(p.ranks, 0);
      ch.refs.resize(p.ranks);
    }
  }

  void record(const Command& c) {
    ++commands_;
    if (c.channel >= p_.channels || c.rank >= p_.ranks || c.bankgroup >= p_.bankgroups ||
        c.bank >= p_.banks_per_group || c.row >= p_.rows || c.column >= p_.columns ||
        c.column % p_.burst_length != 0) {
      fail(c, "address field out of range");
      return;
    }
    Channel& ch = channels_[c.channel];
    if (ch.any && c.cycle < ch.last_cycle) fail(c, "issued before an earlier command");
    ch.any = true;
    ch.last_cycle = c.cycle;
    while (!ch.window.empty() && ch.window.front().cycle + horizon_ < c.cycle) ch.window.pop_front();
    for (const Command& old : ch.window) check_pair(old, c);
    check_faw(ch, c);
    check_state(ch, c);
    ch.window.push_back(c);
    if (is_cas(c)) data_cycles_ += p_.burst_length / 2;
  }

  // JEDEC lets a controller postpone at most 8 REFs, so no rank may go more than 9 x tREFI without one.
  void finish(Cycle end) {
    if (!p_.refresh_enabled) return;
    const Cycle limit = 9 * Cycle{p_.tREFI_cycles};
    for (std::uint32_t c = 0; c < channels_.size(); ++c) {
      for (std::uint32_t r = 0; r < p_.ranks; ++r) {
        Cycle last = 0;
        for (Cycle t : channels_[c].refs[r]) {
          if (t - last > limit)
            note("channel " + std::to_string(c) + " rank " + std::to_string(r) + ": no REF between cycles " +
                 std::to_string(last) + " and " + std::to_string(t));
          last = t;
        }
        if (end > last + limit) {
          note("channel " + std::to_string(c) + " rank " + std::to_string(r) + ": no REF after cycle " +
               std::to_string(last) + " up to " + std::to_string(end));
        }
      }
    }
  }

  bool ok() const { return violation_count_ == 0; }
  std::uint64_t violation_count() const { return violation_count_; }
  const std::vector<std::string>& violations() const { return violations_; }  // the first 20
  std::uint64_t commands() const { return commands_; }
  std::uint64_t data_cycles() const {
    return data_cycles_;
  }  // bursts x burst cycles, to cross-check counters
  std::string summary() const {
    std::string s = std::to_string(violation_count_) + " violations";
    for (const std::string& v : violations_) s += "\n  " + v;
    return s;
  }

 private:
  struct Bank {
    bool open = false;
    std::uint32_t row = 0;
    Cycle last_act = 0;
    Cycle act_allowed = 0;  // after an auto-precharge: its internal precharge + tRP
  };
  struct Channel {
    std::deque<Command> window;
    std::vector<Bank> banks;
    std::vector<Cycle> ref_until;          // per rank: REF + tRFC
    std::vector<std::vector<Cycle>> refs;  // per rank: REF cycles
    Cycle last_cycle = 0;
    bool any = false;
  };

  static bool is_rd(const Command& c) { return c.type == CommandType::kRd || c.type == CommandType::kRda; }
  static bool is_wr(const Command& c) { return c.type == CommandType::kWr || c.type == CommandType::kWra; }
  static bool is_cas(const Command& c) { return is_rd(c) || is_wr(c); }

  std::uint32_t bank_index(const Command& c) const {
    return c.rank * banks_per_rank_ + c.bankgroup * p_.banks_per_group + c.bank;
  }

  void need(bool condition, const Command& old, const Command& now, const char* rule, std::uint64_t cycles) {
    if (condition) return;
    fail(now, std::string(rule) + " (" + std::to_string(cycles) + " cycles) after " + to_string(old.type) +
                  " at " + std::to_string(old.cycle));
  }

  void check_pair(const Command& old, const Command& now) {
    const Cycle d = now.cycle - old.cycle;
    const std::uint64_t burst = p_.burst_length / 2;
    // One command per cycle on the command bus; HBM's separate row and column buses take one of each.
    if (d == 0 && !(p_.separate_row_column_buses && is_cas(old) != is_cas(now)))
      fail(now, std::string("second command in one cycle on the command bus, after ") + to_string(old.type));
    const bool same_rank = old.rank == now.rank;
    const bool same_group = same_rank && old.bankgroup == now.bankgroup;
    const bool same_bank = same_group && old.bank == now.bank;
    const CommandType a = old.type;
    const CommandType b = now.type;
    if (same_bank) {
      if (a == CommandType::kAct && b == CommandType::kAct)
        need(d >= p_.tRC_cycles, old, now, "tRC", p_.tRC_cycles);
      if (a == CommandType::kAct && b == CommandType::kPre) {
        need(d >= p_.tRAS_cycles, old, now, "tRAS", p_.tRAS_cycles);
      }
      if (a == CommandType::kAct && is_cas(now)) need(d >= p_.tRCD_cycles, old, now, "tRCD", p_.tRCD_cycles);
      if (a == CommandType::kPre && b == CommandType::kAct)
        need(d >= p_.tRP_cycles, old, now, "tRP", p_.tRP_cycles);
      if (is_rd(old) && b == CommandType::kPre) need(d >= rtp_, old, now, "tRTP", rtp_);
      if (is_wr(old) && b == CommandType::kPre) {
        const std::uint64_t wr = p_.CWL_cycles + burst + p_.tWR_cycles;
        need(d >= wr, old, now, "CWL + burst + tWR", wr);
      }
    } else if (same_rank) {
      if (a == CommandType::kAct && b == CommandType::kAct) {
        const std::uint64_t rrd = same_group ? p_.tRRD_L_cycles : p_.tRRD_S_cycles;
        need(d >= rrd, old, now, same_group ? "tRRD_L" : "tRRD_S", rrd);
      }
      if (a == CommandType::kPre && b == CommandType::kPre)
        need(d >= p_.tPPD_cycles, old, now, "tPPD", p_.tPPD_cycles);
    }
    if (same_rank) {
      if ((is_rd(old) && is_rd(now)) || (is_wr(old) && is_wr(now))) {
        const std::uint64_t ccd = same_group ? p_.tCCD_L_cycles : p_.tCCD_S_cycles;
        need(d >= ccd, old, now, same_group ? "tCCD_L" : "tCCD_S", ccd);
      }
      if (is_wr(old) && is_rd(now)) {
        const std::uint64_t wtr = p_.CWL_cycles + burst + (same_group ? p_.tWTR_L_cycles : p_.tWTR_S_cycles);
        need(d >= wtr, old, now, same_group ? "CWL + burst + tWTR_L" : "CWL + burst + tWTR_S", wtr);
      }
      if (is_rd(old) && is_wr(now)) {
        // Write data may start only rd_to_wr_gap cycles after the read data has left the bus.
        const bool fine =
            now.cycle + p_.CWL_cycles >= old.cycle + p_.CL_cycles + burst + p_.rd_to_wr_gap_cycles;
        need(fine, old, now, "read-to-write turnaround", p_.rd_to_wr_gap_cycles);
      }
      if (a == CommandType::kPre && b == CommandType::kRef)
        need(d >= p_.tRP_cycles, old, now, "tRP", p_.tRP_cycles);
    }
    if (is_cas(old) && is_cas(now)) {
      // One data bus per channel: bursts never overlap, and a change of rank leaves tRTRS idle cycles.
      const Cycle s0 = old.cycle + (is_rd(old) ? p_.CL_cycles : p_.CWL_cycles);
      const Cycle s1 = now.cycle + (is_rd(now) ? p_.CL_cycles : p_.CWL_cycles);
      const Cycle gap = same_rank ? 0 : p_.tRTRS_cycles;
      const bool apart = s1 >= s0 + burst + gap || s0 >= s1 + burst + gap;
      need(apart, old, now, "data-bus overlap or rank switch tRTRS", p_.tRTRS_cycles);
    }
  }

  void check_faw(const Channel& ch, const Command& c) {
    if (c.type != CommandType::kAct) return;
    int acts = 1;
    for (const Command& old : ch.window) {
      if (old.type == CommandType::kAct && old.rank == c.rank && old.cycle + p_.tFAW_cycles > c.cycle) ++acts;
    }
    if (acts > 4) fail(c, "fifth ACT within tFAW (" + std::to_string(p_.tFAW_cycles) + " cycles)");
  }

  void check_state(Channel& ch, const Command& c) {
    const std::uint64_t burst = p_.burst_length / 2;
    switch (c.type) {
      case CommandType::kAct: {
        Bank& b = ch.banks[bank_index(c)];
        if (b.open) fail(c, "ACT to a bank with an open row");
        if (c.cycle < b.act_allowed) fail(c, "ACT before auto-precharge + tRP");
        if (c.cycle < ch.ref_until[c.rank]) fail(c, "ACT within tRFC of REF");
        b.open = true;
        b.row = c.row;
        b.last_act = c.cycle;
        break;
      }
      case CommandType::kPre: {
        Bank& b = ch.banks[bank_index(c)];
        if (!b.open) fail(c, "PRE to a closed bank");
        b.open = false;
        break;
      }
      case CommandType::kRd:
      case CommandType::kWr:
      case CommandType::kRda:
      case CommandType::kWra: {
        Bank& b = ch.banks[bank_index(c)];
        if (!b.open || b.row != c.row) {
          fail(c, "column access to a row that is not open");
          break;
        }
        // Auto-precharge starts once tRTP (read) or write recovery (write) and tRAS allow, then takes tRP.
        if (c.type == CommandType::kRda || c.type == CommandType::kWra) {
          const Cycle own =
              c.type == CommandType::kRda ? c.cycle + rtp_ : c.cycle + p_.CWL_cycles + burst + p_.tWR_cycles;
          b.act_allowed = std::max(own, b.last_act + p_.tRAS_cycles) + p_.tRP_cycles;
          b.open = false;
        }
        break;
      }
      case CommandType::kRef: {
        if (c.cycle < ch.ref_until[c.rank]) fail(c, "REF within tRFC of REF");
        for (std::uint32_t i = c.rank * banks_per_rank_; i < (c.rank + 1) * banks_per_rank_; ++i) {
          if (ch.banks[i].open) fail(c, "REF with bank " + std::to_string(i % banks_per_rank_) + " open");
          if (c.cycle < ch.banks[i].act_allowed) fail(c, "REF before auto-precharge + tRP");
        }
        ch.ref_until[c.rank] = c.cycle + p_.tRFC_cycles;
        ch.refs[c.rank].push_back(c.cycle);
        break;
      }
    }
  }

  void fail(const Command& c, const std::string& what) {
    note(std::string(to_string(c.type)) + " at " + std::to_string(c.cycle) + " ch" +
         std::to_string(c.channel) + " rank" + std::to_string(c.rank) + " bg" + std::to_string(c.bankgroup) +
         " bank" + std::to_string(c.bank) + " row" + std::to_string(c.row) + ": " + what);
  }
  void note(const std::string& what) {
    ++violation_count_;
    if (violations_.size() < 20) violations_.push_back(what);
  }

  Params p_;
  std::uint32_t banks_per_rank_;
  std::uint64_t rtp_;
  std::uint64_t horizon_ = 0;
  std::vector<Channel> channels_;
  std::vector<std::string> violations_;
  std::uint64_t violation_count_ = 0;
  std::uint64_t commands_ = 0;
  std::uint64_t data_cycles_ = 0;
};

}  // namespace tacsim::dram::testing
