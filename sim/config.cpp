#include "sim/config.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "modules/common/clock_rate.h"
#include "modules/common/data_files.h"
#include "modules/common/error.h"
#include "modules/common/text.h"
#include "sim/config_keys.h"
#include "sim/energy_report.h"
#include "traces/request_trace.h"
#include "workloads/model.h"
#include "workloads/model_mapping.h"

namespace tacsim::sim {

std::string SimParams::validate() const {
  if (workload != "gemm" && workload != "model" && workload != "trace")
    return fmt::format("workload: must be trace, model or gemm, got '{}'", workload);
  return "";
}

std::string TraceRunParams::validate() const {
  if (!traces::parse_over_max(over_max))
    return fmt::format("over_max: expected error, truncate or drop, got '{}'", over_max);
  if (!(rate_per_s >= 0) || rate_per_s > 1e9)
    return fmt::format("rate_per_s: must be in [0, 1e9] requests per second, got {}", rate_per_s);
  return "";
}

engine::Params SimConfig::base_engine() const {
  engine::Params e;
  e.pe_array = pe_array;
  e.pe_array_mapper = pe_array_mapper;
  e.act_buffer = act_buffer;
  e.weight_buffer = weight_buffer;
  e.out_buffer = out_buffer;
  e.hp_datapath = hp_datapath;
  e.sfu = sfu;
  e.topk_unit = topk_unit;
  e.dma = dma;
  e.controller = controller;
  return e;
}

std::string ModelRunParams::validate() const {
  if (batch == 0) return "batch: must be at least 1, got 0";
  if (topk > (1u << 16))
    return fmt::format("topk: must be at most 65536 (the top-k unit's sorters), got {}", topk);
  return "";
}

std::vector<std::uint32_t> ModelRunParams::lengths() const {
  std::vector<std::uint32_t> out;
  for (const std::string& item : text::split_list(seq_lens, ',', "config: model.seq_lens")) {
    const auto v = text::to_unsigned(item, 1u << 20);
    if (!v || *v == 0)
      throw InputError(fmt::format(
          "config: model.seq_lens: expected positive lengths separated by commas, got '{}'", seq_lens));
    for (std::uint32_t b = 0; b < batch; ++b) out.push_back(static_cast<std::uint32_t>(*v));
  }
  return out;
}

std::string MemoryParams::validate() const {
  if (model != "dram" && model != "fixed")
    return fmt::format("model: must be dram or fixed, got '{}'", model);
  return "";
}

std::string AccelParams::validate() const {
  if (const std::string e = clock_mhz_error(clock_mhz); !e.empty()) return "clock_mhz: " + e;
  if (engines == 0 || engines > kMaxEngines)
    return fmt::format("engines: must be in 1..{}, got {}", kMaxEngines, engines);
  if (organisation != "pool" && organisation != "pipeline")
    return fmt::format("organisation: expected pool or pipeline, got '{}'", organisation);
  return "";
}

std::string traces_dir() {
  return data_dir("TACSIM_TRACES_DIR", "traces", TACSIM_SOURCE_TRACES_DIR);
}

std::string trace_path(const std::string& file) {
  // A bundled trace by name ("sst2-dev"), else a path.
  if (file.find('/') == std::string::npos && !std::filesystem::exists(file)) {
    const std::string bundled = traces_dir() + "/" + file + (text::ends_with(file, ".csv") ? "" : ".csv");
    if (std::filesystem::exists(bundled)) return bundled;
  }
  return file;
}

std::string dram_presets_dir() {
  return data_dir("TACSIM_DRAM_PRESETS_DIR", "dram-presets", TACSIM_SOURCE_PRESETS_DIR);
}

std::string models_dir() {
  return data_dir("TACSIM_MODELS_DIR", "models", TACSIM_SOURCE_MODELS_DIR);
}

namespace {

// The units an engine has, whose keys engine<i>.<section>.<key> may set for engine i alone.
const std::vector<std::string>& engine_sections() {
  static const std::vector<std::string> s = {"pe_array",   "act_buffer",  "weight_buffer",
                                             "out_buffer", "hp_datapath", "sfu",
                                             "topk_unit",  "dma",         "controller"};
  return s;
}

bool is_engine_key(const std::string& key) {
  const std::string section = key.substr(0, key.find('.'));
  return std::find(engine_sections().begin(), engine_sections().end(), section) != engine_sections().end();
}

// "engine<i>.<rest>": i and rest.
std::optional<std::pair<std::uint32_t, std::string>> split_engine_key(const std::string& key) {
  if (!text::starts_with(key, "engine")) return std::nullopt;
  const auto dot = key.find('.');
  if (dot == std::string::npos || dot == 6) return std::nullopt;
  const auto i = text::to_unsigned(key.substr(6, dot - 6), kMaxEngines);
  if (!i) return std::nullopt;
  return std::make_pair(static_cast<std::uint32_t>(*i), key.substr(dot + 1));
}

void apply(std::vector<ConfigKey>& keys, const std::string& key, const std::string& value,
           const std::string& where);

// engine<i>.<rest> = value: checked now (the key and the value's form), applied when the engines resolve.
void apply_engine_key(SimConfig& cfg, std::uint32_t engine, const std::string& rest, const std::string& value,
                      const std::string& where) {
  const std::string prefix = "engine" + std::to_string(engine) + ".";
  if (rest == "stage") {
    workloads::parse_engine_stage(value, where + prefix + "stage");
  } else {
    SimConfig scratch;
    auto keys = config_keys(scratch);
    const bool known =
        std::any_of(keys.begin(), keys.end(), [&](const ConfigKey& k) { return k.key == rest; });
    if (known && !is_engine_key(rest))
      throw InputError(
          fmt::format("{}{}{}: only an engine's units can differ between engines ({}.*, or "
                      "{}stage); {} applies to every engine",
                      where, prefix, rest, text::join(engine_sections(), ".*, "), prefix, rest));
    if (!known) {
      std::vector<std::string> names = {prefix + "stage"};
      for (const auto& k : keys)
        if (is_engine_key(k.key)) names.push_back(prefix + k.key);
      if (const auto near = text::closest(prefix + rest, names))
        throw InputError(
            fmt::format("{}unknown config key '{}{}' (did you mean {}?)", where, prefix, rest, *near));
      throw InputError(
          fmt::format("{}unknown config key '{}{}' (tacsim run --help lists them)", where, prefix, rest));
    }
    apply(keys, rest, value, where + prefix);  // the value's form, named engine<i>.<key>
  }
  cfg.engine_overrides.push_back({engine, rest, value, where});
}

// Applies one value; errors name `where` ("file:line: " or "--set ") and the key.
void apply(std::vector<ConfigKey>& keys, const std::string& key, const std::string& value,
           const std::string& where) {
  for (auto& k : keys)
    if (k.key == key) {
      k.parse(value, where);
      return;
    }
  if (const auto renamed = renamed_key(key))
    throw InputError(fmt::format("{}{} was renamed {}", where, key, *renamed));
  std::vector<std::string> names;
  for (const auto& k : keys) names.push_back(k.key);
  if (const auto near = text::closest(key, names))
    throw InputError(fmt::format("{}unknown config key '{}' (did you mean {}?)", where, key, *near));
  throw InputError(fmt::format("{}unknown config key '{}' (tacsim run --help lists them)", where, key));
}

// A key of the whole config, or of one engine.
void apply_any(SimConfig& cfg, std::vector<ConfigKey>& keys, const std::string& key, const std::string& value,
               const std::string& where) {
  if (const auto e = split_engine_key(key)) return apply_engine_key(cfg, e->first, e->second, value, where);
  apply(keys, key, value, where);
}

void apply_ini(SimConfig& cfg, std::vector<ConfigKey>& keys, const std::string& path) {
  text::KeyValueSyntax syntax;
  syntax.sections = true;
  syntax.comments = "#;";      // a '#' or ';' starts a comment anywhere on the line; no value needs either
  syntax.empty_values = true;  // `masks =`: an empty path
  for (const auto& line : text::read_key_values(path, syntax, "config file")) {
    const std::string where = fmt::format("{}:{}: ", path, line.line);
    // "[pe_array] rows = 32" and a top-level "pe_array.rows = 32" mean the same key.
    if (line.key.find('.') == std::string::npos)
      throw InputError(where + fmt::format("key '{}' is outside a section", line.key));
    apply_any(cfg, keys, line.key, line.value, where);
  }
}

// A Params::validate() message starts with the field's name, which is the key's name in its section.
void check(const std::string& section, const std::string& msg) {
  if (!msg.empty()) throw InputError(fmt::format("config: {}.{}", section, msg));
}

// dram = preset, then overrides in the order given; validated as a whole.
dram::Params resolve_dram(const SimConfig& cfg) {
  const auto names = dram::preset_names(dram_presets_dir());
  if (std::find(names.begin(), names.end(), cfg.dram_preset) == names.end())
    throw InputError(fmt::format("config: dram.preset: unknown preset '{}' (bundled: {})", cfg.dram_preset,
                                 text::join(names)));
  dram::Params p = dram::load_preset(cfg.dram_preset, dram_presets_dir());
  for (const auto& [field, value] : cfg.dram_overrides) {
    const std::string err = dram::set_field(p, field, value);
    if (!err.empty()) throw InputError("config: dram." + err);
  }
  check("dram", p.validate());
  return p;
}

// Each engine: the shared keys, then its own (engine<i>.*), in the order given; and what it serves.
void resolve_engines(SimConfig& cfg) {
  const std::uint32_t n = cfg.accel.engines;
  if (n == 0 || n > kMaxEngines) check("accel", cfg.accel.validate());
  for (const EngineOverride& o : cfg.engine_overrides)
    if (o.engine >= n)
      throw InputError(
          fmt::format("{}engine{}.{}: there is no engine {}: accel.engines = {} (engines 0 to {})", o.where,
                      o.engine, o.key, o.engine, n, n - 1));
  cfg.engines.assign(n, cfg.base_engine());
  cfg.engine_stages.assign(n, "all");
  for (std::uint32_t i = 0; i < n; ++i) {
    SimConfig copy;
    bool any = false;
    for (const EngineOverride& o : cfg.engine_overrides) {
      if (o.engine != i) continue;
      if (o.key == "stage") {
        cfg.engine_stages[i] = o.value;
        continue;
      }
      if (!any) copy = cfg, any = true;
      auto keys = config_keys(copy);
      apply(keys, o.key, o.value, o.where);
    }
    if (!any) continue;
    engine::Params e = copy.base_engine();
    e.hp_datapath.bank.block_cols = cfg.pruning.hp_block_cols;
    e.topk_unit.top_k = cfg.topk_unit.top_k;
    cfg.engines[i] = e;
  }
}

// What follows from other keys, in one place: values that several modules share and the preset's fields.
void derive(SimConfig& cfg) {
  // The hp bank map's block is the HP pruning's.
  cfg.hp_datapath.bank.block_cols = cfg.pruning.hp_block_cols;
  // The top-k unit keeps model.topk keys per query (its own default when attention is dense, unused then).
  if (cfg.model.topk > 0) cfg.topk_unit.top_k = cfg.model.topk;
  cfg.memtest.seed = cfg.sim.seed;
  // The policy a run of this kind takes unless one is named (scheduler_params.h).
  if (cfg.scheduler.policy == "auto")
    cfg.scheduler.policy = cfg.sim.workload == "trace" ? "length-aware" : "fcfs";
  // A model with a fixed length (ViT) runs at that length unless one is given; others at 128.
  if (cfg.model.seq_lens.empty() && cfg.sim.workload != "trace") {
    const auto fixed =
        cfg.sim.workload == "model" ? workloads::load_model(cfg.model.name, models_dir()).fixed_seq_len : 0;
    cfg.model.seq_lens = std::to_string(fixed != 0 ? fixed : 128);
  }
  cfg.dram = resolve_dram(cfg);
  // The interconnect counts what the memory moves for each engine in the memory's granules.
  cfg.interconnect.granule_bytes =
      cfg.memory.model == "dram" ? static_cast<std::uint32_t>(cfg.dram.burst_bytes()) : 1;
  resolve_engines(cfg);
}

// A pipeline's stages: each engine's parses, and together they serve every operation of the model.
void validate_stages(const SimConfig& cfg, const workloads::ModelSpec& spec) {
  const std::size_t n = cfg.engines.size();
  if (cfg.accel.organisation != "pipeline") {
    for (const EngineOverride& o : cfg.engine_overrides)
      if (o.key == "stage")
        throw InputError(
            fmt::format("{}engine{}.stage: stages apply to accel.organisation = pipeline (this "
                        "accelerator is a pool: every engine serves everything)",
                        o.where, o.engine));
    return;
  }
  std::vector<workloads::EngineStage> stages;
  for (std::size_t i = 0; i < n; ++i)
    stages.push_back(
        workloads::parse_engine_stage(cfg.engine_stages[i], fmt::format("config: engine{}.stage", i)));
  for (std::uint32_t l = 0; l < spec.layers; ++l)
    for (const auto part : {workloads::Sublayer::kAttention, workloads::Sublayer::kFfn}) {
      const bool served =
          std::any_of(stages.begin(), stages.end(), [&](const auto& s) { return s.serves(l, part); });
      if (served) continue;
      std::string given;
      for (std::size_t i = 0; i < n; ++i)
        given += fmt::format("{}engine{}.stage = {}", i ? ", " : "", i, cfg.engine_stages[i]);
      throw InputError(
          fmt::format("config: engine<i>.stage: in a pipeline every operation needs an engine, and "
                      "nothing serves layer {}'s {} ({})",
                      l, part == workloads::Sublayer::kAttention ? "attention" : "ffn", given));
    }
}

// A model or trace run's rules across keys and the model file: what its lowering and values can take.
void validate_model_run(const SimConfig& cfg) {
  const workloads::ModelSpec spec = workloads::load_model(cfg.model.name, models_dir());
  if (cfg.sim.workload == "model")
    for (const auto L : cfg.model.lengths())
      if (const std::string e = spec.check_seq_len(L); !e.empty())
        throw InputError("config: model.seq_lens: " + e);
  if (cfg.sim.workload == "trace" && spec.fixed_seq_len != 0)
    throw InputError(
        fmt::format("config: sim.workload: {} takes only sequences of {} tokens; a trace's lengths "
                    "vary (run it with sim.workload = model)",
                    spec.name, spec.fixed_seq_len));
  validate_stages(cfg, spec);
  const std::string weights = cfg.model.weights.text();
  if (cfg.model.weights.on_hp_datapath() && !cfg.model.sparsity_overrides.empty())
    throw InputError(
        fmt::format("config: sparsity.overrides: per-layer overrides take N:M ratios; they cannot be "
                    "combined with sparsity.weights = {}",
                    weights));
  if (cfg.sim.check_enabled() && cfg.model.weights.on_hp_datapath())
    throw InputError(
        fmt::format("config: sim.check: model runs check values with dense and N:M weights; with "
                    "sparsity.weights = {} they are timing only (set sim.check=false)",
                    weights));
  // A trace run measures time: its thousands of requests would each need a reference run as long as theirs.
  if (cfg.sim.check_enabled() && cfg.sim.workload == "trace")
    throw InputError(
        "config: sim.check: trace runs are timing only (values are checked on a model's own "
        "sequences: sim.workload = model, or --seq-len)");
  // The reference calibrates each sequence alone, so values are checked for batches of one sequence.
  const auto policy = scheduler::parse_policy(cfg.scheduler.policy);
  const bool batches_of_one = policy == scheduler::PolicyKind::kFcfs ||
                              (policy == scheduler::PolicyKind::kPadded && cfg.scheduler.batch_size == 1);
  if (cfg.sim.check_enabled() && !batches_of_one)
    throw InputError(
        fmt::format("config: sim.check: values are checked against a reference of each sequence "
                    "alone, so only for batches of one sequence; scheduler.policy = {} batches "
                    "several (use fcfs, or padded with scheduler.batch_size = 1)",
                    cfg.scheduler.policy));
}

void validate(const SimConfig& cfg) {
  check("sim", cfg.sim.validate());
  check("model", cfg.model.validate());
  if (cfg.sim.workload == "model") cfg.model.lengths();  // throws naming model.seq_lens
  check("accel", cfg.accel.validate());
  check("trace", cfg.trace.validate());
  check("scheduler", cfg.scheduler.validate());
  check("interconnect", cfg.interconnect.validate());
  check("gemm", cfg.gemm.validate());
  check("sparsity", cfg.pruning.validate());
  if (cfg.sim.workload == "gemm") check("gemm", cfg.pruning.check_fits(cfg.gemm));
  check("pe_array", cfg.pe_array.validate());
  check("act_buffer", cfg.act_buffer.validate());
  check("weight_buffer", cfg.weight_buffer.validate());
  check("out_buffer", cfg.out_buffer.validate());
  check("dma", cfg.dma.validate());
  check("act_buffer", cfg.hp_datapath.bank.validate());
  check("hp_datapath", cfg.hp_datapath.validate());
  check("sfu", cfg.sfu.validate());
  check("topk_unit", cfg.topk_unit.validate());
  for (std::size_t i = 0; i < cfg.engines.size(); ++i)
    check(fmt::format("engine{}", i), cfg.engines[i].validate());
  check("memory", cfg.memory.validate());
  check("fixed_memory", cfg.fixed_memory.validate());
  check("energy", cfg.energy.validate());
  if (cfg.memtest_max_outstanding == 0)
    throw InputError("config: memtest.max_outstanding: must be at least 1, got 0");
  // Each request in flight holds a TLM payload: a bound keeps a typo from allocating gigabytes.
  if (cfg.memtest_max_outstanding > 65536)
    throw InputError(
        fmt::format("config: memtest.max_outstanding: at most 65536, got {}", cfg.memtest_max_outstanding));
  if (cfg.memtest_requests_per_cycle == 0)
    throw InputError("config: memtest.requests_per_cycle: must be at least 1, got 0");
  if (cfg.sim.workload != "gemm") validate_model_run(cfg);
}

}  // namespace

SimConfig resolve_config(const std::string& ini_path, const std::vector<std::string>& overrides) {
  SimConfig cfg;
  auto keys = config_keys(cfg);
  if (!ini_path.empty()) apply_ini(cfg, keys, ini_path);
  std::vector<std::string> set_keys;
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError(fmt::format("--set {}: expected key=value, e.g. --set pe_array.rows=64", o));
    set_keys.push_back(text::trim(o.substr(0, eq)));
    apply_any(cfg, keys, set_keys.back(), text::trim(o.substr(eq + 1)), "--set ");
  }
  // The GEMM workload's shape on the command line of a model run would be ignored: say so instead. (A config
  // file is not checked: every results folder's config.ini lists every key.)
  if (cfg.sim.workload == "model")
    for (std::size_t i = 0; i < set_keys.size(); ++i)
      for (const char* key : {"gemm.m", "gemm.n", "gemm.k", "gemm.sparsity"})
        if (set_keys[i] == key)
          throw InputError(
              fmt::format("--set {}: {} applies to sim.workload=gemm, and this run is a model "
                          "(add --workload gemm; a model's weights take sparsity.weights)",
                          overrides[i], key));
  // Likewise a model's own sequences on the command line of a trace run.
  if (cfg.sim.workload == "trace")
    for (std::size_t i = 0; i < set_keys.size(); ++i)
      for (const char* key : {"model.seq_lens", "model.batch"})
        if (set_keys[i] == key)
          throw InputError(
              fmt::format("--set {}: {} applies to sim.workload=model, and this run is a trace (its "
                          "requests are trace.file's; --seq-len and --batch make a model run)",
                          overrides[i], key));
  derive(cfg);
  validate(cfg);
  check_energy_config(cfg);
  return cfg;
}

namespace {
// Each engine's own keys, resolved: engine<i>.stage in a pipeline, then every key an override set, as the
// engine took it, in table order.
std::vector<std::pair<std::string, std::string>> engine_pairs(const SimConfig& cfg) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < cfg.engines.size(); ++i) {
    const std::string prefix = "engine" + std::to_string(i) + ".";
    if (cfg.accel.organisation == "pipeline") out.emplace_back(prefix + "stage", cfg.engine_stages[i]);
    SimConfig copy = cfg;
    copy.pe_array = cfg.engines[i].pe_array;
    copy.pe_array_mapper = cfg.engines[i].pe_array_mapper;
    copy.act_buffer = cfg.engines[i].act_buffer;
    copy.weight_buffer = cfg.engines[i].weight_buffer;
    copy.out_buffer = cfg.engines[i].out_buffer;
    copy.hp_datapath = cfg.engines[i].hp_datapath;
    copy.sfu = cfg.engines[i].sfu;
    copy.topk_unit = cfg.engines[i].topk_unit;
    copy.dma = cfg.engines[i].dma;
    copy.controller = cfg.engines[i].controller;
    for (const auto& k : config_keys(copy))
      if (std::any_of(cfg.engine_overrides.begin(), cfg.engine_overrides.end(),
                      [&](const EngineOverride& o) { return o.engine == i && o.key == k.key; }))
        out.emplace_back(prefix + k.key, k.show());
  }
  return out;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> to_pairs(const SimConfig& cfg) {
  SimConfig copy = cfg;  // config_keys binds mutable fields; showing does not change them
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : config_keys(copy)) out.emplace_back(k.key, k.show());
  for (auto& p : engine_pairs(cfg)) out.push_back(std::move(p));
  return out;
}

std::string to_ini(const SimConfig& cfg) {
  SimConfig copy = cfg;
  std::ostringstream os;
  os << "# tacsim configuration: `tacsim run --config <this file>` repeats the run.\n"
        "# Every key is written with its value, except a preset's own fields: those are comments, so that\n"
        "# naming another preset means that preset's values. To change one of them, remove its '# '.\n";
  std::string section;
  for (const auto& k : config_keys(copy)) {
    const auto dot = k.key.find('.');
    const std::string s = k.key.substr(0, dot), name = k.key.substr(dot + 1);
    if (s != section) {
      os << "\n[" << s << "]\n";
      section = s;
    }
    const bool from_preset =
        !k.preset_key.empty() && std::none_of(cfg.dram_overrides.begin(), cfg.dram_overrides.end(),
                                              [&](const auto& o) { return "dram." + o.first == k.key; });
    os << (from_preset ? "# " : "") << name << " = " << k.show()
       << (from_preset ? "   # from the preset" : "") << "\n";
  }
  // Each engine's own keys, in a section of its own: [engine1] pe_array.rows = 16.
  std::string engine;
  for (const auto& [key, value] : engine_pairs(cfg)) {
    const auto dot = key.find('.');
    if (key.substr(0, dot) != engine) {
      engine = key.substr(0, dot);
      os << "\n[" << engine << "]\n";
    }
    os << key.substr(dot + 1) << " = " << value << "\n";
  }
  return os.str();
}

std::string describe_keys(HelpFor command) {
  SimConfig defaults = resolve_config("", {});
  std::ostringstream os;
  for (const auto& k : config_keys(defaults)) {
    const bool listed =
        k.scope == KeyScope::kBoth || (k.scope == KeyScope::kRun) == (command == HelpFor::kRun);
    if (!listed) continue;
    const std::string unit = k.unit.empty() ? "" : " [" + k.unit + "]";
    os << fmt::format("  {:<36} {:<12} {}{}\n", k.key, k.show(), k.description, unit);
  }
  if (command == HelpFor::kRun)
    os << fmt::format("  {:<36} {:<12} {}\n  {:<36} {:<12} {}\n", "engine<i>.<section>.<key>", "",
                      "engine i's own value of a key of its units (" + text::join(engine_sections(), ", ") +
                          "), e.g. engine1.pe_array.rows = 16",
                      "engine<i>.stage", "all",
                      "accel.organisation = pipeline: what engine i serves, a comma-separated union of all, "
                      "attention, ffn, layers:A-B and attention@layers:A-B (or ffn@...)");
  return os.str();
}

}  // namespace tacsim::sim
