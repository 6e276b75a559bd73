#include "sim/config_keys.h"

#include <map>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "workloads/mapper.h"
#include "workloads/model.h"

namespace tacsim::sim {

namespace {

ConfigKey make_key(const std::string& key, const std::string& unit, const std::string& desc,
                   std::function<void(const std::string&, const std::string&)> parse,
                   std::function<std::string()> show) {
  ConfigKey k;
  k.key = key;
  k.unit = unit;
  k.description = desc;
  k.parse = std::move(parse);
  k.show = std::move(show);
  return k;
}

template <typename T>
ConfigKey bind_unsigned(const std::string& key, T& field, const std::string& unit, const std::string& desc) {
  static_assert(std::is_unsigned_v<T>);
  return make_key(
      key, unit, desc,
      [&field, key](const std::string& v, const std::string& where) {
        field = static_cast<T>(text::parse_unsigned(v, where + key, std::numeric_limits<T>::max()));
      },
      [&field] { return std::to_string(field); });
}

ConfigKey bind_double(const std::string& key, double& field, const std::string& unit,
                      const std::string& desc) {
  return make_key(
      key, unit, desc,
      [&field, key](const std::string& v, const std::string& where) {
        field = text::parse_double(v, where + key);
      },
      // The shortest text that reads back as the same double.
      [&field] { return fmt::format("{}", field); });
}

ConfigKey bind_bool(const std::string& key, bool& field, const std::string& desc) {
  return make_key(
      key, "", desc,
      [&field, key](const std::string& v, const std::string& where) {
        field = text::parse_bool(v, where + key);
      },
      [&field] { return std::string(field ? "true" : "false"); });
}

ConfigKey bind_string(const std::string& key, std::string& field, const std::string& desc) {
  return make_key(
      key, "", desc, [&field](const std::string& v, const std::string&) { field = v; },
      [&field] { return field; });
}

// A string that must be one of `choices`.
ConfigKey bind_choice(const std::string& key, std::string& field, const std::vector<std::string>& choices,
                      const std::string& desc) {
  return make_key(
      key, "", desc,
      [&field, key, choices](const std::string& v, const std::string& where) {
        if (std::find(choices.begin(), choices.end(), v) == choices.end())
          throw InputError(fmt::format("{}{}: expected {}, got '{}'", where, key, text::one_of(choices), v));
        field = v;
      },
      [&field] { return field; });
}

// A weight format, parsed once, here: "dense", "N:M", "hp" or "unstructured".
ConfigKey bind_weights(const std::string& key, workloads::WeightSparsity& field, const std::string& desc) {
  return make_key(
      key, "", desc,
      [&field, key](const std::string& v, const std::string& where) {
        try {
          field = workloads::parse_weight_sparsity(v);
        } catch (const InputError& e) {
          throw InputError(fmt::format("{}{}: {}", where, key, e.what()));
        }
      },
      [&field] { return field.text(); });
}

ConfigKey with_scope(ConfigKey k, KeyScope scope) {
  k.scope = scope;
  return k;
}

const std::map<std::string, std::string>& renames() {
  static const std::map<std::string, std::string> table = {
      // Banking is the activation buffer's.
      {"buffer.banks", "act_buffer.banks"},
      {"buffer.ports_per_bank", "act_buffer.ports_per_bank"},
      {"buffer.bank_map", "act_buffer.bank_map"},
      // Latencies carry their unit.
      {"pe_array.select_latency", "pe_array.select_latency_cycles"},
      {"pe_array.multiply_latency", "pe_array.multiply_latency_cycles"},
      {"pe_array.adder_tree_latency", "pe_array.adder_tree_latency_cycles"},
      {"pe_array.accumulate_latency", "pe_array.accumulate_latency_cycles"},
      // Pruning applies to model runs as well as to the GEMM workload.
      {"gemm.target_sparsity", "sparsity.pruned_fraction"},
      {"gemm.hp_block_rows", "sparsity.hp_block_rows"},
      {"gemm.hp_block_cols", "sparsity.hp_block_cols"},
      {"gemm.hp_level1_share", "sparsity.hp_level1_share"},
  };
  return table;
}

}  // namespace

std::optional<std::string> renamed_key(const std::string& old_key) {
  const auto it = renames().find(old_key);
  if (it == renames().end()) return std::nullopt;
  return it->second;
}

std::vector<ConfigKey> config_keys(SimConfig& c) {
  std::vector<ConfigKey> k;
  k.push_back(
      with_scope(bind_choice("sim.workload", c.sim.workload, {"trace", "model", "gemm"},
                             "what to run: trace (trace.file's requests through model.name), model (the "
                             "model's sequences model.seq_lens x model.batch, arriving at once) or gemm "
                             "(gemm.*)"),
                 KeyScope::kRun));
  k.push_back(
      with_scope(bind_unsigned("sim.seed", c.sim.seed, "", "seed of every generated operand and pattern"),
                 KeyScope::kBoth));
  k.push_back(
      bind_choice("sim.check", c.sim.check, {"auto", "true", "false"},
                  "compute the datapath's values and compare them with a C++ reference (timing is the "
                  "same either way); auto: on for gemm, off for a model"));

  k.push_back(bind_string(
      "trace.file", c.trace.file,
      "sim.workload=trace: a request trace (traces/README.md), or a bundled one by name: " +
          std::string("sst2-dev (SST-2 dev, Poisson 600/s), azure-conv (Azure LLM conversations)")));
  k.push_back(
      bind_choice("trace.over_max", c.trace.over_max, {"error", "truncate", "drop"},
                  "a sequence longer than the model's maximum: error, truncate (run it at the maximum) or "
                  "drop (skip it); both are counted"));
  k.push_back(
      bind_double("trace.rate_per_s", c.trace.rate_per_s, "requests/s",
                  "> 0: replace the trace's arrivals by a Poisson process of this rate (seed sim.seed), "
                  "lengths kept in order; 0: the trace's own times"));
  k.push_back(
      bind_choice("scheduler.policy", c.scheduler.policy, {"auto", "fcfs", "padded", "length-aware"},
                  "fcfs (one sequence at a time, oldest first), padded (batches padded to their longest, "
                  "the GPU baseline) or length-aware (packed batches, tasks ranked by longest path: Peng "
                  "et al. DAC 2022); auto: length-aware for a trace, fcfs for a model's sequences"));
  k.push_back(bind_unsigned("scheduler.batch_size", c.scheduler.batch_size, "sequences",
                            "padded: sequences per batch at most"));
  k.push_back(
      bind_unsigned("scheduler.batch_timeout_ns", c.scheduler.batch_timeout_ns, "ns",
                    "padded: a batch leaves when full or when its oldest sequence has waited this long"));
  k.push_back(bind_unsigned("scheduler.max_batch_tokens", c.scheduler.max_batch_tokens, "tokens",
                            "length-aware: tokens per batch at most (a longer sequence runs alone)"));
  k.push_back(
      bind_unsigned("scheduler.max_in_flight", c.scheduler.max_in_flight, "batches",
                    "batches running at once, each holding a slot of activation memory (0: one per engine)"));
  k.push_back(bind_string("model.name", c.model.name,
                          "sim.workload=model: " + text::join(workloads::list_models(models_dir())) +
                              ", or the path of a .model file"));
  k.push_back(
      bind_string("model.seq_lens", c.model.seq_lens,
                  "sim.workload=model: sequence lengths, comma-separated, arriving at once (default: the "
                  "model's fixed length, else 128)"));
  k.push_back(bind_unsigned("model.batch", c.model.batch, "", "each length repeated this many times"));
  k.push_back(
      bind_unsigned("model.topk", c.model.topk, "keys",
                    "top-k sparse attention on the top-k unit (Peng et al. DAC 2022): keys kept per query "
                    "(0: dense attention on the PE array and softmax unit)"));
  k.push_back(bind_bool(
      "model.attention_on_chip", c.model.attention_on_chip,
      "keep each head's scores and probabilities on chip (STA) when they fit sfu.score_buffer_kib"));
  k.push_back(bind_unsigned("model.attention_block_rows", c.model.attention_block_rows, "rows",
                            "query rows per attention block: the softmax of one block runs while the array "
                            "computes its neighbours' Q.K^T and S.V (0: the PE array's rows)"));
  k.push_back(bind_unsigned("sfu.score_buffer_kib", c.sfu.score_buffer_kib, "KiB",
                            "on-chip buffer for one head's L x L int32 attention scores"));
  k.push_back(bind_unsigned("sfu.stream_kib", c.sfu.stream_kib, "KiB",
                            "an SFU operation streams in groups of rows of about this much input"));
  k.push_back(
      bind_bool("sfu.fuse_epilogues", c.sfu.fuse_epilogues,
                "GELU, residual adds and layernorms run on blocks of their GEMM's outputs while the array "
                "computes the next block (off: each alone, after its GEMM)"));
  k.push_back(bind_unsigned("sfu.epilogue_blocks", c.sfu.epilogue_blocks, "blocks",
                            "blocks of columns a GEMM with a fused GELU is cut into"));
  k.push_back(
      bind_unsigned("sfu.softmax.lanes", c.sfu.softmax.lanes, "elements/cycle",
                    "softmax unit: elements of a row each of its three passes takes per cycle (16 is an "
                    "illustrative width, not STA's)"));
  k.push_back(bind_unsigned("sfu.vector.lanes", c.sfu.vector.lanes, "elements/cycle",
                            "GELU, residual and layernorm unit: elements per cycle in each pass (16 is an "
                            "illustrative width)"));
  k.push_back(bind_unsigned("topk_unit.score_lanes", c.topk_unit.score_lanes, "lanes",
                            "approximate-score lanes (one 4-bit LUT product tree and sorter each)"));
  k.push_back(bind_unsigned("topk_unit.lut_per_lane", c.topk_unit.lut_per_lane, "",
                            "4x4-bit LUT multipliers per lane"));
  k.push_back(bind_unsigned("topk_unit.merge_width", c.topk_unit.merge_width, "keys/cycle",
                            "kept keys the merge of the lane sorters picks per cycle"));
  k.push_back(bind_unsigned("topk_unit.quant_lanes", c.topk_unit.quant_lanes, "values/cycle",
                            "int8 values the 4-bit quantiser takes per cycle"));
  k.push_back(bind_unsigned("topk_unit.exact_lanes", c.topk_unit.exact_lanes, "lanes", "exact Q.K lanes"));
  k.push_back(bind_unsigned("topk_unit.exact_macs_per_lane", c.topk_unit.exact_macs_per_lane, "",
                            "int8 MACs per lane"));
  k.push_back(
      bind_unsigned("topk_unit.sv_lanes", c.topk_unit.sv_lanes, "lanes", "S.V lanes (context columns)"));
  k.push_back(bind_unsigned("topk_unit.sv_macs_per_lane", c.topk_unit.sv_macs_per_lane, "",
                            "int8 MACs per S.V lane"));
  k.push_back(bind_unsigned("topk_unit.softmax.lanes", c.topk_unit.softmax.lanes, "lanes",
                            "the unit's own softmax: kept scores per cycle in each pass"));
  k.push_back(bind_bool("topk_unit.prefetch_next_head", c.topk_unit.prefetch_next_head,
                        "read the next head's Q, K and V while this head computes (the head the scheduler "
                        "chains to it on this engine)"));

  k.push_back(bind_weights("sparsity.weights", c.model.weights,
                           "model weight GEMMs: dense, N:M, hp or unstructured"));
  k.push_back(bind_string("sparsity.overrides", c.model.sparsity_overrides,
                          "per-layer sparsity file ('<layer> = N:M' or '<layer>.<op> = N:M' lines)"));
  k.push_back(bind_string("sparsity.masks", c.model.masks_dir,
                          "folder of .npy masks of a pruned model, layer<l>.<role>.npy of shape (out, in); "
                          "their kept positions replace the pruner's (\"\": none)"));
  // Pruning of hp and unstructured weights, for the GEMM workload and model runs alike.
  auto& pr = c.pruning;
  k.push_back(bind_double("sparsity.pruned_fraction", pr.pruned_fraction, "",
                          "hp and unstructured weights: the fraction of weights the pruner removes"));
  k.push_back(bind_unsigned("sparsity.hp_block_rows", pr.hp_block_rows, "rows", "hp: level-1 block rows"));
  k.push_back(bind_unsigned("sparsity.hp_block_cols", pr.hp_block_cols, "columns",
                            "hp: level-1 block columns (also the walk's block for unstructured)"));
  k.push_back(bind_double("sparsity.hp_level1_share", pr.hp_level1_share, "",
                          "hp: share of the pruning done by dropping whole blocks (log-density)"));
  k.push_back(bind_double("accel.clock_mhz", c.accel.clock_mhz, "MHz", "accelerator clock"));
  k.push_back(
      bind_unsigned("accel.engines", c.accel.engines, "engines",
                    "engines sharing the memory through the interconnect (each: DMA, buffers, PE array, "
                    "HP datapath, SFU, top-k unit)"));
  k.push_back(
      bind_choice("accel.organisation", c.accel.organisation, {"pool", "pipeline"},
                  "pool: any engine runs any operation; pipeline: engine i runs what engine<i>.stage names"));
  k.push_back(bind_unsigned("interconnect.latency_cycles", c.interconnect.latency_cycles, "cycles",
                            "cycles a request crosses the interconnect to the memory, and a response back"));

  k.push_back(bind_unsigned("gemm.m", c.gemm.m, "rows", "rows of A and C (tokens)"));
  k.push_back(bind_unsigned("gemm.n", c.gemm.n, "columns", "columns of C (output features)"));
  k.push_back(bind_unsigned("gemm.k", c.gemm.k, "elements", "reduction length (input features)"));
  k.push_back(bind_weights("gemm.sparsity", c.gemm.sparsity,
                           "weights: dense, N:M along k (1 <= N <= M <= 16; PE array), hp or unstructured "
                           "(HP datapath)"));

  auto& pe = c.pe_array;
  k.push_back(bind_unsigned("pe_array.rows", pe.rows, "PEs", "PE rows (output rows per tile)"));
  k.push_back(bind_unsigned("pe_array.cols", pe.cols, "PEs", "PE columns (output columns per tile)"));
  k.push_back(bind_unsigned("pe_array.macs_per_pe", pe.macs_per_pe, "MACs/cycle", "multipliers per PE"));
  k.push_back(bind_unsigned("pe_array.select_latency_cycles", pe.select_latency_cycles, "cycles",
                            "M:1 selector stage (sparse mode)"));
  k.push_back(bind_unsigned("pe_array.multiply_latency_cycles", pe.multiply_latency_cycles, "cycles",
                            "multiplier stage"));
  k.push_back(bind_unsigned("pe_array.adder_tree_latency_cycles", pe.adder_tree_latency_cycles, "cycles",
                            "adder tree stages"));
  k.push_back(bind_unsigned("pe_array.accumulate_latency_cycles", pe.accumulate_latency_cycles, "cycles",
                            "accumulator stage"));
  k.push_back(
      bind_bool("pe_array.overlap_drain", pe.overlap_drain,
                "two accumulator sets: a finished tile waits for an output half while the next computes"));
  k.push_back(
      bind_bool("pe_array.partial_sums", pe.partial_sums,
                "long reductions keep partial sums on chip while their chunks serve many tiles (in the "
                "accumulators, or added in the output buffer); off: each tile streams its own chunks"));
  k.push_back(
      bind_bool("controller.overlap_operations", c.controller.overlap_operations,
                "the next operation's program loads and computes behind the current one's, a load that "
                "reads an earlier program's output waiting only for the write-backs it reads (off: each "
                "operation starts once the previous one has finished)"));
  k.push_back(make_key(
      "pe_array.mapper", "",
      "tiling: search (the fastest that fits, by the cost model), greedy, or tiling:N (the N-th "
      "the search lists)",
      [&c](const std::string& v, const std::string& where) {
        workloads::TilingPolicy::parse(v, where + "pe_array.mapper");
        c.pe_array_mapper = v;
      },
      [&c] { return c.pe_array_mapper; }));

  k.push_back(bind_unsigned("act_buffer.capacity_kib", c.act_buffer.capacity_kib, "KiB",
                            "activation buffer, both ping-pong halves"));
  // Banking of the activation buffer: what the HP datapath's reads contend for.
  auto& bank = c.hp_datapath.bank;
  k.push_back(bind_unsigned("act_buffer.banks", bank.banks, "banks", "banks of the activation buffer"));
  k.push_back(
      bind_unsigned("act_buffer.ports_per_bank", bank.ports_per_bank, "ports", "reads per bank per cycle"));
  k.push_back(make_key(
      "act_buffer.bank_map", "",
      "activation column c to bank: interleave (c mod B), xor, or hp ((c mod sparsity.hp_block_cols) mod B)",
      [&bank](const std::string& v, const std::string& where) {
        bank.map = buffer::parse_bank_map(v, where + "act_buffer.bank_map");
      },
      [&bank] { return buffer::bank_map_name(bank.map); }));
  k.push_back(bind_unsigned("weight_buffer.capacity_kib", c.weight_buffer.capacity_kib, "KiB",
                            "weight buffer, both ping-pong halves"));
  k.push_back(bind_unsigned("out_buffer.capacity_kib", c.out_buffer.capacity_kib, "KiB",
                            "output buffer, both ping-pong halves"));

  auto& h = c.hp_datapath;
  k.push_back(bind_unsigned("hp_datapath.row_engines", h.row_engines, "engines",
                            "row engines walking their own weight rows, their reads served together"));
  k.push_back(bind_unsigned("hp_datapath.lanes", h.lanes, "reads/cycle",
                            "activation reads and multipliers per token per cycle, per row engine"));
  k.push_back(bind_unsigned("hp_datapath.decode_latency_cycles", h.decode_latency_cycles, "cycles",
                            "block map and offsets to addresses"));
  k.push_back(bind_unsigned("hp_datapath.multiply_latency_cycles", h.multiply_latency_cycles, "cycles",
                            "multiplier stage"));
  k.push_back(bind_unsigned("hp_datapath.adder_tree_latency_cycles", h.adder_tree_latency_cycles, "cycles",
                            "adder tree stages"));
  k.push_back(bind_unsigned("hp_datapath.accumulate_latency_cycles", h.accumulate_latency_cycles, "cycles",
                            "accumulator stage"));

  k.push_back(
      bind_unsigned("dma.max_outstanding", c.dma.max_outstanding, "transactions", "transactions in flight"));
  k.push_back(bind_unsigned("dma.max_transaction_bytes", c.dma.max_transaction_bytes, "bytes",
                            "largest transaction; transactions never cross a boundary of this size"));

  k.push_back(bind_choice("memory.model", c.memory.model, {"dram", "fixed"},
                          "dram (JEDEC timing, dram.*) or fixed (fixed latency and bus, fixed_memory.*)"));
  auto& m = c.fixed_memory;
  k.push_back(bind_double("fixed_memory.clock_mhz", m.clock_mhz, "MHz", "clock of the fixed-latency memory"));
  k.push_back(bind_unsigned("fixed_memory.latency_cycles", m.latency_cycles, "cycles", "access latency"));
  k.push_back(
      bind_unsigned("fixed_memory.bytes_per_cycle", m.bytes_per_cycle, "bytes/cycle", "data bus width"));
  k.push_back(bind_unsigned("fixed_memory.queue_depth", m.queue_depth, "transactions", "requests in flight"));
  k.push_back(bind_unsigned("fixed_memory.capacity_mib", m.capacity_mib, "MiB", "capacity"));
  k.push_back(bind_bool("fixed_memory.posted_writes", m.posted_writes,
                        "writes acknowledged once their data is across, without the access latency"));

  auto& t = c.memtest;
  auto memtest = [&k](ConfigKey key) { k.push_back(with_scope(std::move(key), KeyScope::kMemtest)); };
  memtest(bind_choice("memtest.pattern", t.pattern, {"stream", "random", "strided"},
                      "traffic: stream, random or strided"));
  memtest(bind_unsigned("memtest.bytes", t.bytes, "bytes", "total bytes requested"));
  memtest(bind_unsigned("memtest.request_bytes", t.request_bytes, "bytes",
                        "bytes per request; 0: 4096 for stream, one burst for random and strided"));
  memtest(
      bind_unsigned("memtest.stride_bytes", t.stride_bytes, "bytes", "address step of the strided pattern"));
  memtest(bind_double("memtest.read_ratio", t.read_ratio, "", "fraction of requests that read"));
  memtest(
      bind_string("memtest.trace", c.memtest_trace,
                  "DRAMsim3 trace ('0x<addr> READ|WRITE <cycle>' lines) replayed instead of the pattern"));
  memtest(bind_unsigned("memtest.max_outstanding", c.memtest_max_outstanding, "transactions",
                        "requests the generator keeps in flight"));
  memtest(bind_unsigned("memtest.requests_per_cycle", c.memtest_requests_per_cycle, "requests",
                        "BEGIN_REQs the generator may send in one DRAM cycle"));

  k.push_back(with_scope(bind_bool("energy.enabled", c.energy.enabled,
                                   "price the run's actions and units: stats.json energy, area and power"),
                         KeyScope::kBoth));
  k.push_back(with_scope(bind_string("energy.table", c.energy.table,
                                     "cost table: a bundled one (45nm-horowitz) or the path of a .ini file"),
                         KeyScope::kBoth));

  // The DRAM: a preset, then any of its fields, applied over the preset when the configuration resolves.
  k.push_back(with_scope(bind_string("dram.preset", c.dram_preset,
                                     "device preset: " + text::join(dram::preset_names(dram_presets_dir()))),
                         KeyScope::kBoth));
  for (const dram::FieldInfo& info : dram::field_infos()) {
    const std::string field = info.name;
    ConfigKey key = make_key(
        "dram." + field, info.unit, info.meaning,
        [&c, field](const std::string& v, const std::string& where) {
          dram::Params scratch;
          std::string err = dram::set_field(scratch, field, v);
          // set_field's message starts with the field name; name the whole key instead.
          if (!err.empty()) {
            if (text::starts_with(err, field + ": ")) err = err.substr(field.size() + 2);
            throw InputError(fmt::format("{}dram.{}: {}", where, field, err));
          }
          c.dram_overrides.emplace_back(field, v);
        },
        [&c, field] { return dram::get_field(c.dram, field); });
    key.scope = KeyScope::kBoth;
    key.preset_key = "dram.preset";
    k.push_back(std::move(key));
  }
  return k;
}

}  // namespace tacsim::sim
