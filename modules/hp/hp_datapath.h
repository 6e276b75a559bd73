#pragma once
// HpDatapath: the SystemC shell of the HP path. For each tile it waits for the activation half (K columns of
// Rt tokens, column-major), the weight half (one block of weight rows, HP stream or CSR bytes as they came
// from DRAM) and a free output half; decodes the weights from the buffer's bytes; lets HpDatapathEngine time
// the row engines' walk (rounds of activation reads against the banked activation buffer, conflicts
// included) and compute
// the int32 outputs; frees the operand halves the cycle after the last fetch and announces the outputs the
// cycle after the last accumulate.
#include <deque>

#include <systemc>

#include "modules/buffer/buffer.h"
#include "modules/common/clock.h"
#include "modules/common/stats.h"
#include "modules/common/waves.h"
#include "modules/hp/hp_datapath_engine.h"
#include "modules/hp/hp_tile_command.h"

namespace tacsim::hp {

class HpDatapath : public sc_core::sc_module, public StatsProvider {
 public:
  SC_HAS_PROCESS(HpDatapath);
  HpDatapath(const sc_core::sc_module_name& name, const HpDatapathParams& params, const ClockDomain& clock,
             buffer::Buffer& act_buffer, buffer::Buffer& weight_buffer, buffer::Buffer& out_buffer);

  void enqueue(HpTileCommand cmd);
  void set_compute_values(bool on) { compute_values_ = on; }
  Cycle last_done() const { return last_done_; }
  const StatsGroup& stats() const override { return stats_; }
  const HpDatapathEngine& engine() const { return engine_; }
  // Waveforms: `nonzeros`, the weight non-zeros (activation reads) of the round being fetched, and
  // `bank_conflict`, 1 in a round's cycles beyond its first (its reads met in an activation bank).
  void attach_waves(waves::Recorder& recorder);
  std::uint64_t peak_macs_per_cycle(std::uint32_t tokens) const {
    return std::uint64_t{tokens} * params_.round_lanes();
  }

 private:
  void compute_thread();
  void trace_rounds(const TileResult& r) const;

  HpDatapathParams params_;
  const ClockDomain& clock_;
  buffer::Buffer& act_;
  buffer::Buffer& weight_;
  buffer::Buffer& out_;
  HpDatapathEngine engine_;
  std::deque<HpTileCommand> commands_;
  sc_core::sc_event command_event_;
  Cycle last_done_ = 0;
  Cycle last_start_ = 0;
  bool compute_values_ = true;
  std::uint64_t decoded_bytes_ = 0;
  waves::Signal nonzeros_wave_, conflict_wave_;
  StatsGroup stats_;
};

}  // namespace tacsim::hp
