#include "sim/gemm_run.h"
#include "sim/energy_report.h"

#include <chrono>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <systemc>

#include "modules/common/clock.h"
#include "modules/common/error.h"
#include "sim/output.h"
#include "sim/stats_dump.h"
#include "sim/summary.h"
#include "sim/top.h"
#include "sim/waves_control.h"
#include "workloads/gemm.h"
#include "workloads/mapper.h"

namespace tacsim::sim {

namespace {

// "pass", or "fail: <first mismatch>".
std::string check_gemm(const workloads::GemmParams& g, const workloads::GemmOperands& ops,
                       const BackingStore& store, std::uint64_t c_address) {
  const auto ref = workloads::reference_gemm(g, ops);
  std::vector<std::int32_t> got(ref.size());
  store.read(c_address, reinterpret_cast<std::uint8_t*>(got.data()), got.size() * 4);
  for (std::size_t i = 0; i < ref.size(); ++i)
    if (got[i] != ref[i])
      return fmt::format("fail: C[{}][{}] = {}, expected {}", i / g.n, i % g.n, got[i], ref[i]);
  return "pass";
}

}  // namespace

int run_gemm(const SimConfig& cfg, const RunOptions& opts) {
  // The workload as memory contents, a program, and what to check afterwards: A and W drawn from the seed,
  // W pruned and laid out as the mapper of its format stores it.
  const auto& g = cfg.gemm;
  // Checked before anything is allocated: the operands are drawn (and checked) on the host as dense arrays,
  // and laid out in the simulated memory.
  const std::uint64_t host_bytes =
      std::uint64_t{g.m} * g.k + std::uint64_t{g.k} * g.n + std::uint64_t{g.m} * g.n * 4;
  constexpr std::uint64_t kMaxHostBytes = std::uint64_t{4} << 30;
  if (host_bytes > kMaxHostBytes)
    throw InputError(
        fmt::format("gemm: m x k + k x n + 4 m x n = {} bytes of operands and results; at most {} (4 GiB)",
                    host_bytes, kMaxHostBytes));
  if (const std::uint64_t end = workloads::layout_gemm(g).end; end > cfg.memory_capacity_bytes())
    throw InputError(fmt::format("memory: the GEMM's operands need {} bytes, the {} memory has {}", end,
                                 cfg.memory.model, cfg.memory_capacity_bytes()));
  // The GEMM runs on engine 0.
  const engine::Params& ep = cfg.engines.front();
  const auto mapper = workloads::make_mapper(g.sparsity.format, engine_shape(cfg, ep));
  workloads::GemmParams dense = g;
  dense.sparsity = {};
  workloads::GemmOperands ops = workloads::make_operands(dense, cfg.sim.seed);
  workloads::GemmTask task;
  task.gemm = g;
  task.layout = workloads::layout_gemm(g);
  task.seed = cfg.sim.seed;
  task.pruning = cfg.pruning;
  task.a = &ops.a;
  task.w = &ops.w;
  workloads::MappedGemm mapped = mapper->map(task);
  ops.w = std::move(mapped.weights);  // as pruned: what the reference multiplies
  if (mapped.end > cfg.memory_capacity_bytes())
    throw InputError(fmt::format("memory: the GEMM's operands need {} bytes, the {} memory has {}",
                                 mapped.end, cfg.memory.model, cfg.memory_capacity_bytes()));
  const std::uint64_t c_address = mapped.c_address;

  init_kernel();
  Top top("accel", cfg);
  if (opts.wave_session) {
    opts.wave_session->attach(top, false);
    opts.wave_session->check_selection();
  }
  for (const auto& im : mapped.images) top.memory.store().write(im.address, im.bytes.data(), im.bytes.size());
  top.set_compute_values(cfg.sim.check_enabled());
  engine::Engine& eng = top.engine(0);
  control::Program program = std::move(mapped.program);
  top.set_driver([&](std::size_t e) {
    if (e != 0) return;
    eng.controller.start(std::move(program));
    sc_core::wait(eng.controller.finished());
  });

  const auto t0 = std::chrono::steady_clock::now();
  sc_core::sc_start();
  top.rethrow_driver_error();
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!eng.controller.done()) throw std::runtime_error("simulation ended before the workload finished");
  if (opts.wave_session) opts.wave_session->write();

  const auto t1 = std::chrono::steady_clock::now();
  const std::string check =
      cfg.sim.check_enabled() ? check_gemm(g, ops, top.memory.store(), c_address) : std::string("off");
  const double check_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();

  const Cycle cycles = eng.controller.finish_cycle();
  // Whichever datapath ran: the PE array (dense, N:M) or the HP datapath (hp, unstructured).
  const bool on_hp = mapper->datapath() == workloads::Datapath::kHp;
  const std::uint64_t macs =
      on_hp ? eng.hp_datapath.engine().counters().macs : eng.pe_array.engine().counters().macs;
  const double peak = on_hp ? double(eng.hp_datapath.peak_macs_per_cycle(std::min(ep.pe_array.rows, g.m)))
                            : double(ep.pe_array.peak_macs_per_cycle());
  const MacFigures mac_figures{std::uint64_t{g.m} * g.n * g.k, macs, peak,
                               on_hp ? "the HP datapath" : "the PE array"};
  CycleBreakdown breakdown;
  breakdown.cycles = cycles;
  breakdown.peak_compute = static_cast<std::uint64_t>(double(macs) / peak);
  if (!on_hp) {
    const auto& pc = eng.pe_array.engine().counters();
    breakdown.operand_stall = pc.operand_stall_cycles;
    breakdown.out_stall = pc.out_stall_cycles;
    breakdown.drain_stall = pc.drain_stall_cycles;
  }
  nlohmann::ordered_json summary;
  summary["cycles"] = cycles;
  summary["sim_time_ns"] = double(top.clock.fs_at(cycles)) * 1e-6;
  summary["check"] = check;
  mac_figures.add_to(summary, cycles);
  summary["dram_bytes"] = top.memory.bytes_transferred();
  summary["weight_bytes"] = eng.weight_buffer.stats().value("bytes_written");
  summary["bank_conflict_cycles"] = eng.hp_datapath.engine().counters().conflict_cycles;
  breakdown.add_to(summary);

  const auto stats =
      write_results(opts.write_dir(), cfg, summary,
                    {{"cycles_per_s", double(cycles) / wall_s}, {"check_wall_s", check_wall_s}}, wall_s);

  if (!opts.quiet) {
    if (on_hp)
      std::cout << fmt::format(
          "tacsim run: GEMM {}x{}x{} on the HP datapath ({} tokens x {} lanes x {} row engines) at {} MHz\n",
          g.m, g.n, g.k, std::min(ep.pe_array.rows, g.m), ep.hp_datapath.lanes, ep.hp_datapath.row_engines,
          cfg.accel.clock_mhz);
    else
      std::cout << fmt::format("tacsim run: GEMM {}x{}x{} on a {}x{}x{} PE array at {} MHz\n", g.m, g.n, g.k,
                               ep.pe_array.rows, ep.pe_array.cols, ep.pe_array.macs_per_pe,
                               cfg.accel.clock_mhz);
    std::cout << fmt::format("  {}; memory: {}\n", mapped.tiling,
                             cfg.memory.model == "dram" ? cfg.dram_preset : std::string("fixed latency"));
    auto row = [](const std::string& k, const std::string& v) { std::cout << summary_row(k, v); };
    row("cycles", fmt::format("{}  ({:.3f} us at {:g} MHz)", cycles,
                              summary["sim_time_ns"].get<double>() * 1e-3, cfg.accel.clock_mhz));
    std::cout << mac_figures.describe(cycles);
    if (on_hp)
      row("bank conflict cycles", fmt::format("{}", summary["bank_conflict_cycles"].get<std::uint64_t>()));
    row("bytes moved (DRAM)", fmt::format("{}", top.memory.bytes_transferred()));
    row("weight bytes", fmt::format("{}", summary["weight_bytes"].get<std::uint64_t>()));
    if (!on_hp) std::cout << breakdown.describe(peak);
    std::cout << describe_energy(stats);
    row("wall time", fmt::format("{:.3f} s", wall_s));
    row("sim cycles / s", fmt::format("{:.3g}", double(cycles) / wall_s));
    row("check", check);
    std::cout << fmt::format("  results in {}/ (stats.json, config.ini)\n", opts.out_dir);
  }
  return check == "pass" || check == "off" ? 0 : 1;
}

}  // namespace tacsim::sim
