#include "modules/dram/channel_timing.h"

#include <algorithm>

namespace tacsim::dram {

ChannelTiming::ChannelTiming(const DeviceSpec& spec)
    : d_(spec),
      cl_(spec.CL_cycles),
      cwl_(spec.CWL_cycles),
      faw_(spec.tFAW_cycles),
      banks_per_rank_(spec.bankgroups * spec.banks_per_group) {
  while ((1u << rank_shift_) < banks_per_rank_) ++rank_shift_;  // a power of two (validate())
  banks_.resize(std::size_t{spec.ranks} * banks_per_rank_);
  groups_.resize(std::size_t{spec.ranks} * spec.bankgroups);
  ranks_.resize(spec.ranks);
}

void ChannelTiming::act(const BankAddress& a, std::uint32_t row, Cycle t) {
  Bank& b = banks_[a.bank];
  Rank& r = ranks_[a.rank];
  Group& g = groups_[a.group];
  b.open = true;
  b.row = row;
  b.col_ok = t + d_.tRCD_cycles;
  b.pre_ok = std::max(b.pre_ok, t + d_.tRAS_cycles);
  b.act_ok = std::max(b.act_ok, t + d_.tRC_cycles);
  r.ref_ok = std::max(r.ref_ok, b.act_ok);
  g.act_ok = std::max(g.act_ok, t + d_.tRRD_L_cycles);
  r.act_ok = std::max(r.act_ok, t + d_.tRRD_S_cycles);
  r.faw[r.faw_head] = t;
  r.faw_head = (r.faw_head + 1) % 4;
  r.faw_count = std::min<std::uint32_t>(r.faw_count + 1, 4);
  ++r.open_banks;
}

void ChannelTiming::pre(std::uint32_t bank, std::uint32_t rank, Cycle t) {
  Bank& b = banks_[bank];
  Rank& r = ranks_[rank];
  b.open = false;
  b.act_ok = std::max(b.act_ok, t + d_.tRP_cycles);
  r.ref_ok = std::max(r.ref_ok, b.act_ok);
  r.pre_ok = std::max(r.pre_ok, t + d_.tPPD_cycles);
  --r.open_banks;
}

Cycle ChannelTiming::column(const BankAddress& a, bool is_write, bool auto_precharge, Cycle t) {
  Bank& b = banks_[a.bank];
  Group& g = groups_[a.group];
  Rank& r = ranks_[a.rank];
  const Cycle data_end = t + (is_write ? d_.CWL_cycles : d_.CL_cycles) + d_.burst_cycles();
  if (is_write) {
    g.wr_ok = std::max(g.wr_ok, t + d_.tCCD_L_cycles);
    g.rd_ok = std::max(g.rd_ok, data_end + d_.tWTR_L_cycles);
    r.wr_ok = std::max(r.wr_ok, t + d_.tCCD_S_cycles);
    r.rd_ok = std::max(r.rd_ok, data_end + d_.tWTR_S_cycles);
    b.pre_ok = std::max(b.pre_ok, data_end + d_.tWR_cycles);
  } else {
    g.rd_ok = std::max(g.rd_ok, t + d_.tCCD_L_cycles);
    r.rd_ok = std::max(r.rd_ok, t + d_.tCCD_S_cycles);
    r.wr_data_ok = std::max(r.wr_data_ok, data_end + d_.rd_to_wr_gap_cycles);
    b.pre_ok = std::max(b.pre_ok, t + d_.tRTP_cycles());
  }
  for (Rank& other : ranks_)
    other.bus_ok = std::max(other.bus_ok, data_end + (&other == &r ? 0u : d_.tRTRS_cycles));
  if (auto_precharge) {
    // The device precharges once tRAS, tRTP or write recovery allow, i.e. at pre_ok.
    b.open = false;
    b.act_ok = std::max(b.act_ok, b.pre_ok + d_.tRP_cycles);
    r.ref_ok = std::max(r.ref_ok, b.act_ok);
    --r.open_banks;
  }
  return data_end;
}

void ChannelTiming::ref(std::uint32_t rank, Cycle t) {
  Rank& r = ranks_[rank];
  for (std::uint32_t b = rank * banks_per_rank_; b < (rank + 1) * banks_per_rank_; ++b)
    banks_[b].act_ok = std::max(banks_[b].act_ok, t + d_.tRFC_cycles);
  r.ref_ok = std::max(r.ref_ok, t + d_.tRFC_cycles);
}

}  // namespace tacsim::dram
