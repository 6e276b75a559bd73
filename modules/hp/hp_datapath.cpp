#include "modules/hp/hp_datapath.h"

#include <algorithm>
#include <cstring>

#include "modules/formats/csr.h"
#include "modules/formats/hp.h"

namespace tacsim::hp {

using namespace sc_core;

HpDatapath::HpDatapath(const sc_module_name& name, const HpDatapathParams& params, const ClockDomain& clock,
                       buffer::Buffer& act_buffer, buffer::Buffer& weight_buffer, buffer::Buffer& out_buffer)
    : sc_module(name),
      params_(params),
      clock_(clock),
      act_(act_buffer),
      weight_(weight_buffer),
      out_(out_buffer),
      engine_(params) {
  SC_THREAD(compute_thread);
  const auto& c = engine_.counters();
  stats_.add("tiles", &c.tiles, "tiles", "tiles walked");
  stats_.add("segments", &c.segments, "segments", "non-empty (row, block) segments walked");
  stats_.add("waves", &c.waves, "waves", "row engines' waves of activation reads");
  stats_.add("rounds", &c.rounds, "rounds", "rounds: every row engine's next wave, served together");
  stats_.add("idle_engine_rounds", &c.idle_engine_rounds, "rounds",
             "rounds x row engines - waves: an engine whose rows of the tile were done");
  stats_.add("reads", &c.reads, "words", "activation words read (one per weight entry)");
  stats_.add("macs", &c.macs, "MACs", "multiply-accumulates (reads x tokens)");
  stats_.add("fetch_cycles", &c.fetch_cycles, "cycles", "cycles the walk spent fetching activations");
  stats_.add("bank_conflict_cycles", &c.conflict_cycles, "cycles",
             "fetch cycles beyond one per round: reads that met in one activation bank");
  stats_.add("walk_wait_cycles", &c.walk_wait_cycles, "cycles", "tiles that waited for the previous walk");
  stats_.add("decoded_bytes", &decoded_bytes_, "bytes",
             "encoded weight bytes decoded from the weight buffer");
  stats_.add_json(
      "engine_wait_cycles",
      [this] {
        // The arbiter's requesters are the engines' lanes, engine e's at e x lanes.. (hp_datapath_engine.h).
        std::vector<std::uint64_t> per_engine(params_.row_engines, 0);
        const auto& lanes = engine_.arbiter().lane_counters();
        for (std::size_t l = 0; l < lanes.size(); ++l) per_engine[l / params_.lanes] += lanes[l].wait_cycles;
        return nlohmann::ordered_json(per_engine);
      },
      "cycles", "per row engine: cycles its reads waited for a bank port");
}

void HpDatapath::attach_waves(waves::Recorder& r) {
  const std::string n = name();
  nonzeros_wave_ =
      r.integer(n + ".nonzeros", 16,
                "weight non-zeros (activation reads) of the round being fetched; 0 between rounds");
  conflict_wave_ = r.integer(n + ".bank_conflict", 1,
                             "1 in a round's cycles beyond its first: its reads met in an activation bank");
  nonzeros_wave_.set(0, 0);
  conflict_wave_.set(0, 0);
}

// Rounds run back to back from first_fetch (hp_datapath_engine.h); each is one value of `nonzeros` for its
// cycles, of which all but the first are conflict cycles.
void HpDatapath::trace_rounds(const TileResult& r) const {
  if (r.rounds == 0 || (!nonzeros_wave_ && !conflict_wave_)) return;
  Cycle t = r.first_fetch;
  for (std::size_t i = 0; i < r.round_cycles.size(); ++i) {
    nonzeros_wave_.set(clock_.fs_at(t), r.round_reads[i]);
    conflict_wave_.set(clock_.fs_at(t), 0);
    if (r.round_cycles[i] > 1) conflict_wave_.set(clock_.fs_at(t + 1), 1);
    t += r.round_cycles[i];
  }
  nonzeros_wave_.set(clock_.fs_at(t), 0);
  conflict_wave_.set(clock_.fs_at(t), 0);
}

void HpDatapath::enqueue(HpTileCommand cmd) {
  commands_.push_back(cmd);
  command_event_.notify(SC_ZERO_TIME);
}

void HpDatapath::compute_thread() {
  for (;;) {
    while (commands_.empty()) wait(command_event_);
    const HpTileCommand cmd = commands_.front();
    commands_.pop_front();
    const Cycle out_ready = out_.wait_empty(cmd.out_half);
    out_.start_fill(cmd.out_half, std::uint64_t{cmd.tokens} * cmd.rows * 4);
    // The decoder takes tiles in order: a tile starts no earlier than the one before it.
    const Cycle ready =
        std::max({act_.wait_full(cmd.act_half), weight_.wait_full(cmd.weight_half), out_ready, last_start_});
    last_start_ = ready;

    // The decoder reads the encoded weights the DMA put in the weight half.
    const std::uint8_t* w = weight_.data(cmd.weight_half);
    SparseRows rows;
    if (cmd.encoding == WeightEncoding::kHp) {
      rows = sparse_rows(sparsity::decode_hp(std::vector<std::uint8_t>(w, w + cmd.weight_bytes), name()));
    } else {
      const auto [dense, mask] = sparsity::decode_csr(w, cmd.weight_bytes, static_cast<int>(cmd.rows),
                                                      static_cast<int>(cmd.cols), name());
      rows = sparse_rows(dense, mask);
    }
    decoded_bytes_ += cmd.weight_bytes;
    const auto* act = reinterpret_cast<const std::int8_t*>(act_.data(cmd.act_half)) + cmd.act_offset;
    const TileResult r = engine_.run_tile(ready, rows, act, cmd.tokens);
    trace_rounds(r);
    if (compute_values_) std::memcpy(out_.data(cmd.out_half), r.outputs.data(), r.outputs.size() * 4);

    // Operands are read by the end of the last fetch (an empty tile reads none: free them at the start).
    const Cycle read_done = r.last_fetch == kNever ? ready : r.last_fetch + 1;
    clock_.wait_until(read_done);
    if (cmd.release_act) act_.release(cmd.act_half, std::uint64_t{cmd.cols} * cmd.tokens);
    weight_.release(cmd.weight_half, cmd.weight_bytes);
    last_done_ = r.done + 1;
    out_.mark_full_at(cmd.out_half, 1, r.done + 1);
  }
}

}  // namespace tacsim::hp
