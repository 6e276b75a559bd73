#include "workloads/plan_cost.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <iterator>
#include <map>
#include <stdexcept>
#include <vector>

namespace tacsim::workloads {

std::uint64_t MemoryModel::moved(const dma::BlockMove& b) const {
  const std::uint64_t bb = std::max<std::uint32_t>(burst_bytes, 1);
  auto up = [bb](std::uint64_t x) { return (x + bb - 1) / bb * bb; };
  return b.stride == b.row_bytes ? up(b.bytes()) : std::uint64_t{b.rows} * up(b.row_bytes);
}

namespace {

// A memory data bus at its peak rate. A transfer takes whatever bus cycles are free from the cycle it is
// asked for on, in as many pieces as it takes, as a memory controller interleaves the bursts of every queued
// transaction: one asked for later in the plan's order may still fill a gap left before an earlier one.
class Bus {
 public:
  // Claims `need` cycles from `at` on; returns the cycle after the last.
  Cycle claim_from(Cycle at, Cycle need) {
    Cycle t = at, last = at;
    while (need > 0) {
      auto it = busy_.upper_bound(t);  // busy_: disjoint [start, end) intervals by start
      if (it != busy_.begin() && std::prev(it)->second > t) {
        t = std::prev(it)->second;  // t is busy: skip to the interval's end
        continue;
      }
      const Cycle end = it == busy_.end() ? t + need : std::min(it->first, t + need);
      need -= end - t;
      claim(t, end);
      last = t = end;
    }
    return last;
  }

 private:
  // Marks [s, e) busy, merging with the neighbours it touches.
  void claim(Cycle s, Cycle e) {
    auto next = busy_.lower_bound(s);
    if (next != busy_.begin() && std::prev(next)->second == s) {
      --next;
      s = next->first;
      next = busy_.erase(next);
    }
    if (next != busy_.end() && next->first == e) {
      e = next->second;
      busy_.erase(next);
    }
    busy_[s] = e;
  }

  std::map<Cycle, Cycle> busy_;
};

// What a transfer asks of the memory: bus cycles per channel (one channel without a DRAM's geometry).
using Demand = std::vector<Cycle>;

// The memory: its buses, and what each transfer costs on them. A transfer is done its latency (a read's, or
// a posted write's) after its last cycle on any bus.
class Memory {
 public:
  explicit Memory(const MemoryModel& m) : m_(m), buses_(std::max<std::uint32_t>(m.channels, 1)) {}
  std::uint64_t moved(const dma::BlockMove& b) const { return m_.moved(b); }

  Demand demand(const std::vector<const dma::BlockMove*>& blocks) const {
    Demand d(buses_.size(), 0);
    if (m_.channels == 0 || !m_.locate) {
      std::uint64_t bytes = 0;
      for (const dma::BlockMove* b : blocks) bytes += m_.moved(*b);
      d[0] = static_cast<Cycle>(std::ceil(double(bytes) / m_.bytes_per_cycle));
      return d;
    }
    const std::uint64_t bb = std::max<std::uint32_t>(m_.burst_bytes, 1);
    std::vector<std::uint64_t> bursts(buses_.size(), 0), acts(buses_.size(), 0);
    std::vector<std::uint64_t> open(buses_.size(), ~std::uint64_t{0});
    const std::uint64_t granule = std::max(bb, m_.granule_bytes);
    auto range = [&](std::uint64_t from, std::uint64_t to) {
      for (std::uint64_t a = from / bb * bb; a < to;) {
        const std::uint64_t n = (std::min(to, (a / granule + 1) * granule) - a + bb - 1) / bb;  // its bursts
        const auto [ch, row] = m_.locate(a);
        bursts[ch] += n;
        if (open[ch] != row) ++acts[ch], open[ch] = row;
        a += n * bb;
      }
    };
    for (const dma::BlockMove* b : blocks) {
      if (b->stride == b->row_bytes)
        range(b->address, b->address + b->bytes());
      else
        for (std::uint32_t r = 0; r < b->rows; ++r)
          range(b->address + r * b->stride, b->address + r * b->stride + b->row_bytes);
    }
    const double burst_cycles = double(bb) * double(buses_.size()) / m_.bytes_per_cycle;
    for (std::size_t c = 0; c < d.size(); ++c)
      d[c] = static_cast<Cycle>(
          std::ceil(std::max(double(bursts[c]) * burst_cycles, double(acts[c]) * m_.act_cycles)));
    return d;
  }

  Cycle transfer(Cycle at, const Demand& d, bool write = false) {
    Cycle last = at;
    for (std::size_t c = 0; c < d.size(); ++c)
      if (d[c] > 0) last = std::max(last, buses_[c].claim_from(at, d[c]));
    return last + (write ? m_.write_latency_cycles : m_.latency_cycles);
  }

 private:
  const MemoryModel& m_;
  std::vector<Bus> buses_;
};

// One operand buffer's loads, as the controller's loader issues them: load i once load i - 1 has been asked
// for and load i - 2 has left half i % 2.
class Loader {
 public:
  explicit Loader(const std::vector<Load>& loads)
      : loads_(loads), ready_(loads.size()), release_(loads.size()), uses_(loads.size()) {
    for (std::size_t i = 0; i < loads.size(); ++i) uses_[i] = loads[i].uses;
  }
  void advance(Memory& bus) {
    while (next_ < loads_.size() && (next_ < 2 || uses_[next_ - 2] == 0)) {
      const Cycle at = std::max(last_request_, next_ < 2 ? Cycle{0} : release_[next_ - 2]);
      std::vector<const dma::BlockMove*> blocks;
      for (const dma::BlockMove& b : loads_[next_].blocks) blocks.push_back(&b);
      ready_[next_] = bus.transfer(at, bus.demand(blocks));
      last_request_ = at;
      ++next_;
    }
  }
  Cycle ready(std::uint32_t i) const {
    if (i >= next_) throw std::logic_error("estimate_plan: a chunk reads a load whose half is still taken");
    return ready_[i];
  }
  // A chunk whose last step issued at `last` has read load i.
  void use(std::uint32_t i, Cycle last) {
    if (--uses_[i] == 0) release_[i] = last + 1;
  }

 private:
  const std::vector<Load>& loads_;
  std::vector<Cycle> ready_, release_;
  std::vector<std::uint32_t> uses_;
  std::size_t next_ = 0;
  Cycle last_request_ = 0;
};

}  // namespace

PlanCost estimate_plan(const GemmPlan& plan, const pe_array::Params& pe, const MemoryModel& memory) {
  if (memory.bytes_per_cycle <= 0) throw std::invalid_argument("estimate_plan: the memory has no bandwidth");
  PlanCost cost;
  cost.dram_bytes = plan.bytes_loaded() + plan.bytes_written();
  Memory bus(memory);
  std::vector<std::vector<const dma::BlockMove*>> fill_blocks;
  for (const TilePlan& t : plan.tiles) {
    if (fill_blocks.size() <= t.fill) fill_blocks.resize(t.fill + 1);
    if (t.writes_back) fill_blocks[t.fill].push_back(&t.writeback);
  }
  const bool sparse = plan.format.sparse();
  auto shape = [&](const TilePlan& t) { return pe_array::TileShape{t.rows, t.cols, t.steps, sparse}; };

  {
    // The array alone: operands and output halves always there.
    pe_array::PeArrayEngine e(pe);
    for (const TilePlan& t : plan.tiles) {
      while (!e.can_begin(shape(t))) cost.compute_cycles = e.drain_tile(0);
      e.begin_tile(shape(t));
      for (const ChunkPlan& c : t.chunks) e.issue_chunk(0, c.slots, nullptr);
      e.end_tile();
    }
    while (e.undrained() > 0) cost.compute_cycles = e.drain_tile(0);
  }

  Loader act(plan.act_loads), weight(plan.weight_loads);
  pe_array::PeArrayEngine e(pe);
  // Fill f's half is free once fill f - 2's write-back is done; the writer takes the fills in order.
  std::vector<Cycle> written;
  Cycle writer_at = 0;
  auto out_free = [&](std::uint32_t fill) { return fill < 2 ? Cycle{0} : written.at(fill - 2); };
  std::deque<const TilePlan*> ended;
  auto drain = [&] {
    const TilePlan& t = *ended.front();
    ended.pop_front();
    const Cycle done = e.drain_tile(t.slot.claim ? out_free(t.fill) : 0);
    if (!t.slot.complete) return;
    writer_at = std::max({writer_at, done, out_free(t.fill)});
    written.push_back(bus.transfer(writer_at, bus.demand(fill_blocks[t.fill]), true));
  };
  for (const TilePlan& t : plan.tiles) {
    act.advance(bus);
    weight.advance(bus);
    while (!e.can_begin(shape(t))) drain();
    e.begin_tile(shape(t));
    // One accumulator set: the fill's first tile claims its half before its first step.
    const Cycle out_ready = t.slot.claim && !pe.overlap_drain ? out_free(t.fill) : 0;
    for (const ChunkPlan& c : t.chunks) {
      const Cycle ready = std::max(act.ready(c.act_load), weight.ready(c.weight_load));
      const Cycle last = e.issue_chunk(ready, c.slots, nullptr, out_ready);
      act.use(c.act_load, last);
      weight.use(c.weight_load, last);
      act.advance(bus);
      weight.advance(bus);
    }
    e.end_tile();
    ended.push_back(&t);
  }
  while (!ended.empty()) drain();
  cost.cycles = written.empty() ? 0 : *std::max_element(written.begin(), written.end());
  return cost;
}

}  // namespace tacsim::workloads
