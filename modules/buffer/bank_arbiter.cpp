#include "modules/buffer/bank_arbiter.h"

#include <algorithm>
#include <stdexcept>

#include "modules/common/error.h"
#include "modules/formats/hp.h"

namespace tacsim::buffer {
namespace {

std::string range_error(const char* field, std::uint64_t value, std::uint64_t lo, std::uint64_t hi) {
  if (value < lo)
    return std::string(field) + ": must be at least " + std::to_string(lo) + ", got " + std::to_string(value);
  if (value > hi)
    return std::string(field) + ": must be at most " + std::to_string(hi) + ", got " + std::to_string(value);
  return "";
}

}  // namespace

std::string BankParams::validate() const {
  // 65535 banks and 256-column blocks are the limits of the HP stream's header fields (FORMATS.md).
  const std::string checks[] = {
      range_error("banks", banks, 1, 65535),
      range_error("ports_per_bank", ports_per_bank, 1, 64),
      range_error("block_cols", block_cols, 1, sparsity::kMaxHpBlockDim),
  };
  for (const std::string& c : checks)
    if (!c.empty()) return c;
  if (map != BankMapKind::kInterleave && map != BankMapKind::kXor && map != BankMapKind::kHp)
    return "map: must be interleave, xor or hp, got " + std::to_string(static_cast<int>(map));
  return "";
}

std::unique_ptr<const BankMap> make_bank_map(const BankParams& p) {
  return make_bank_map(p.map, p.banks, p.block_cols);
}

BankArbiter::BankArbiter(const BankParams& params, std::uint32_t lanes) : p_(params), lanes_(lanes) {
  const std::string err = p_.validate();
  if (!err.empty()) throw InputError(err);
  if (lanes_ == 0) throw InputError("lanes: must be at least 1, got 0");
  lane_c_.assign(lanes_, LaneCounters{});
  load_.assign(p_.banks, 0);
  queue_.assign(p_.banks, {});
  queue_head_.assign(p_.banks, 0);
}

void BankArbiter::check_wave(const std::vector<std::uint32_t>& banks_of_reads) const {
  if (banks_of_reads.size() > lanes_) {
    throw std::invalid_argument("BankArbiter: wave of " + std::to_string(banks_of_reads.size()) +
                                " reads, more than its " + std::to_string(lanes_) + " lanes");
  }
  for (std::uint32_t b : banks_of_reads) {
    if (b >= p_.banks && b != kNoRead) {
      throw std::invalid_argument("BankArbiter: bank " + std::to_string(b) + " out of range, " +
                                  std::to_string(p_.banks) + " banks");
    }
  }
}

std::uint32_t BankArbiter::wave_cycles(const std::vector<std::uint32_t>& banks_of_reads) const {
  check_wave(banks_of_reads);
  std::uint32_t busiest = 0;
  for (std::uint32_t b : banks_of_reads) {
    if (b == kNoRead) continue;
    if (load_[b]++ == 0) touched_.push_back(b);
    busiest = std::max(busiest, load_[b]);
  }
  for (std::uint32_t b : touched_) load_[b] = 0;
  touched_.clear();
  return (busiest + p_.ports_per_bank - 1) / p_.ports_per_bank;  // 0 for an empty wave
}

std::uint32_t BankArbiter::serve_wave(Cycle start, const std::vector<std::uint32_t>& banks_of_reads) {
  if (busy()) throw std::logic_error("BankArbiter::serve_wave: a stepped wave is still in service");
  check_wave(banks_of_reads);
  service_.assign(banks_of_reads.size(), kNever);
  std::uint32_t cycles = 0, reads = 0;
  for (std::size_t lane = 0; lane < banks_of_reads.size(); ++lane) {
    const std::uint32_t b = banks_of_reads[lane];
    if (b == kNoRead) continue;
    ++reads;
    // load_[b] before the increment is this read's rank j in its bank, so it waits floor(j / P) cycles.
    if (load_[b] == 0) touched_.push_back(b);
    const std::uint32_t wait = load_[b]++ / p_.ports_per_bank;
    service_[lane] = start + wait;
    cycles = std::max(cycles, wait + 1);
    lane_c_[lane].reads += 1;
    lane_c_[lane].wait_cycles += wait;
    c_.wait_cycles += wait;
  }
  for (std::uint32_t b : touched_) load_[b] = 0;
  touched_.clear();
  c_.reads += reads;
  c_.busy_cycles += cycles;
  finish_wave(cycles);
  return cycles;
}

void BankArbiter::finish_wave(std::uint32_t cycles) {
  if (cycles == 0) return;
  c_.waves += 1;
  c_.conflict_cycles += cycles - 1;
  if (cycles > 1) c_.conflict_waves += 1;
}

void BankArbiter::begin_wave(Cycle start, const std::vector<std::uint32_t>& banks_of_reads) {
  if (busy()) throw std::logic_error("BankArbiter::begin_wave: the previous wave is still in service");
  check_wave(banks_of_reads);
  service_.assign(banks_of_reads.size(), kNever);
  outstanding_ = 0;
  for (std::uint32_t lane = 0; lane < banks_of_reads.size(); ++lane) {
    const std::uint32_t b = banks_of_reads[lane];
    if (b == kNoRead) continue;
    if (queue_[b].empty()) active_.push_back(b);
    queue_[b].push_back(lane);  // pushed in lane order, so each queue is in lane order
    ++outstanding_;
  }
  c_.reads += outstanding_;
  wave_start_ = start;
  next_cycle_ = start;
}

const std::vector<std::uint32_t>& BankArbiter::step(Cycle now) {
  served_.clear();
  if (!busy()) return served_;
  if (now != next_cycle_) {
    throw std::logic_error("BankArbiter::step: expected cycle " + std::to_string(next_cycle_) + ", got " +
                           std::to_string(now));
  }
  // Every bank with pending reads grants up to P of them, oldest (lowest lane) first.
  std::size_t kept = 0;
  for (std::uint32_t b : active_) {
    std::vector<std::uint32_t>& q = queue_[b];
    std::uint32_t& head = queue_head_[b];
    for (std::uint32_t port = 0; port < p_.ports_per_bank && head < q.size(); ++port) {
      const std::uint32_t lane = q[head++];
      served_.push_back(lane);
      service_[lane] = now;
      const Cycle wait = now - wave_start_;
      lane_c_[lane].reads += 1;
      lane_c_[lane].wait_cycles += wait;
      c_.wait_cycles += wait;
    }
    if (head == q.size()) {
      q.clear();
      head = 0;
    } else {
      active_[kept++] = b;
    }
  }
  active_.resize(kept);
  outstanding_ -= static_cast<std::uint32_t>(served_.size());
  c_.busy_cycles += 1;
  next_cycle_ = now + 1;
  if (!busy()) finish_wave(static_cast<std::uint32_t>(now - wave_start_ + 1));
  std::sort(served_.begin(), served_.end());
  return served_;
}

}  // namespace tacsim::buffer
