#include "modules/pe_array/pe_array.h"

#include <algorithm>
#include <cstring>

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
  stats_.add("operand_stall_cycles", &c.operand_stall_cycles, "cycles",
             "cycles the array waited for operands in the buffers");
  stats_.add("drain_stall_cycles", &c.drain_stall_cycles, "cycles",
             "cycles held back so outputs do not collide on the column ports");
  stats_.add("out_stall_cycles", &c.out_stall_cycles, "cycles",
             "cycles the array waited for a free output half (charged before operand stalls)");
  const double peak = double(params.peak_macs_per_cycle());
  stats_.add_derived("utilization", [this, peak] {
    return double(engine_.counters().macs) / (peak * double(last_done_)); }, "ratio",
    "MACs / (peak MACs per cycle x cycles until the last tile was done)");
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

    // The tile's accumulator set must have been drained.
    while (!engine_.can_begin(cmd.shape)) wait(drained_event_);
    const Cycle out_ready = params_.overlap_drain ? 0 : claim_out(cmd);
    engine_.begin_tile(cmd.shape);
    for (std::size_t i = 0; i < cmd.chunks.size(); ++i) {
      const ChunkCommand& ch = cmd.chunks[i];
      const Cycle ready = std::max(act_.wait_full(ch.act_half), weight_.wait_full(ch.weight_half));
      Chunk data;
      data.act = reinterpret_cast<const std::int8_t*>(act_.data(ch.act_half)) + ch.act_offset;
      data.act_stride = ch.act_stride;
      data.values = reinterpret_cast<const std::int8_t*>(weight_.data(ch.weight_half)) + ch.weight_offset;
      data.col_stride = ch.weight_stride;
      data.slots = ch.slots;
      if (compute_values_ && ch.n < ch.m) {
        // The index decoder: unpack each column's bit-packed in-group indices (LSB-first).
        indices_.resize(std::size_t{cmd.shape.cols} * ch.slots);
        for (std::uint32_t j = 0; j < cmd.shape.cols; ++j) {
          const std::uint8_t* bits = weight_.data(ch.weight_half) + ch.index_offset + std::size_t{j} * ch.index_stride;
          for (std::uint32_t q = 0; q < ch.slots; ++q) {
            std::uint32_t v = 0;
            for (std::uint32_t b = 0; b < ch.index_bits; ++b) {
              const std::size_t p = std::size_t{q} * ch.index_bits + b;
              v |= ((bits[p / 8] >> (p % 8)) & 1u) << b;
            }
            indices_[std::size_t{j} * ch.slots + q] = static_cast<std::uint8_t>(v);
          }
        }
        data.index = indices_.data();
        data.index_stride = ch.slots;
        data.n = ch.n;
        data.m = ch.m;
      }
      const Cycle last = engine_.issue_chunk(ready, ch.slots, compute_values_ ? &data : nullptr, out_ready);
      // The edge registers have taken every operand of the chunk by the cycle after its last step.
      clock_.wait_until(last + 1);
      if (ch.release_act) act_.release(ch.act_half, std::uint64_t{cmd.shape.rows} * (ch.slots / ch.n) * ch.m);
      if (ch.release_weight)
        weight_.release(ch.weight_half,
                        std::uint64_t{cmd.shape.cols} * (ch.slots + (std::uint64_t{ch.slots} * ch.index_bits + 7) / 8));
    }
    engine_.end_tile();
    ended_.push_back(std::move(cmd));
    ended_event_.notify(SC_ZERO_TIME);
  }
}

Cycle PeArray::claim_out(const TileCommand& cmd) {
  const Cycle free = out_.wait_empty(cmd.out_half);
  out_.start_fill(cmd.out_half, std::uint64_t{cmd.shape.rows} * cmd.shape.cols * cmd.output.element_bytes());
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
    if (compute_values_) write_outputs(cmd, engine_.drained_outputs());
    last_done_ = done;
    out_.mark_full_at(cmd.out_half, 1, done);
    drained_event_.notify(SC_ZERO_TIME);
  }
}

void PeArray::write_outputs(const TileCommand& cmd, const std::vector<std::int32_t>& acc) {
  // acc: rows x cols, row-major
  const std::uint32_t rows = cmd.shape.rows, cols = cmd.shape.cols;
  std::uint8_t* out = out_.data(cmd.out_half);
  const OutputStage& o = cmd.output;
  for (std::uint32_t i = 0; i < rows; ++i)
    for (std::uint32_t j = 0; j < cols; ++j) {
      const std::size_t at = o.transpose ? std::size_t{j} * rows + i : std::size_t{i} * cols + j;
      const std::int32_t v = acc[std::size_t{i} * cols + j];
      if (o.requant)
        out[at] = static_cast<std::uint8_t>(static_cast<std::int8_t>(o.rq.apply(v)));
      else
        std::memcpy(out + at * 4, &v, 4);
    }
}

}  // namespace tacsim::pe_array
