#include "modules/control/controller.h"

#include <memory>

namespace tacsim::control {

using namespace sc_core;

Controller::Controller(const sc_module_name& name, const ClockDomain& clock, dma::Dma& dma,
                       buffer::Buffer& act_buffer, buffer::Buffer& weight_buffer, buffer::Buffer& out_buffer,
                       pe_array::PeArray& pe_array, hp::HpDatapath& hp_datapath)
    : sc_module(name),
      clock_(clock),
      dma_(dma),
      act_(act_buffer),
      weight_(weight_buffer),
      out_(out_buffer),
      pe_array_(pe_array),
      hp_datapath_(hp_datapath) {
  SC_THREAD(act_loader);
  SC_THREAD(weight_loader);
  SC_THREAD(writer);
  stats_.add("tiles_written", &tiles_written_, "tiles", "output tiles written back to memory");
  stats_.add("finish_cycle", &finish_cycle_, "cycles", "cycle the last write-back completed");
}

void Controller::start(Program program) {
  if (generation_ != 0 && !done_) SC_REPORT_FATAL(name(), "a program is already running");
  program_ = std::move(program);
  ++generation_;
  done_ = false;
  if (!program_.tiles.empty() && !program_.hp_tiles.empty())
    SC_REPORT_FATAL(name(), "a program runs on the PE array or on the HP datapath, not both");
  for (const auto& t : program_.tiles) pe_array_.enqueue(t);
  for (const auto& t : program_.hp_tiles) hp_datapath_.enqueue(t);
  start_event_.notify(SC_ZERO_TIME);
}

void Controller::load_into(buffer::Buffer& buf, const std::vector<BufferLoad>& loads) {
  for (std::uint64_t seen = 0;; seen = generation_) {
    while (seen == generation_) wait(start_event_);
    for (std::size_t i = 0; i < loads.size(); ++i) {
      const int half = static_cast<int>(i % 2);
      const BufferLoad& load = loads[i];
      buf.wait_empty(half);
      buf.start_fill(half, load.bytes());
      // The half is Full when the last of its blocks has arrived; on-chip blocks are there already.
      std::size_t by_dma = 0;
      for (const dma::BlockMove& b : load.blocks) {
        by_dma += b.on_chip ? 0 : 1;
        if (b.on_chip && on_chip_store_ != nullptr)
          dma::copy_on_chip(*on_chip_store_, b, buf.data(half) + b.local_offset, false);
      }
      if (by_dma == 0) buf.mark_full(half, load.uses);
      auto left = std::make_shared<std::size_t>(by_dma);
      for (const dma::BlockMove& b : load.blocks) {
        if (b.on_chip) continue;
        dma::Move m = dma::dma_move(b, buf.data(half) + b.local_offset, false);
        m.on_done = [&buf, half, uses = load.uses, left](Cycle) {
          if (--*left == 0) buf.mark_full(half, uses);
        };
        dma_.submit(std::move(m));
      }
    }
  }
}

void Controller::act_loader() {
  load_into(act_, program_.act_loads);
}
void Controller::weight_loader() {
  load_into(weight_, program_.weight_loads);
}

void Controller::writer() {
  for (std::uint64_t seen = 0;; seen = generation_) {
    while (seen == generation_) wait(start_event_);
    const std::vector<dma::BlockMove>& wbs = program_.writebacks;
    const std::vector<std::uint32_t>& groups = program_.writeback_groups;
    const std::size_t fills = groups.empty() ? wbs.size() : groups.size();
    std::size_t completed = 0, first = 0;  // fills written back; the first write-back of the current fill
    sc_event written;
    bool writing[2] = {false, false};  // a half stays Full while its write-backs are in flight
    for (std::size_t i = 0; i < fills; ++i) {
      const int half = static_cast<int>(i % 2);
      const std::size_t count = groups.empty() ? 1 : groups[i];
      while (writing[half]) wait(written);
      out_.wait_full(half);
      writing[half] = true;
      // Each tile's outputs sit at its block's local_offset in the half.
      std::uint64_t bytes = 0;
      std::size_t by_dma = 0;
      for (std::size_t w = first; w < first + count; ++w) {
        bytes += wbs[w].bytes();
        by_dma += wbs[w].on_chip ? 0 : 1;
      }
      auto finish = [this, half, bytes, count, &completed, &writing] {
        out_.release(half, bytes);
        writing[half] = false;
        tiles_written_ += count;
        ++completed;
      };
      auto left = std::make_shared<std::size_t>(by_dma);
      for (std::size_t w = first; w < first + count; ++w) {
        const dma::BlockMove& b = wbs[w];
        std::uint8_t* local = out_.data(half) + b.local_offset;
        if (b.on_chip) {
          // The outputs go on to the next unit on chip: no DMA, no time.
          if (on_chip_store_ != nullptr) dma::copy_on_chip(*on_chip_store_, b, local, true);
          continue;
        }
        dma::Move m = dma::dma_move(b, local, true);
        m.on_done = [left, finish, &written](Cycle) {
          if (--*left != 0) return;
          finish();
          written.notify(SC_ZERO_TIME);
        };
        dma_.submit(std::move(m));
      }
      if (by_dma == 0) finish();
      first += count;
    }
    while (completed < fills) wait(written);
    done_ = true;
    finish_cycle_ = clock_.now();
    finished_event_.notify(SC_ZERO_TIME);
  }
}

}  // namespace tacsim::control
