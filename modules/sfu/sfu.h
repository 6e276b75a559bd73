#pragma once
// Sfu: the SystemC shell of the special-function units (softmax, and the vector unit's layernorm, GELU and
// residual add). An operation streams through in groups of rows (about stream_kib of input each): the DMA
// reads each group's input block(s) into the SFU's row buffers in order; the engines (softmax_engine.h,
// vector_engine.h) schedule each group's rows from its arrival, behind the rows before it; and the DMA writes
// a group's results back the cycle after its last one, while later groups still arrive or compute. An
// operation of one group is the three steps one after the other (compute_cycles() is then the unit's share).
//
// Values (when computed): the inputs arrive in the formats their producers write, row-major, and pass through
// an input requantiser (in_rq) into the unit's fixed-point format; results leave through an output
// requantiser (out_rq) as int8, the next GEMM's activations:
//   softmax       int32 accumulators -> in_rq -> scores (score_frac_bits) -> probabilities (prob_frac_bits)
//                 -> out_rq -> int8; a causal row i keeps its first query_offset + i + 1 scores, the rest
//                 get probability 0
//   gelu          int32 accumulators -> in_rq -> gelu_frac_bits -> GELU -> out_rq -> int8
//   residual_add  int32 accumulators -> in_rq (to int8) + int8 second input, saturating -> int8 (no out_rq)
//   layernorm     int8 -> int32 -> layernorm with gamma, beta (ln_out_frac_bits) -> out_rq -> int8
// The requantisers sit in the units' input and output beats and add no cycles.
#include <vector>

#include <systemc>

#include "modules/common/backing_store.h"
#include "modules/common/clock.h"
#include "modules/common/stats.h"
#include "modules/common/waves.h"
#include "modules/dma/dma.h"
#include "modules/sfu/sfu_op.h"

namespace tacsim::sfu {

class Sfu : public sc_core::sc_module, public StatsProvider {
 public:
  SC_HAS_PROCESS(Sfu);
  Sfu(const sc_core::sc_module_name& name, const SfuParams& params, const ClockDomain& clock, dma::Dma& dma);

  // Runs one operation from the calling thread; returns when its output is in memory.
  void run(const SfuOp& op);
  // The same in the SFU's own thread, so that the caller can drive the PE array meanwhile: returns at once;
  // finished() fires when the output is in memory. One operation at a time (busy() until then).
  void start(SfuOp op);
  // Operations one after another, in the SFU's thread (an epilogue fused to a block of a GEMM's outputs:
  // residual add, then layernorm); finished() fires when the last one's output is in memory.
  void start(std::vector<SfuOp> ops);
  // The cycle each of the last started operations was done, in order.
  const std::vector<Cycle>& done_cycles() const { return done_cycles_; }
  const sc_core::sc_event& finished() const { return finished_; }
  bool busy() const { return busy_; }
  // Cycles from the operation's input being on chip to its output being complete.
  Cycle compute_cycles(const SfuOp& op) const;
  const StatsGroup& stats() const override { return stats_; }
  // Waveforms: `op`, the operation from its start (inputs requested) until its output is in memory.
  void attach_waves(waves::Recorder& recorder);
  void set_compute_values(bool on) { compute_values_ = on; }
  // Where on-chip blocks' values live (dma/block_move.h, copy_on_chip).
  void set_on_chip_store(BackingStore* store) { on_chip_store_ = store; }

 private:
  void start_thread();
  void compute_values(const SfuOp& op, std::uint32_t r_begin, std::uint32_t r_end);

  SfuParams params_;
  const ClockDomain& clock_;
  dma::Dma& dma_;
  std::vector<std::uint8_t> scratch_;      // the inputs as the DMA brought them
  std::vector<std::uint8_t> out_scratch_;  // the results, as the DMA takes them out
  bool compute_values_ = false;
  BackingStore* on_chip_store_ = nullptr;
  sc_core::sc_event moved_;
  std::vector<SfuOp> pending_;
  std::vector<Cycle> done_cycles_;
  bool busy_ = false;
  sc_core::sc_event start_, finished_;
  std::uint64_t ops_ = 0, compute_cycles_ = 0, dma_cycles_ = 0, elements_ = 0;
  waves::Signal op_wave_;
  StatsGroup stats_;
};

}  // namespace tacsim::sfu
