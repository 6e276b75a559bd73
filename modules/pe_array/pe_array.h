#pragma once
// PeArray: the SystemC shell around PeArrayEngine. It takes tile commands from the controller, waits for each
// chunk's operand halves to be Full, lets the engine compute when the steps issue (and their values), releases
// the halves the cycle after their last step, and hands finished tiles to the output buffer at their done
// cycle (Buffer::mark_full_at). It wakes once per chunk, never per cycle.
#include <deque>
#include <vector>

#include <systemc>

#include "modules/buffer/buffer.h"
#include "modules/common/clock.h"
#include "modules/common/requant.h"
#include "modules/common/stats.h"
#include "modules/pe_array/pe_array_engine.h"

namespace tacsim::pe_array {

// One chunk of a tile: which halves hold its operands and how they are laid out there.
struct ChunkCommand {
  int act_half = 0;
  int weight_half = 0;
  std::uint32_t act_offset = 0;    // bytes from the start of the act half to the chunk's first activation
  std::uint32_t weight_offset = 0; // bytes from the start of the weight half to the chunk's first weight
  std::uint32_t act_stride = 0;    // bytes between activation rows in the act half
  std::uint32_t weight_stride = 0; // bytes between weight columns in the weight half
  std::uint32_t slots = 0;         // kept weights per column in this chunk (dense: the chunk's K)
  // N:M sparse chunks (n < m): each column's in-group indices, packed LSB-first at index_bits bits per slot
  // (modules/formats/FORMATS.md), start at index_offset + j * index_stride in the weight half.
  std::uint32_t n = 1, m = 1;
  std::uint32_t index_bits = 0;
  std::uint32_t index_offset = 0;
  std::uint32_t index_stride = 0;
  bool release_act = true;         // this chunk is a use of the act half's load
  bool release_weight = true;
};

// The array's output path: int32 accumulators as they are, or requantised to int8 (the rescale between one
// GEMM and the next, e.g. a projection feeding Q.K^T); optionally transposed, so that a tile of C lands in
// the out half as C^T (column j of the tile as one row of `rows` elements). Both sit in the drain path,
// one requantiser per column, and add no cycles.
struct OutputStage {
  bool requant = false;  // int8 outputs
  Requant rq;
  bool transpose = false;
  std::uint32_t element_bytes() const { return requant ? 1 : 4; }
};

struct TileCommand {
  TileShape shape;
  int out_half = 0;
  std::vector<ChunkCommand> chunks;
  OutputStage output;
};

class PeArray : public sc_core::sc_module, public StatsProvider {
 public:
  SC_HAS_PROCESS(PeArray);
  PeArray(const sc_core::sc_module_name& name, const Params& params, const ClockDomain& clock,
          buffer::Buffer& act_buffer, buffer::Buffer& weight_buffer, buffer::Buffer& out_buffer);

  void enqueue(TileCommand cmd);
  // Timing depends only on shapes and masks: a run that checks no values may skip the datapath arithmetic.
  void set_compute_values(bool on) { compute_values_ = on; }
  // Cycle the last enqueued tile was done (its outputs in the out buffer).
  Cycle last_done() const { return last_done_; }
  const StatsGroup& stats() const override { return stats_; }
  const PeArrayEngine& engine() const { return engine_; }

 private:
  void compute_thread();
  void write_outputs(const TileCommand& cmd);

  Params params_;
  const ClockDomain& clock_;
  buffer::Buffer& act_;
  buffer::Buffer& weight_;
  buffer::Buffer& out_;
  PeArrayEngine engine_;
  std::vector<std::uint8_t> indices_;  // the current chunk's indices, unpacked for the engine
  std::deque<TileCommand> commands_;
  sc_core::sc_event command_event_;
  Cycle last_done_ = 0;
  bool compute_values_ = true;
  StatsGroup stats_;
};

}  // namespace tacsim::pe_array
