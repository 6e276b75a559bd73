#pragma once
// Buffer: an on-chip SRAM split into two halves (ping-pong), so the DMA fills one half while the compute side
// reads the other. Each half is Empty, Filling or Full; a Full half carries a use count (a block of
// activations reused by several tiles) and becomes Empty when its last user releases it. Loads alternate
// halves: load i goes to half i % 2. Every state change is stamped with its cycle, so a consumer that arrives
// late still knows when the data was there. Bank arbitration lands with the banked-buffer model.
#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <systemc>

#include "modules/common/clock.h"
#include "modules/common/stats.h"
#include "modules/common/waves.h"

namespace tacsim::buffer {

struct Params {
  static constexpr std::uint32_t kMaxCapacityKib = 1u << 20;
  std::uint32_t capacity_kib = 128;  // both halves together (banking: buffer::BankParams, bank_arbiter.h)

  std::string validate() const;
  std::uint64_t half_bytes() const { return std::uint64_t{capacity_kib} * 1024 / 2; }
};

class Buffer : public sc_core::sc_module, public StatsProvider {
 public:
  SC_HAS_PROCESS(Buffer);
  Buffer(const sc_core::sc_module_name& name, const Params& params, const ClockDomain& clock);

  std::uint64_t half_bytes() const { return params_.half_bytes(); }
  std::uint8_t* data(int half) { return halves_[half].data.data(); }

  // Blocks the calling thread until `half` is Empty; returns the cycle it became Empty.
  Cycle wait_empty(int half);
  // Empty -> Filling (by a producer that holds the half from now on).
  void start_fill(int half, std::uint64_t bytes);
  // Filling -> Full with `uses` consumers, at the current cycle.
  void mark_full(int half, std::uint32_t uses);
  // The same at a later cycle (a producer that knows now when its last write lands); in call order.
  void mark_full_at(int half, std::uint32_t uses, Cycle at);
  // Blocks until `half` is Full; returns the cycle it became Full.
  Cycle wait_full(int half);
  // One consumer is done with `half` at the current cycle; the last one makes it Empty.
  void release(int half, std::uint64_t bytes_read);

  const StatsGroup& stats() const override { return stats_; }
  // Waveforms: `half0` and `half1`, each half's state (empty, filling, full).
  void attach_waves(waves::Recorder& recorder);

 private:
  enum class State { Empty, Filling, Full };
  struct Half {
    State state = State::Empty;
    std::uint32_t uses = 0;
    std::uint64_t bytes = 0;
    Cycle since = 0;
    std::vector<std::uint8_t> data;
    sc_core::sc_event changed;
  };

  void delayed_full_thread();
  void trace(int half) const;

  Params params_;
  const ClockDomain& clock_;
  std::array<Half, 2> halves_;
  struct DelayedFull {
    int half;
    std::uint32_t uses;
    Cycle at;
  };
  std::deque<DelayedFull> delayed_full_;
  sc_core::sc_event delayed_event_;
  std::uint64_t fills_ = 0, bytes_written_ = 0, bytes_read_ = 0, peak_bytes_ = 0;
  std::array<waves::Signal, 2> half_waves_;
  StatsGroup stats_;
};

}  // namespace tacsim::buffer
