#pragma once
// Sfu: the SystemC shell of the special-function units (softmax, and the vector unit's layernorm, GELU and
// residual add). An operation runs in three steps, one after the other: the DMA reads its input block(s)
// into the SFU's row buffers, the unit computes for the cycles its engine's closed form gives (softmax_engine.h,
// vector_engine.h; a causal softmax row by row), and the DMA writes the result back. Timing only: the values
// of whole-model runs are not computed yet.
#include <vector>

#include <systemc>

#include "modules/common/clock.h"
#include "modules/common/stats.h"
#include "modules/control/program.h"
#include "modules/dma/dma.h"
#include "modules/sfu/softmax_engine.h"
#include "modules/sfu/vector_engine.h"

namespace tacsim::sfu {

struct SfuParams {
  SoftmaxParams softmax;
  VectorParams vector;
  // On-chip buffer for one head's attention scores (L x L int32): STA keeps attention on chip when they fit.
  std::uint32_t score_buffer_kib = 256;

  std::string validate() const;
};

enum class SfuKind { kSoftmax, kLayerNorm, kGelu, kResidualAdd };
const char* to_string(SfuKind kind);

struct SfuOp {
  SfuKind kind = SfuKind::kSoftmax;
  std::uint32_t rows = 0, row_len = 0;
  bool causal = false;                        // softmax: row i holds i + 1 valid scores
  std::vector<control::BlockMove> inputs;     // read before computing
  control::BlockMove output;                  // written after
};

class Sfu : public sc_core::sc_module, public StatsProvider {
 public:
  Sfu(const sc_core::sc_module_name& name, const SfuParams& params, const ClockDomain& clock, dma::Dma& dma);

  // Runs one operation from the calling thread; returns when its output is in memory.
  void run(const SfuOp& op);
  // Cycles from the operation's input being on chip to its output being complete.
  Cycle compute_cycles(const SfuOp& op) const;
  const StatsGroup& stats() const override { return stats_; }

 private:
  void move_all(const std::vector<control::BlockMove>& moves, bool write);

  SfuParams params_;
  const ClockDomain& clock_;
  dma::Dma& dma_;
  std::vector<std::uint8_t> scratch_;  // the row buffers' contents as the DMA moves them
  sc_core::sc_event moved_;
  std::uint64_t ops_ = 0, compute_cycles_ = 0, dma_cycles_ = 0, elements_ = 0;
  StatsGroup stats_;
};

}  // namespace tacsim::sfu
