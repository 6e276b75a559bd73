#pragma once
// TopkUnit: the SystemC shell of the sparse-attention unit (topk_attention_engine.h). One head per run(), in
// three steps: the DMA reads Q, K and V into the unit's buffers (all three moves in flight together); the
// unit computes for the head's cycles on an idle engine with everything ready when the inputs are in
// (TopkAttentionEngine's closed form): the context is complete the cycle after the head's done; then the DMA
// writes the context out. The buffers are doubled: told the next head, run() reads that head's inputs while
// it computes and returns when its own context write is issued, which the next run() awaits before issuing
// its own; a run() not told a next head returns when its context is in memory.
//
// Values (when computed): Q, K and V are int8, l rows of d each, row-major with any row stride in memory;
// the context leaves as int8, l rows of d, through the requantisers of the engine's header comment.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <systemc>

#include "modules/common/backing_store.h"
#include "modules/common/clock.h"
#include "modules/common/stats.h"
#include "modules/dma/dma.h"
#include "modules/sfu/topk_attention_engine.h"
#include "modules/sfu/topk_op.h"

namespace tacsim::sfu {

class TopkUnit : public sc_core::sc_module, public StatsProvider {
 public:
  // Throws InputError when params.validate() fails.
  TopkUnit(const sc_core::sc_module_name& name, const TopkAttentionParams& params, const ClockDomain& clock,
           dma::Dma& dma);
  TopkUnit(const TopkUnit&) = delete;
  TopkUnit& operator=(const TopkUnit&) = delete;

  // Runs one head from the calling thread; returns when its context is in memory. With `next`, the head the
  // caller runs after this one (whose inputs must be in memory already): its inputs are read during this
  // head's compute, and this head's context is still being written on return. A run() of another head than
  // the announced one awaits the prefetch and reads its own inputs.
  void run(const TopkOp& op, const TopkOp* next = nullptr);
  // Cycles from the inputs being on chip to the context being complete: the head's done + 1.
  Cycle compute_cycles(const TopkOp& op) const;
  const StatsGroup& stats() const override { return stats_; }
  void set_compute_values(bool on) { compute_values_ = on; }
  // Where on-chip blocks' values live (dma/block_move.h, copy_on_chip).
  void set_on_chip_store(BackingStore* store) { on_chip_store_ = store; }

 private:
  using Block = std::pair<const dma::BlockMove*, std::vector<std::uint8_t>*>;
  using Pending = std::shared_ptr<std::size_t>;  // moves of one group still in flight (null: none)
  struct Buffers {
    std::vector<std::uint8_t> q, k, v, out;  // as the DMA moves them
    dma::BlockMove q_from, k_from, v_from;   // where q, k and v were read from
    Pending reads;
  };
  void check(const TopkOp& op) const;
  Pending start_moves(const std::vector<Block>& blocks, bool write);
  void await(const Pending& moves);
  void read_inputs(const TopkOp& op, Buffers& b);

  TopkAttentionParams params_;
  const ClockDomain& clock_;
  dma::Dma& dma_;
  std::array<Buffers, 2> buffers_;
  std::size_t current_ = 0;  // buffers_[current_] holds the next head's inputs when prefetched_
  bool prefetched_ = false;
  Pending writes_;  // the last head's context write
  bool compute_values_ = false;
  BackingStore* on_chip_store_ = nullptr;
  sc_core::sc_event moved_;
  std::uint64_t heads_ = 0, queries_ = 0, compute_cycles_ = 0, dma_cycles_ = 0;
  std::uint64_t lut_products_ = 0, exact_macs_ = 0, sv_macs_ = 0, prefetched_heads_ = 0,
                prefetches_unused_ = 0;
  StatsGroup stats_;
};

}  // namespace tacsim::sfu
