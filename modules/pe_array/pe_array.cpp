#include "modules/pe_array/pe_array.h"

#include <algorithm>

namespace tacsim::pe_array {

using namespace sc_core;

PeArray::PeArray(const sc_module_name& name, const Params& params, const ClockDomain& clock,
                 buffer::Buffer& act_buffer, buffer::Buffer& weight_buffer, buffer::Buffer& out_buffer)
    : sc_module(name),
      params_(params),
      clock_(clock),
      act_(act_buffer),
      weight_(weight_buffer),
      out_(out_buffer),
      engine_(params) {
  SC_THREAD(compute_thread);
  SC_THREAD(drain_thread);

  const auto& c = engine_.counters();
  stats_.add("tiles", &c.tiles, "tiles", "output tiles computed");
  stats_.add("steps", &c.steps, "cycles", "cycles in which the array issued a step");
  stats_.add("macs", &c.macs, "MACs", "multiply-accumulates performed, idle lanes of partial tiles excluded");
  stats_.add("selected_macs", &c.selected_macs, "MACs",
             "of those, MACs whose activation an M:1 selector picked (sparse x dense)");
  stats_.add("operand_stall_cycles", &c.operand_stall_cycles, "cycles",
             "cycles the array waited for operands in the buffers");
  stats_.add("drain_stall_cycles", &c.drain_stall_cycles, "cycles",
             "cycles held back so outputs do not collide on the column ports");
  stats_.add("out_stall_cycles", &c.out_stall_cycles, "cycles",
             "cycles the array waited for a free output half (charged before operand stalls)");
  const double peak = double(params.peak_macs_per_cycle());
  stats_.add_derived(
      "utilization", [this, peak] { return double(engine_.counters().macs) / (peak * double(last_done_)); },
      "ratio", "MACs / (peak MACs per cycle x cycles until the last tile was done)");
}

void PeArray::enqueue(TileCommand cmd) {
  commands_.push_back(std::move(cmd));
  command_event_.notify(SC_ZERO_TIME);
}

void PeArray::compute_thread() {
  for (;;) {
    if (commands_.empty()) {
      while (commands_.empty()) wait(command_event_);
      engine_.idle_until(clock_.now());
    }
    TileCommand cmd = std::move(commands_.front());
    commands_.pop_front();
    if (cmd.slot.accumulate && !params_.partial_sums)
      SC_REPORT_FATAL(name(), "a tile adds to partial sums, but pe_array.partial_sums is off");

    // The tile's accumulator set must have been drained.
    while (!engine_.can_begin(cmd.shape)) wait(drained_event_);
    const Cycle out_ready = params_.overlap_drain ? 0 : claim_out(cmd);
    engine_.begin_tile(cmd.shape);
    for (std::size_t i = 0; i < cmd.chunks.size(); ++i) {
      const ChunkCommand& ch = cmd.chunks[i];
      const Cycle ready = std::max(act_.wait_full(ch.act_half), weight_.wait_full(ch.weight_half));
      const Chunk data = compute_values_ ? chunk_view(ch, cmd.shape.cols, act_.data(ch.act_half),
                                                      weight_.data(ch.weight_half), indices_)
                                         : Chunk{};
      const PeArrayEngine::Counters before = engine_.counters();
      const Cycle last = engine_.issue_chunk(ready, ch.slots, compute_values_ ? &data : nullptr, out_ready);
      if (state_wave_) trace_chunk(before, last, engine_.steps_for(ch.slots));
      // The edge registers have taken every operand of the chunk by the cycle after its last step.
      clock_.wait_until(last + 1);
      if (ch.release_act) act_.release(ch.act_half, std::uint64_t{cmd.shape.rows} * (ch.slots / ch.n) * ch.m);
      if (ch.release_weight)
        weight_.release(ch.weight_half, std::uint64_t{cmd.shape.cols} *
                                            (ch.slots + (std::uint64_t{ch.slots} * ch.index_bits + 7) / 8));
    }
    engine_.end_tile();
    ended_.push_back(std::move(cmd));
    ended_event_.notify(SC_ZERO_TIME);
  }
}

namespace {
enum State : std::uint64_t { kIdle, kBusy, kOperandStall, kOutStall, kDrainStall };
}

void PeArray::attach_waves(waves::Recorder& r) {
  const std::string n = name();
  state_wave_ =
      r.enumerated(n + ".state", {"idle", "busy", "operand_stall", "out_stall", "drain_stall"},
                   "each cycle: issuing a step (busy), stalled and why (the stall counters), or idle");
  tiles_done_wave_ = r.integer(n + ".tiles_done", 32, "tiles whose outputs are in the out buffer");
  tiles_done_wave_.set(0, 0);
}

void PeArray::trace_chunk(const PeArrayEngine::Counters& before, Cycle last, std::uint64_t steps) {
  // issue_chunk charges its stalls over one contiguous stretch that ends at the first step, in this order:
  // one accumulator set: drain (column ports, mode switch), out half, operands; two sets: the wait for the
  // set (out half, or drain), mode switch (drain), operands. Cycles before them were idle.
  const auto& c = engine_.counters();
  const Cycle start = last + 1 - steps;
  const Cycle operand = c.operand_stall_cycles - before.operand_stall_cycles;
  const Cycle out = c.out_stall_cycles - before.out_stall_cycles;
  const Cycle drain = c.drain_stall_cycles - before.drain_stall_cycles;
  Cycle t = start - operand - out - drain;
  const auto segment = [&](std::uint64_t state, Cycle cycles) {
    if (cycles == 0) return;
    state_wave_.set(clock_.fs_at(t), state);
    t += cycles;
  };
  if (params_.overlap_drain) {
    segment(kOutStall, out);
    segment(kDrainStall, drain);
  } else {
    segment(kDrainStall, drain);
    segment(kOutStall, out);
  }
  segment(kOperandStall, operand);
  state_wave_.set(clock_.fs_at(start), kBusy);
  state_wave_.set(clock_.fs_at(last + 1), kIdle);
}

Cycle PeArray::claim_out(const TileCommand& cmd) {
  // Later tiles of a fill write into the half their fill's first tile claimed.
  if (!cmd.slot.claim) return 0;
  const Cycle free = out_.wait_empty(cmd.out_half);
  out_.start_fill(cmd.out_half, cmd.slot.fill_bytes != 0 ? cmd.slot.fill_bytes : cmd.out_bytes());
  return free;
}

void PeArray::drain_thread() {
  for (;;) {
    while (ended_.empty()) wait(ended_event_);
    const TileCommand cmd = std::move(ended_.front());
    ended_.pop_front();
    const Cycle out_ready = params_.overlap_drain ? claim_out(cmd) : 0;
    const Cycle done = engine_.drain_tile(out_ready);
    // Values: the outputs go into the out half now; the half is announced Full at the done cycle.
    if (compute_values_) write_tile_outputs(cmd, engine_.drained_outputs(), out_.data(cmd.out_half), sums_);
    last_done_ = done;
    if (tiles_done_wave_) tiles_done_wave_.set(clock_.fs_at(done), ++tiles_done_);
    if (cmd.slot.complete) out_.mark_full_at(cmd.out_half, 1, done);
    drained_event_.notify(SC_ZERO_TIME);
  }
}

}  // namespace tacsim::pe_array
