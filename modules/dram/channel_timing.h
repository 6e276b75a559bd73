#pragma once
// The JEDEC state of one channel's devices: which rows are open, and per bank, bank group and rank the
// earliest cycle each kind of command may issue, the four-activate window and the data bus. Device rules
// only: which command to issue next is the controller's choice (scheduler.h, page_policy.h, refresh.h).
//
// Issuing a command only ever raises these bounds, so a command is legal at cycle t iff t reaches the maximum
// over its levels: act_earliest(), pre_earliest(), column_earliest(), ref_earliest(). Callers issue only
// legal commands; the independent checker in tests/unit/dram_timing_checker.h replays every one to prove it.
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "modules/common/types.h"
#include "modules/dram/dram_params.h"

namespace tacsim::dram {

// A bank within its channel: flat indices, so that state lives in plain vectors.
struct BankAddress {
  std::uint32_t bank = 0;   // rank * banks_per_rank + bankgroup * banks_per_group + bank
  std::uint32_t group = 0;  // rank * bankgroups + bankgroup
  std::uint32_t rank = 0;
};

class ChannelTiming {
 public:
  explicit ChannelTiming(const DeviceSpec& spec);

  std::uint32_t banks() const { return static_cast<std::uint32_t>(banks_.size()); }
  std::uint32_t banks_per_rank() const { return banks_per_rank_; }
  std::uint32_t rank_of(std::uint32_t bank) const { return bank >> rank_shift_; }
  bool open(std::uint32_t bank) const { return banks_[bank].open; }
  std::uint32_t open_row(std::uint32_t bank) const { return banks_[bank].row; }  // meaningful while open
  std::uint32_t open_banks(std::uint32_t rank) const { return ranks_[rank].open_banks; }

  // Inline: the schedulers ask these for every candidate at every event.
  Cycle act_earliest(const BankAddress& a) const {
    return std::max(bank_act_ok(a.bank), group_act_ok(a.group, a.rank));
  }
  Cycle pre_earliest(std::uint32_t bank, std::uint32_t rank) const {
    return std::max(bank_pre_ok(bank), rank_pre_ok(rank));
  }
  Cycle column_earliest(const BankAddress& a, bool is_write) const {
    return std::max(bank_column_ok(a.bank), group_column_ok(a.group, a.rank, is_write));
  }
  // The same bounds in two parts: the bank's own, which only a command to that bank (or a REF of its rank)
  // raises, and its bank group's and rank's, shared by their banks (data bus, tCCD, tWTR, tRRD, tFAW, tPPD).
  Cycle bank_act_ok(std::uint32_t bank) const { return banks_[bank].act_ok; }
  Cycle bank_pre_ok(std::uint32_t bank) const { return banks_[bank].pre_ok; }
  Cycle bank_column_ok(std::uint32_t bank) const { return banks_[bank].col_ok; }
  Cycle group_act_ok(std::uint32_t group, std::uint32_t rank) const {
    const Rank& r = ranks_[rank];
    const Cycle e = std::max(groups_[group].act_ok, r.act_ok);
    return r.faw_count == 4 ? std::max(e, r.faw[r.faw_head] + faw_) : e;  // a fifth ACT waits for the window
  }
  Cycle rank_pre_ok(std::uint32_t rank) const { return ranks_[rank].pre_ok; }
  Cycle group_column_ok(std::uint32_t group, std::uint32_t rank, bool is_write) const {
    const Rank& r = ranks_[rank];
    const Group& g = groups_[group];
    if (is_write) {
      const Cycle data_ok = std::max(r.bus_ok, r.wr_data_ok);
      return std::max({g.wr_ok, r.wr_ok, data_ok > cwl_ ? data_ok - cwl_ : 0});
    }
    return std::max({g.rd_ok, r.rd_ok, r.bus_ok > cl_ ? r.bus_ok - cl_ : 0});
  }
  std::uint32_t groups() const { return static_cast<std::uint32_t>(groups_.size()); }
  std::uint32_t ranks() const { return static_cast<std::uint32_t>(ranks_.size()); }
  Cycle ref_earliest(std::uint32_t rank) const {
    return ranks_[rank].ref_ok;
  }  // all banks closed long enough

  void act(const BankAddress& a, std::uint32_t row, Cycle t);
  void pre(std::uint32_t bank, std::uint32_t rank, Cycle t);
  // A RD or WR at t (with auto-precharge: RDA or WRA); returns the first cycle after its last data beat.
  Cycle column(const BankAddress& a, bool is_write, bool auto_precharge, Cycle t);
  void ref(std::uint32_t rank, Cycle t);

 private:
  struct Bank {
    Cycle act_ok = 0;  // tRP after PRE, tRC after ACT, tRFC after REF
    Cycle pre_ok = 0;  // tRAS after ACT, tRTP after RD, write recovery after WR
    Cycle col_ok = 0;  // tRCD after ACT
    std::uint32_t row = 0;
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
    std::uint32_t open_banks = 0;
  };

  DeviceSpec d_;
  Cycle cl_, cwl_, faw_;
  std::uint32_t banks_per_rank_;
  std::uint32_t rank_shift_ = 0;  // log2(banks_per_rank): a flat bank's rank is bank >> rank_shift_
  std::vector<Bank> banks_;
  std::vector<Group> groups_;
  std::vector<Rank> ranks_;
};

}  // namespace tacsim::dram
