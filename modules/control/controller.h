#pragma once
// Controller: the engine's sequencer. Two loader threads keep the act and weight buffers one load ahead of the
// PE array (each waits for its next half to be Empty, then asks the DMA to fill it), the PE array runs the
// tiles, and a writer thread sends each finished output half back to memory and frees it. The run is
// finished when the last write-back has completed.
#include <systemc>

#include "modules/buffer/buffer.h"
#include "modules/common/clock.h"
#include "modules/common/stats.h"
#include "modules/control/program.h"
#include "modules/dma/dma.h"
#include "modules/hp/hp_datapath.h"
#include "modules/pe_array/pe_array.h"

namespace tacsim::control {

class Controller : public sc_core::sc_module, public StatsProvider {
 public:
  SC_HAS_PROCESS(Controller);
  Controller(const sc_core::sc_module_name& name, const ClockDomain& clock, dma::Dma& dma,
             buffer::Buffer& act_buffer, buffer::Buffer& weight_buffer, buffer::Buffer& out_buffer,
             pe_array::PeArray& pe_array, hp::HpDatapath& hp_datapath);

  // Starts a program (before or during simulation, once the previous one is done); `finished()` fires when its
  // last write-back is in memory.
  void start(Program program);
  const sc_core::sc_event& finished() const { return finished_event_; }
  bool done() const { return done_; }
  Cycle finish_cycle() const { return finish_cycle_; }
  const StatsGroup& stats() const override { return stats_; }
  // Where on-chip blocks' values live (dma/block_move.h, copy_on_chip); none: on-chip blocks carry no values.
  void set_on_chip_store(BackingStore* store) { on_chip_store_ = store; }

 private:
  void act_loader();
  void weight_loader();
  void writer();
  void load_into(buffer::Buffer& buf, const std::vector<BufferLoad>& loads);

  const ClockDomain& clock_;
  dma::Dma& dma_;
  buffer::Buffer& act_;
  buffer::Buffer& weight_;
  buffer::Buffer& out_;
  pe_array::PeArray& pe_array_;
  hp::HpDatapath& hp_datapath_;
  Program program_;
  sc_core::sc_event start_event_;
  sc_core::sc_event finished_event_;
  BackingStore* on_chip_store_ = nullptr;
  std::uint64_t generation_ = 0;  // programs started so far
  bool done_ = false;
  Cycle finish_cycle_ = 0;
  std::uint64_t tiles_written_ = 0;
  StatsGroup stats_;
};

}  // namespace tacsim::control
