// PE array engine benchmark (not part of the test suite): simulated cycles per wall second of the fast path
// (closed-form chunk timing, with and without computing values) and of the clock-by-clock step model, for a
// GEMM streamed through the array with its operands always ready (compute bound), and the fast/step ratio.
//   build/tools/bench/pe_array_bench [rows cols M N K]     default: 64 64 128 3072 768
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "modules/common/rng.h"
#include "modules/pe_array/pe_array_engine.h"
#include "modules/pe_array/pe_array_step_model.h"

using namespace tacsim;
using namespace tacsim::pe_array;

namespace {

struct Workload {
  std::uint32_t m, n, k, sn, sm;  // sn:sm sparsity; 1:1 is dense
  std::vector<std::int8_t> act, values;
  std::vector<std::uint8_t> index;
  std::uint32_t slots = 0;
};

Workload make(std::uint32_t m, std::uint32_t n, std::uint32_t k, std::uint32_t sn, std::uint32_t sm) {
  Workload w{m, n, k, sn, sm, {}, {}, {}, 0};
  Rng rng(1);
  w.act.resize(std::size_t{m} * k);
  for (auto& x : w.act) x = rng.int8();
  w.slots = k / sm * sn;
  w.values.resize(std::size_t{n} * w.slots);
  for (auto& x : w.values) x = rng.int8();
  if (sm > 1) {
    w.index.resize(w.values.size());
    for (std::size_t s = 0; s < w.index.size(); ++s)
      w.index[s] = static_cast<std::uint8_t>(s % sn * (sm / sn));
  }
  return w;
}

Chunk chunk_of(const Workload& w, std::uint32_t m0, std::uint32_t n0) {
  return {w.act.data() + std::size_t{m0} * w.k,
          w.k,
          w.values.data() + std::size_t{n0} * w.slots,
          w.index.empty() ? nullptr : w.index.data() + std::size_t{n0} * w.slots,
          w.slots,
          w.slots,
          w.sn,
          w.sm,
          w.slots};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Returns {cycles, wall seconds}.
std::pair<Cycle, double> run_fast(const Params& p, const Workload& w, bool values) {
  const auto t0 = std::chrono::steady_clock::now();
  PeArrayEngine e(p);
  Cycle done = 0;
  for (std::uint32_t m0 = 0; m0 < w.m; m0 += p.rows)
    for (std::uint32_t n0 = 0; n0 < w.n; n0 += p.cols) {
      const TileShape s{std::min(p.rows, w.m - m0), std::min(p.cols, w.n - n0), e.steps_for(w.slots),
                        w.sm > 1};
      e.begin_tile(s);
      const Chunk c = chunk_of(w, m0, n0);
      e.issue_chunk(0, w.slots, values ? &c : nullptr);
      e.end_tile();
      done = e.drain_tile(0);
    }
  return {done, seconds_since(t0)};
}

std::pair<Cycle, double> run_step(const Params& p, const Workload& w) {
  std::vector<StepTile> tiles;
  PeArrayEngine sizing(p);
  for (std::uint32_t m0 = 0; m0 < w.m; m0 += p.rows)
    for (std::uint32_t n0 = 0; n0 < w.n; n0 += p.cols) {
      const TileShape s{std::min(p.rows, w.m - m0), std::min(p.cols, w.n - n0), sizing.steps_for(w.slots),
                        w.sm > 1};
      tiles.push_back({s, {{s.steps, 0, chunk_of(w, m0, n0)}}});
    }
  const auto t0 = std::chrono::steady_clock::now();
  const auto res = run_step_model(p, tiles);
  return {res.back().done, seconds_since(t0)};
}

}  // namespace

int main(int argc, char** argv) {
  Params p;
  p.rows = argc > 1 ? std::atoi(argv[1]) : 64;
  p.cols = argc > 2 ? std::atoi(argv[2]) : 64;
  const std::uint32_t m = argc > 3 ? std::atoi(argv[3]) : 128, n = argc > 4 ? std::atoi(argv[4]) : 3072,
                      k = argc > 5 ? std::atoi(argv[5]) : 768;
  std::printf("PE array %ux%ux%u, GEMM %ux%ux%u (M x N x K), operands always ready\n", p.rows, p.cols,
              p.macs_per_pe, m, n, k);
  std::printf("%-8s %10s %14s %16s %14s %16s\n", "weights", "cycles", "fast cyc/s", "fast+values cyc/s",
              "step cyc/s", "fast+values/step");
  for (auto [sn, sm] : {std::pair{1u, 1u}, std::pair{2u, 4u}}) {
    const Workload w = make(m, n, k, sn, sm);
    const auto fast = run_fast(p, w, false);
    const auto fastv = run_fast(p, w, true);
    const auto step = run_step(p, w);
    if (fast.first != step.first || fastv.first != step.first) {
      std::printf("MISMATCH: fast %llu, step %llu cycles\n", (unsigned long long)fast.first,
                  (unsigned long long)step.first);
      return 1;
    }
    const std::string name = sm == 1 ? "dense" : std::to_string(sn) + ":" + std::to_string(sm);
    std::printf("%-8s %10llu %14.3g %16.3g %14.3g %16.0f\n", name.c_str(), (unsigned long long)fast.first,
                fast.first / fast.second, fastv.first / fastv.second, step.first / step.second,
                (fastv.first / fastv.second) / (step.first / step.second));
  }
  return 0;
}
