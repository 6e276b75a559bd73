#include "modules/control/controller.h"

#include <algorithm>
#include <memory>

namespace tacsim::control {

using namespace sc_core;

bool may_overlap(const dma::BlockMove& a, const dma::BlockMove& b) {
  if (a.rows == 0 || b.rows == 0 || a.row_bytes == 0 || b.row_bytes == 0) return false;
  const std::uint64_t a_end = a.address + (a.rows - 1) * a.stride + a.row_bytes;
  const std::uint64_t b_end = b.address + (b.rows - 1) * b.stride + b.row_bytes;
  if (a_end <= b.address || b_end <= a.address) return false;
  const std::uint64_t s = a.stride;
  if (a.rows > 1 && b.rows > 1 && b.stride == s && s >= a.row_bytes && s >= b.row_bytes) {
    // Both are blocks of one matrix of rows s bytes apart: rows and columns relative to the lower start.
    const std::uint64_t base = std::min(a.address, b.address);
    const std::uint64_t ar = (a.address - base) / s, ac = (a.address - base) % s;
    const std::uint64_t br = (b.address - base) / s, bc = (b.address - base) % s;
    if (ac + a.row_bytes <= s && bc + b.row_bytes <= s)
      return ar < br + b.rows && br < ar + a.rows && ac < bc + b.row_bytes && bc < ac + a.row_bytes;
  }
  return true;
}

Controller::Controller(const sc_module_name& name, const Params& params, const ClockDomain& clock,
                       dma::Dma& dma, buffer::Buffer& act_buffer, buffer::Buffer& weight_buffer,
                       buffer::Buffer& out_buffer, pe_array::PeArray& pe_array, hp::HpDatapath& hp_datapath)
    : sc_module(name),
      params_(params),
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
  SC_THREAD(finisher);
  stats_.add("tiles_written", &tiles_written_, "tiles", "output tiles written back to memory");
  stats_.add("finish_cycle", &finish_cycle_, "cycles", "cycle the last write-back completed");
  stats_.add("programs", &programs_done_, "programs", "programs (one GEMM, or one block of one) finished");
  stats_.add("overlapped_programs", &overlapped_programs_, "programs",
             "programs submitted while an earlier one was still running (controller.overlap_operations)");
  stats_.add("hazard_wait_cycles", &hazard_wait_cycles_, "cycles",
             "cycles a loader held a load back until an earlier program had written what it reads (both "
             "loaders summed)");
}

void Controller::submit(Program program, std::function<void(Cycle)> on_finish) {
  const bool hp = !program.hp_tiles.empty();
  if (!program.tiles.empty() && hp)
    SC_REPORT_FATAL(name(), "a program runs on the PE array or on the HP datapath, not both");
  // The output buffer's fills go back in order: two datapaths filling it at once would not.
  while (programs_.size() >= params_.queue_depth() || (!programs_.empty() && programs_.back().hp != hp))
    wait(finished_event_);
  // Idle, every half is Empty: a program starts at half 0 of each buffer, as it would alone.
  if (programs_.empty())
    act_half0_ = weight_half0_ = out_half0_ = 0;
  else
    ++overlapped_programs_;
  Entry e;
  e.hp = hp;
  e.act_half0 = act_half0_;
  e.weight_half0 = weight_half0_;
  e.out_half0 = out_half0_;
  // The program counts its loads and fills from half 0; they continue the alternation of the one before.
  auto shift = [](int& half, int by) { half = (half + by) % 2; };
  for (pe_array::TileCommand& t : program.tiles) {
    shift(t.out_half, out_half0_);
    for (pe_array::ChunkCommand& c : t.chunks) {
      shift(c.act_half, act_half0_);
      shift(c.weight_half, weight_half0_);
    }
  }
  for (hp::HpTileCommand& t : program.hp_tiles) {
    shift(t.act_half, act_half0_);
    shift(t.weight_half, weight_half0_);
    shift(t.out_half, out_half0_);
  }
  e.fills = program.writeback_groups.empty() ? program.writebacks.size() : program.writeback_groups.size();
  e.written_back.assign(program.writebacks.size(), false);
  act_half0_ = static_cast<int>((act_half0_ + program.act_loads.size()) % 2);
  weight_half0_ = static_cast<int>((weight_half0_ + program.weight_loads.size()) % 2);
  out_half0_ = static_cast<int>((out_half0_ + e.fills) % 2);
  for (const auto& t : program.tiles) pe_array_.enqueue(t);
  for (const auto& t : program.hp_tiles) hp_datapath_.enqueue(t);
  e.program = std::move(program);
  e.on_finish = std::move(on_finish);
  programs_.push_back(std::move(e));
  ++submitted_;
  submitted_event_.notify(SC_ZERO_TIME);
}

void Controller::start(Program program) {
  if (!programs_.empty()) SC_REPORT_FATAL(name(), "a program is already running");
  submit(std::move(program));
}

void Controller::wait_idle() {
  while (!programs_.empty()) wait(finished_event_);
}

void Controller::await_submitted(std::uint64_t id) {
  while (id >= submitted_) wait(submitted_event_);
}

bool Controller::reads_pending(std::uint64_t id, const BufferLoad& load) const {
  for (std::uint64_t q = first_; q < id; ++q) {
    const Entry& p = programs_[q - first_];
    const std::vector<dma::BlockMove>& wbs = p.program.writebacks;
    for (std::size_t w = 0; w < wbs.size(); ++w) {
      if (p.written_back[w] || wbs[w].on_chip) continue;
      for (const dma::BlockMove& b : load.blocks)
        if (!b.on_chip && may_overlap(b, wbs[w])) return true;
    }
  }
  return false;
}

void Controller::await_writes(std::uint64_t id, const BufferLoad& load) {
  if (id == first_) return;  // nothing earlier is unfinished
  const Cycle t0 = clock_.now();
  while (reads_pending(id, load)) wait(written_event_);
  hazard_wait_cycles_ += clock_.now() - t0;
}

void Controller::load_into(buffer::Buffer& buf, bool act) {
  for (std::uint64_t id = 0;; ++id) {
    await_submitted(id);
    if (id < first_) continue;  // finished already: it had no loads of this buffer
    Entry& p = entry(id);
    const std::vector<BufferLoad>& loads = act ? p.program.act_loads : p.program.weight_loads;
    const int half0 = act ? p.act_half0 : p.weight_half0;
    for (std::size_t i = 0; i < loads.size(); ++i) {
      const int half = static_cast<int>((half0 + i) % 2);
      const BufferLoad& load = loads[i];
      buf.wait_empty(half);
      await_writes(id, load);
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
  load_into(act_, true);
}
void Controller::weight_loader() {
  load_into(weight_, false);
}

void Controller::writer() {
  for (std::uint64_t id = 0;; ++id) {
    await_submitted(id);
    Entry& p = entry(id);  // not retired before the writer has taken its fills
    const std::vector<dma::BlockMove>& wbs = p.program.writebacks;
    const std::vector<std::uint32_t>& groups = p.program.writeback_groups;
    std::size_t first = 0;  // the first write-back of the current fill
    for (std::size_t i = 0; i < p.fills; ++i) {
      const int half = static_cast<int>((p.out_half0 + i) % 2);
      const std::size_t count = groups.empty() ? 1 : groups[i];
      while (writing_[half]) wait(written_event_);
      out_.wait_full(half);
      writing_[half] = true;
      // Each tile's outputs sit at its block's local_offset in the half.
      std::uint64_t bytes = 0;
      std::size_t by_dma = 0;
      for (std::size_t w = first; w < first + count; ++w) {
        bytes += wbs[w].bytes();
        by_dma += wbs[w].on_chip ? 0 : 1;
      }
      Entry* entry_p = &p;
      auto finish = [this, entry_p, half, bytes, first, count] {
        out_.release(half, bytes);
        writing_[half] = false;
        tiles_written_ += count;
        ++entry_p->written;
        for (std::size_t w = first; w < first + count; ++w) entry_p->written_back[w] = true;
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
        m.on_done = [this, left, finish](Cycle) {
          if (--*left != 0) return;
          finish();
          written_event_.notify(SC_ZERO_TIME);
        };
        dma_.submit(std::move(m));
      }
      if (by_dma == 0) finish();
      first += count;
    }
    p.writer_done = true;
    retire();
  }
}

void Controller::finisher() {
  for (;;) {
    wait(written_event_);
    retire();
  }
}

void Controller::retire() {
  while (!programs_.empty()) {
    Entry& p = programs_.front();
    if (!p.writer_done || p.written < p.fills) return;
    finish_cycle_ = clock_.now();
    std::function<void(Cycle)> on_finish = std::move(p.on_finish);
    programs_.pop_front();
    ++first_;
    ++programs_done_;
    if (on_finish) on_finish(finish_cycle_);
    finished_event_.notify(SC_ZERO_TIME);
  }
}

}  // namespace tacsim::control
