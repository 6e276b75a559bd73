#pragma once
// Controller: the engine's sequencer. Two loader threads keep the act and weight buffers one load ahead of
// the PE array (each waits for its next half to be Empty, then asks the DMA to fill it), the PE array runs
// the tiles, and a writer thread sends each finished output half back to memory and frees it. A program is
// finished when its last write-back has completed.
//
// Overlap between operations (Params::overlap_operations): the controller holds the next operation's program
// while the current one runs. Its loads follow the current program's into the halves as they free, and its
// tiles follow on the array, so the next GEMM's first operands load while this one computes and drains. The
// order is kept by a scoreboard of write-backs: a load that reads any byte an earlier program has still to
// write back waits until that write-back is in memory, so an operation that reads its predecessor's output
// waits only for the rows (the tiles' blocks) it reads. Off, a program starts once the previous one finished.
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include <systemc>

#include "modules/buffer/buffer.h"
#include "modules/common/clock.h"
#include "modules/common/stats.h"
#include "modules/control/program.h"
#include "modules/dma/dma.h"
#include "modules/hp/hp_datapath.h"
#include "modules/pe_array/pe_array.h"

namespace tacsim::control {

struct Params {
  bool overlap_operations = true;  // hold a second program while one runs (above)

  std::string validate() const { return ""; }
  // Programs submitted and not yet finished, at most.
  std::size_t queue_depth() const { return overlap_operations ? 2 : 1; }
};

// Whether a DMA block's bytes and another's share an address. Exact for two blocks of rows at the same
// stride whose rows do not wrap around it (tiles of one row-major matrix); otherwise it compares the ranges
// from each block's first to its last byte, which may say yes for two interleaved blocks that share none.
bool may_overlap(const dma::BlockMove& a, const dma::BlockMove& b);

class Controller : public sc_core::sc_module, public StatsProvider {
 public:
  SC_HAS_PROCESS(Controller);
  Controller(const sc_core::sc_module_name& name, const Params& params, const ClockDomain& clock,
             dma::Dma& dma, buffer::Buffer& act_buffer, buffer::Buffer& weight_buffer,
             buffer::Buffer& out_buffer, pe_array::PeArray& pe_array, hp::HpDatapath& hp_datapath);

  // Queues a program behind those not yet finished. Blocks the calling thread while queue_depth() programs
  // are unfinished, or while the unfinished ones run on the other datapath (PE array or HP datapath).
  // `on_finish` runs at the cycle its last write-back is in memory, in the controller's thread (it must not
  // wait); `finished()` fires then too.
  void submit(Program program, std::function<void(Cycle)> on_finish = {});
  // A program on an idle controller (SC_REPORT_FATAL otherwise); `finished()` fires when it is done.
  void start(Program program);
  // Blocks the calling thread until every submitted program has finished.
  void wait_idle();
  bool idle() const { return programs_.empty(); }
  const sc_core::sc_event& finished() const { return finished_event_; }
  // Every submitted program has finished (and there was one).
  bool done() const { return submitted_ > 0 && programs_.empty(); }
  Cycle finish_cycle() const { return finish_cycle_; }
  const StatsGroup& stats() const override { return stats_; }
  // Where on-chip blocks' values live (dma/block_move.h, copy_on_chip); none: on-chip blocks carry no values.
  void set_on_chip_store(BackingStore* store) { on_chip_store_ = store; }

 private:
  struct Entry {
    Program program;
    std::function<void(Cycle)> on_finish;
    std::size_t fills = 0;                               // of the output buffer
    std::size_t written = 0;                             // fills whose write-backs are all in memory
    bool writer_done = false;                            // the writer has taken every fill
    std::vector<bool> written_back;                      // per write-back: in memory (the scoreboard)
    bool hp = false;                                     // runs on the HP datapath
    int act_half0 = 0, weight_half0 = 0, out_half0 = 0;  // the halves its first loads and fill go to
  };

  void act_loader();
  void weight_loader();
  void writer();
  void load_into(buffer::Buffer& buf, bool act);
  // Waits until no unfinished program before `id` has a write-back pending that `load` reads.
  void await_writes(std::uint64_t id, const BufferLoad& load);
  bool reads_pending(std::uint64_t id, const BufferLoad& load) const;
  void finisher();
  // Retires the oldest programs whose write-backs are all in memory.
  void retire();
  Entry& entry(std::uint64_t id) { return programs_[id - first_]; }
  // Waits until program `id` has been submitted.
  void await_submitted(std::uint64_t id);

  Params params_;
  const ClockDomain& clock_;
  dma::Dma& dma_;
  buffer::Buffer& act_;
  buffer::Buffer& weight_;
  buffer::Buffer& out_;
  pe_array::PeArray& pe_array_;
  hp::HpDatapath& hp_datapath_;
  std::deque<Entry> programs_;  // unfinished, oldest first; the front is program first_
  std::uint64_t first_ = 0, submitted_ = 0;
  // The halves the next program's first act load, weight load and output fill go to (loads alternate).
  int act_half0_ = 0, weight_half0_ = 0, out_half0_ = 0;
  sc_core::sc_event submitted_event_, finished_event_, written_event_;
  bool writing_[2] = {false, false};  // an output half stays Full while its write-backs are in flight
  BackingStore* on_chip_store_ = nullptr;
  Cycle finish_cycle_ = 0;
  std::uint64_t tiles_written_ = 0, programs_done_ = 0, overlapped_programs_ = 0, hazard_wait_cycles_ = 0;
  StatsGroup stats_;
};

}  // namespace tacsim::control
