// Host speed of the DRAM engine, driven as the SystemC shell drives it: offer a transaction whenever the
// front end takes one, otherwise sleep until next_event(). Prints simulated DRAM cycles per wall second for a
// stream of 4 KiB reads and for saturating random 64 B reads and writes, on ddr4-3200 and hbm2.
//   usage: dram_engine_bench [presets_dir]
#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include "modules/dram/dram_engine.h"

namespace {

using tacsim::Cycle;
using tacsim::dram::Engine;
using tacsim::dram::Params;
using tacsim::dram::Transaction;

struct Result {
  double cycles_per_s;
  double gbps;
  double mean_read_latency;
  std::uint64_t transactions;
};

// `next` makes the transaction to offer; it is called again only after the previous one was accepted.
template <typename Next>
Result run(const Params& p, Cycle cycles, Next next) {
  Engine engine(p);
  std::uint64_t id = 0;
  Transaction pending = next(id);
  std::uint64_t completed = 0;
  const auto start = std::chrono::steady_clock::now();
  while (engine.next_cycle() <= cycles) {
    const Cycle t = engine.next_cycle();
    while (engine.try_enqueue(pending, t)) pending = next(++id);
    engine.advance_to(std::min(engine.next_event(), cycles));
    completed += engine.take_completions().size();
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto& c = engine.counters();
  const double bytes = static_cast<double>(c.read_bursts + c.write_bursts) * p.burst_bytes();
  const double seconds = static_cast<double>(cycles) / (p.clock_mhz * 1e6);
  return Result{static_cast<double>(cycles) / wall, bytes / seconds / 1e9,
                c.read_transactions == 0 ? 0.0
                                         : static_cast<double>(c.read_latency_sum_cycles) /
                                               static_cast<double>(c.read_transactions),
                completed};
}

void report(const char* preset, const char* traffic, const Result& r) {
  std::printf(
      "%-10s %-8s %8.2f M cycles/s  %7.1f GB/s  mean read latency %7.1f cycles  (%llu transactions)\n",
      preset, traffic, r.cycles_per_s / 1e6, r.gbps, r.mean_read_latency,
      static_cast<unsigned long long>(r.transactions));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : tacsim::dram::default_presets_dir();
  for (const char* name : {"ddr4-3200", "hbm2"}) {
    const Params p = tacsim::dram::load_preset(name, dir);
    const std::uint64_t capacity = p.capacity_bytes();
    const Result stream = run(p, 20'000'000, [capacity](std::uint64_t id) {
      return Transaction{id, id * 4096 % capacity, 4096, false};
    });
    report(name, "stream", stream);
    std::mt19937_64 rng(1);
    const Result random = run(p, 5'000'000, [&rng, capacity](std::uint64_t id) {
      return Transaction{id, rng() % capacity / 64 * 64, 64, (rng() & 1) != 0};
    });
    report(name, "random", random);
  }
  return 0;
}
