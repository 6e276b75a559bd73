#pragma once
// PeArray: the SystemC shell around PeArrayEngine. Its compute thread takes tile commands from the
// controller, waits for each chunk's operand halves to be Full, lets the engine compute when the steps issue
// (and their values) and releases the halves the cycle after their last step. Its drain thread takes each
// ended tile, claims its output half (with one accumulator set the compute thread claimed it before the first
// step), lets the engine time the drain, writes the values and hands the half to the output buffer at the
// done cycle (Buffer::mark_full_at). Both wake once per chunk or tile, never per cycle.
#include <deque>
#include <vector>

#include <systemc>

#include "modules/buffer/buffer.h"
#include "modules/common/clock.h"
#include "modules/common/stats.h"
#include "modules/common/waves.h"
#include "modules/pe_array/pe_array_engine.h"
#include "modules/pe_array/tile_command.h"

namespace tacsim::pe_array {

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
  // Waveforms: `state` (each cycle idle, busy issuing a step, or stalled and why, as the stall counters
  // charge it) and `tiles_done` (tiles whose outputs are in the out buffer, from their done cycle).
  void attach_waves(waves::Recorder& recorder);

 private:
  void compute_thread();
  void drain_thread();
  // Waits for the tile's output half to be Empty and claims it; returns the cycle it became Empty.
  Cycle claim_out(const TileCommand& cmd);
  // The state waveform of a chunk just issued, from the counters before it and its last step.
  void trace_chunk(const PeArrayEngine::Counters& before, Cycle last, std::uint64_t steps);

  Params params_;
  const ClockDomain& clock_;
  buffer::Buffer& act_;
  buffer::Buffer& weight_;
  buffer::Buffer& out_;
  PeArrayEngine engine_;
  std::vector<std::uint8_t> indices_;  // the current chunk's indices, unpacked for the engine
  std::vector<std::int32_t> sums_;     // scratch: a drained tile's sums with the slot's partial sums
  std::deque<TileCommand> commands_;
  sc_core::sc_event command_event_;
  std::deque<TileCommand> ended_;  // tiles whose steps have issued, waiting for the drain thread
  sc_core::sc_event ended_event_, drained_event_;
  Cycle last_done_ = 0;
  bool compute_values_ = true;
  waves::Signal state_wave_, tiles_done_wave_;
  std::uint64_t tiles_done_ = 0;  // counted only for tiles_done_wave_
  StatsGroup stats_;
};

}  // namespace tacsim::pe_array
