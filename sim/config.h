#pragma once
// Configuration in one place. Every key a user can set is declared once, in the key table (config_keys.cpp),
// with its unit and meaning, bound to a field of one of the modules' Params structs. Resolution
// (config.cpp) applies defaults <- INI file (--config) <- --set overrides, rejects unknown keys and bad
// values naming the file and line or the key, derives what follows from other keys in one step (derive()),
// validates every Params, and writes the configuration back out as INI: the preset's name and every other
// key's value, with a preset's own fields as comments, so `tacsim run --config results/latest/config.ini`
// repeats a run exactly and an edited preset name means the new preset.
#include <cstdint>
#include <string>
#include <vector>

#include "modules/buffer/buffer.h"
#include "modules/dma/dma_engine.h"
#include "modules/dram/dram_params.h"
#include "modules/dram/traffic_generator.h"
#include "modules/energy/energy_model.h"
#include "modules/engine/engine.h"
#include "modules/hp/hp_datapath_engine.h"
#include "modules/interconnect/interconnect_engine.h"
#include "modules/memory/fixed_latency_memory_engine.h"
#include "modules/pe_array/pe_array_engine.h"
#include "modules/scheduler/scheduler_params.h"
#include "modules/sfu/sfu_op.h"
#include "modules/sfu/topk_attention_engine.h"
#include "workloads/gemm_params.h"
#include "workloads/weight_format.h"

namespace tacsim::sim {

struct SimParams {
  // model (model.*'s own sequences), trace (trace.file's requests through model.*) or gemm (gemm.*). The
  // default stays model: the whole SST-2 trace takes minutes of wall time until simulation speeds up.
  std::string workload = "model";
  std::uint64_t seed = 1;
  // Compute the datapath's values and compare them with a plain C++ reference: true, false, or auto (on for
  // a GEMM, off for a model, whose reference takes as long as the simulation).
  std::string check = "auto";
  bool check_enabled() const { return check == "true" || (check == "auto" && workload == "gemm"); }
  bool model_workload() const { return workload != "gemm"; }  // a model, on a trace or its own sequences

  std::string validate() const;
};

// A Transformer model run: its layers lowered to operations (workloads/lowering.h), one sequence after
// another.
struct ModelRunParams {
  std::string name = "bert-base";  // a file in workloads/models, or a path to a .model file
  // Comma-separated sequence lengths, run back to back; "" (the default): the model's fixed length (ViT's
  // 197 patches + CLS), else 128.
  std::string seq_lens;
  std::uint32_t batch = 1;        // each length repeated this many times
  std::uint32_t topk = 0;         // top-k sparse attention: keys kept per query (0: dense attention)
  bool attention_on_chip = true;  // STA: scores and probabilities stay on chip when they fit the score buffer
  std::uint32_t attention_block_rows = 0;  // query rows per pipelined attention block (0: the array's rows)
  // The default run: BERT-base, 2:4 weights, one sequence of 128.
  workloads::WeightSparsity weights{workloads::WeightFormat::kNm, {2, 4}};
  std::string sparsity_overrides;  // per-layer override file (lowering.h), optional
  std::string masks_dir;           // .npy masks of a pruned model (workloads/weight_masks.h), optional

  std::string validate() const;
  std::vector<std::uint32_t> lengths() const;  // throws InputError naming model.seq_lens
};

inline constexpr std::uint32_t kMaxEngines = 64;

// The accelerator's shape: how many engines, and how operations may spread over them.
struct AccelParams {
  double clock_mhz = 1000.0;
  std::uint32_t engines = 1;
  // pool: any engine runs any operation; pipeline: engine i runs what engine<i>.stage names (a coarse-grained
  // pipeline of stages, Peng et al. DAC 2022).
  std::string organisation = "pool";

  std::string validate() const;
};

// A request trace drives the run (traces/README.md): each line a sequence arriving at its time.
struct TraceRunParams {
  std::string file = "sst2-dev";   // a path, or a bundled trace's name (traces_dir())
  std::string over_max = "error";  // a sequence beyond the model's maximum length: error, truncate or drop
  // > 0: the trace's arrivals are replaced by a Poisson process of this many requests per second (seeded by
  // sim.seed), lengths kept in order: what --find-max-rate probes. 0: as the trace says.
  double rate_per_s = 0;

  std::string validate() const;
};

// A key of engine i only (`engine<i>.<section>.<key> = value`), as given; resolved into SimConfig::engines.
struct EngineOverride {
  std::uint32_t engine = 0;
  std::string key;  // "<section>.<key>", or "stage"
  std::string value;
  std::string where;  // "file:line: " or "--set "
};

// Which model answers the DMA: the JEDEC DRAM model (dram.*) or the fixed-latency stand-in (fixed_memory.*).
struct MemoryParams {
  std::string model = "dram";

  std::string validate() const;
};

struct SimConfig {
  SimParams sim;
  ModelRunParams model;
  AccelParams accel;
  TraceRunParams trace;
  scheduler::SchedulerParams scheduler;
  interconnect::Params interconnect;  // granule_bytes derived from the memory
  workloads::GemmParams gemm;
  workloads::PruningParams pruning;  // the sparsity.* keys: hp and unstructured weights, GEMM or model
  // Every engine's units unless engine<i>.<section>.<key> says otherwise for engine i.
  pe_array::Params pe_array;
  std::string pe_array_mapper = "search";  // pe_array.mapper (workloads::TilingPolicy)
  buffer::Params act_buffer{128};
  buffer::Params weight_buffer{128};
  buffer::Params out_buffer{16};     // two 32 x 32 int32 tiles
  hp::HpDatapathParams hp_datapath;  // its bank fields are the act_buffer.* keys, block_cols derived
  sfu::SfuParams sfu;
  sfu::TopkAttentionParams topk_unit;  // top_k is model.topk
  dma::Params dma;
  control::Params controller;
  std::vector<EngineOverride> engine_overrides;  // in the order given
  // Resolved: accel.engines engines, each the keys above with its overrides applied, and what it serves
  // (engine<i>.stage; "all" in a pool).
  std::vector<engine::Params> engines;
  std::vector<std::string> engine_stages;
  MemoryParams memory;
  memory::Params fixed_memory;
  // dram = the preset's values, then every dram.<field> given in the file or with --set, in that order.
  std::string dram_preset = "hbm2";
  std::vector<std::pair<std::string, std::string>> dram_overrides;
  dram::Params dram;

  // tacsim memtest: the traffic it drives into the DRAM.
  dram::TrafficPattern memtest;
  std::string memtest_trace;  // a DRAMsim3-format trace instead of a pattern
  std::uint32_t memtest_max_outstanding = 256;
  std::uint32_t memtest_requests_per_cycle = 4;

  energy::Params energy;  // the energy and area model (sim/energy_report.h)

  // The engine every engine is before its own overrides.
  engine::Params base_engine() const;

  std::uint64_t memory_capacity_bytes() const {
    return memory.model == "dram" ? dram.capacity_bytes() : fixed_memory.capacity_bytes();
  }
  // The memory's peak bandwidth: channels x bytes per burst / burst time (dram), or the fixed bus.
  double memory_peak_bytes_per_s() const {
    return memory.model == "dram"
               ? double(dram.channels) * dram.burst_bytes() / dram.burst_cycles() * dram.clock_mhz * 1e6
               : double(fixed_memory.bytes_per_cycle) * fixed_memory.clock_mhz * 1e6;
  }
  // The memory as the PE array mapper's cost model sees it (workloads/plan_cost.h): an assumption of the cost
  // model, not a figure of the memory. Under a GEMM's streamed reads and strided write-backs the DRAM model
  // delivers well below its peak, taken as 80 %; a read finds its row closed: tRP + tRCD + CL + a burst
  // (adding a full read queue's bursts made the search pick worse tilings on BERT-base, GPT-2 and ViT); a
  // write is posted (acknowledged once in the write buffer: a burst). `pe_array.mapper = tiling:N` sets any
  // tiling's simulated cycles beside its estimate. The fixed-latency memory is what it says.
  double memory_sustained_bytes_per_s() const {
    return memory_peak_bytes_per_s() * (memory.model == "dram" ? 0.8 : 1.0);
  }
  double memory_read_latency_ns() const {
    return memory.model == "dram"
               ? double(dram.tRP_cycles + dram.tRCD_cycles + dram.CL_cycles + dram.burst_cycles()) * 1e3 /
                     dram.clock_mhz
               : double(fixed_memory.latency_cycles) * 1e3 / fixed_memory.clock_mhz;
  }
  double memory_write_latency_ns() const {
    if (memory.model == "dram") return double(dram.burst_cycles()) * 1e3 / dram.clock_mhz;
    return fixed_memory.posted_writes ? 0.0
                                      : double(fixed_memory.latency_cycles) * 1e3 / fixed_memory.clock_mhz;
  }
};

// Resolves defaults, then the INI file (if not empty), then each "key=value" override, then validates.
// Throws InputError with a one-line message naming the file and line or the key.
SimConfig resolve_config(const std::string& ini_path, const std::vector<std::string>& overrides);

// The configuration as INI text (see the top of this file), and every resolved value as a flat list.
std::string to_ini(const SimConfig& cfg);
std::vector<std::pair<std::string, std::string>> to_pairs(const SimConfig& cfg);

// The DRAM presets: $TACSIM_DRAM_PRESETS_DIR when set, else an installed binary's share/tacsim/dram-presets,
// else the source tree's modules/dram/presets (modules/common/data_files.h).
std::string dram_presets_dir();

// The bundled request traces: $TACSIM_TRACES_DIR when set, else an installed binary's share/tacsim/traces,
// else the source tree's traces/.
std::string traces_dir();
// trace.file as a path: a bundled trace's name ("sst2-dev", "azure-conv") when no such file exists here, else
// the path itself.
std::string trace_path(const std::string& file);

// The model zoo: $TACSIM_MODELS_DIR when set, else an installed binary's share/tacsim/models, else the
// source tree's workloads/models.
std::string models_dir();

// Which command's keys --help lists.
enum class HelpFor { kRun, kMemtest };
// "  section.key   default   meaning [unit]" lines for --help.
std::string describe_keys(HelpFor command);

}  // namespace tacsim::sim
