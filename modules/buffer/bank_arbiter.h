#pragma once
// Bank arbitration of a banked on-chip buffer (DESIGN.md section 1): B banks with P ports each, a map from a
// word address to its bank, and an arbiter that serves a *wave* of reads issued together by `lanes`
// requesters (lane i = the i-th read of the wave). A lane may sit a wave out (kNoRead): the HP datapath's row
// engines share the arbiter, lanes e * lanes_per_engine.. being engine e's, and an engine whose wave is
// shorter, or that has none, leaves its lanes empty.
//
// Timing, the project's definition: a wave starting in cycle s is served clock by clock; in every cycle each
// bank serves up to P of the wave's outstanding reads that map to it, lowest lane first. So the read of lane
// i, which is the j-th read (0-based, in lane order) of the wave to land in its bank, is served in cycle s +
// floor(j / P), and the wave takes
//   cycles = max over banks b of ceil(n_b / P)      (n_b = reads of the wave in bank b)
// cycles, at least 1 for a non-empty wave, 0 for an empty one. Cycles beyond the first are bank-conflict
// cycles; a read's wait is its service cycle minus s.
//
// Two implementations of exactly that: serve_wave() (closed form, the fast path) and begin_wave() + step()
// (per-bank FIFO queues popped P at a time each cycle, the reference). Both keep the same counters, so a
// differential test can require identical results.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "modules/buffer/bank_map.h"
#include "modules/common/types.h"

namespace tacsim::buffer {

// A lane without a read in this wave.
inline constexpr std::uint32_t kNoRead = 0xffffffffu;

struct BankParams {
  // Our defaults, sized for the HP datapath's default 16 row engines (hp_datapath_engine.h): 16 banks, one
  // per column of a 16-wide HP block, of 4 ports each serve 64 reads a cycle, the 16 rows the engines
  // process together at 4 non-zeros per block row (HP at 90 % keeps k = 4, FORMATS.md); unstructured
  // weights of the same density meet in banks beyond that.
  std::uint32_t banks = 16;
  std::uint32_t ports_per_bank = 4;  // reads per bank per cycle
  BankMapKind map = BankMapKind::kHp;
  std::uint32_t block_cols = 16;  // HP block width (DESIGN.md's 16 x 16 example); used by the hp map

  std::string validate() const;
};

// The bank map p describes (bank_map.h). p must be valid.
std::unique_ptr<const BankMap> make_bank_map(const BankParams& p);

class BankArbiter {
 public:
  struct Counters {
    std::uint64_t waves = 0;  // non-empty waves served
    std::uint64_t reads = 0;
    std::uint64_t busy_cycles = 0;      // cycles in which a wave was being served
    std::uint64_t conflict_cycles = 0;  // busy cycles beyond the first of each wave
    std::uint64_t conflict_waves = 0;   // waves that took more than one cycle
    std::uint64_t wait_cycles = 0;      // sum over reads of (service cycle - wave start)
    bool operator==(const Counters& o) const {
      return waves == o.waves && reads == o.reads && busy_cycles == o.busy_cycles &&
             conflict_cycles == o.conflict_cycles && conflict_waves == o.conflict_waves &&
             wait_cycles == o.wait_cycles;
    }
  };
  // Per requester (lane): how often it read and how long its reads waited for a port.
  struct LaneCounters {
    std::uint64_t reads = 0;
    std::uint64_t wait_cycles = 0;
    bool operator==(const LaneCounters& o) const { return reads == o.reads && wait_cycles == o.wait_cycles; }
  };

  // Throws InputError when params are invalid or lanes is 0.
  BankArbiter(const BankParams& params, std::uint32_t lanes);

  // Closed form: the cycles a wave whose read i goes to bank banks_of_reads[i] takes. No side effects.
  // Waves wider than `lanes` or banks >= B (other than kNoRead) are programming errors
  // (std::invalid_argument), here and below.
  std::uint32_t wave_cycles(const std::vector<std::uint32_t>& banks_of_reads) const;

  // Fast path: serves a whole wave starting in cycle `start` in closed form; fills service_cycles(), updates
  // the counters and returns the wave's cycles. The arbiter must not be in the middle of a stepped wave.
  std::uint32_t serve_wave(Cycle start, const std::vector<std::uint32_t>& banks_of_reads);

  // Step model: queues a wave whose first cycle is `start` (std::logic_error if a wave is still in service).
  // An empty wave leaves the arbiter idle.
  void begin_wave(Cycle start, const std::vector<std::uint32_t>& banks_of_reads);
  bool busy() const { return outstanding_ != 0; }
  // Serves cycle `now`, which must be the wave's next cycle (start, start + 1, ...); returns the lanes served
  // in it, ascending. The wave is complete when busy() turns false.
  const std::vector<std::uint32_t>& step(Cycle now);

  // Service cycle of every read of the last wave (fast path) or of the current one so far (step model),
  // by lane; kNever for a read not yet served.
  const std::vector<Cycle>& service_cycles() const { return service_; }

  const Counters& counters() const { return c_; }
  const std::vector<LaneCounters>& lane_counters() const { return lane_c_; }
  const BankParams& params() const { return p_; }
  std::uint32_t lanes() const { return lanes_; }

 private:
  void check_wave(const std::vector<std::uint32_t>& banks_of_reads) const;
  void finish_wave(std::uint32_t cycles);

  BankParams p_;
  std::uint32_t lanes_;
  Counters c_;
  std::vector<LaneCounters> lane_c_;
  std::vector<Cycle> service_;
  // Reads per bank of the wave being evaluated; kept all-zero between calls by undoing only the banks a wave
  // touched, so a wave costs O(its reads), not O(B). Scratch, hence mutable in the const query.
  mutable std::vector<std::uint32_t> load_;
  mutable std::vector<std::uint32_t> touched_;
  // Step model state: per-bank FIFO of lanes, the banks with a non-empty queue, and the wave's clock.
  std::vector<std::vector<std::uint32_t>> queue_;
  std::vector<std::uint32_t> queue_head_;
  std::vector<std::uint32_t> active_;
  std::vector<std::uint32_t> served_;
  std::uint32_t outstanding_ = 0;
  Cycle wave_start_ = 0;
  Cycle next_cycle_ = 0;
};

}  // namespace tacsim::buffer
