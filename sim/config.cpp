#include "sim/config.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "modules/common/clock_rate.h"
#include "modules/common/data_files.h"
#include "modules/common/error.h"
#include "modules/common/text.h"
#include "sim/config_keys.h"
#include "sim/energy_report.h"
#include "workloads/model.h"

namespace tacsim::sim {

std::string SimParams::validate() const {
  if (workload != "gemm" && workload != "model")
    return fmt::format("workload: must be gemm or model, got '{}'", workload);
  return "";
}

std::string ModelRunParams::validate() const {
  if (batch == 0) return "batch: must be at least 1, got 0";
  if (topk > (1u << 16)) return fmt::format("topk: must be at most 65536 (the top-k unit's sorters), got {}", topk);
  return "";
}

std::vector<std::uint32_t> ModelRunParams::lengths() const {
  std::vector<std::uint32_t> out;
  for (const std::string& item : text::split_list(seq_lens, ',', "config: model.seq_lens")) {
    const auto v = text::to_unsigned(item, 1u << 20);
    if (!v || *v == 0)
      throw InputError(fmt::format("config: model.seq_lens: expected positive lengths separated by commas, got '{}'",
                                   seq_lens));
    for (std::uint32_t b = 0; b < batch; ++b) out.push_back(static_cast<std::uint32_t>(*v));
  }
  return out;
}

std::string MemoryParams::validate() const {
  if (model != "dram" && model != "fixed") return fmt::format("model: must be dram or fixed, got '{}'", model);
  return "";
}

std::string AccelParams::validate() const {
  if (const std::string e = clock_mhz_error(clock_mhz); !e.empty()) return "clock_mhz: " + e;
  return "";
}

std::string dram_presets_dir() {
  return data_dir("TACSIM_DRAM_PRESETS_DIR", "dram-presets", TACSIM_SOURCE_PRESETS_DIR);
}

std::string models_dir() { return data_dir("TACSIM_MODELS_DIR", "models", TACSIM_SOURCE_MODELS_DIR); }

namespace {

// Applies one value; errors name `where` ("file:line: " or "--set ") and the key.
void apply(std::vector<ConfigKey>& keys, const std::string& key, const std::string& value, const std::string& where) {
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

void apply_ini(std::vector<ConfigKey>& keys, const std::string& path) {
  text::KeyValueSyntax syntax;
  syntax.sections = true;
  syntax.comments = "#;";  // a '#' or ';' starts a comment anywhere on the line; no value needs either
  syntax.empty_values = true;  // `masks =`: an empty path
  for (const auto& line : text::read_key_values(path, syntax, "config file")) {
    const std::string where = fmt::format("{}:{}: ", path, line.line);
    // "[pe_array] rows = 32" and a top-level "pe_array.rows = 32" mean the same key.
    if (line.key.find('.') == std::string::npos)
      throw InputError(where + fmt::format("key '{}' is outside a section", line.key));
    apply(keys, line.key, line.value, where);
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

// What follows from other keys, in one place: values that several modules share and the preset's fields.
void derive(SimConfig& cfg) {
  // The hp bank map's block is the HP pruning's.
  cfg.hp_datapath.bank.block_cols = cfg.pruning.hp_block_cols;
  // The top-k unit keeps model.topk keys per query (its own default when attention is dense, unused then).
  if (cfg.model.topk > 0) cfg.topk_unit.top_k = cfg.model.topk;
  cfg.memtest.seed = cfg.sim.seed;
  // A model with a fixed length (ViT) runs at that length unless one is given; others at 128.
  if (cfg.model.seq_lens.empty()) {
    const auto fixed = cfg.sim.workload == "model"
                           ? workloads::load_model(cfg.model.name, models_dir()).fixed_seq_len
                           : 0;
    cfg.model.seq_lens = std::to_string(fixed != 0 ? fixed : 128);
  }
  cfg.dram = resolve_dram(cfg);
}

// A model run's rules across keys and the model file: what its lowering and values can take.
void validate_model_run(const SimConfig& cfg) {
  const workloads::ModelSpec spec = workloads::load_model(cfg.model.name, models_dir());
  for (const auto L : cfg.model.lengths())
    if (const std::string e = spec.check_seq_len(L); !e.empty()) throw InputError("config: model.seq_lens: " + e);
  const std::string weights = cfg.model.weights.text();
  if (cfg.model.weights.on_hp_datapath() && !cfg.model.sparsity_overrides.empty())
    throw InputError(fmt::format("config: sparsity.overrides: per-layer overrides take N:M ratios; they cannot be "
                                 "combined with sparsity.weights = {}",
                                 weights));
  if (cfg.sim.check_enabled() && cfg.model.weights.on_hp_datapath())
    throw InputError(fmt::format("config: sim.check: model runs check values with dense and N:M weights; with "
                                 "sparsity.weights = {} they are timing only (set sim.check=false)",
                                 weights));
}

void validate(const SimConfig& cfg) {
  check("sim", cfg.sim.validate());
  check("model", cfg.model.validate());
  cfg.model.lengths();  // throws naming model.seq_lens
  check("accel", cfg.accel.validate());
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
  check("memory", cfg.memory.validate());
  check("fixed_memory", cfg.fixed_memory.validate());
  check("energy", cfg.energy.validate());
  if (cfg.memtest_max_outstanding == 0) throw InputError("config: memtest.max_outstanding: must be at least 1, got 0");
  // Each request in flight holds a TLM payload: a bound keeps a typo from allocating gigabytes.
  if (cfg.memtest_max_outstanding > 65536)
    throw InputError(fmt::format("config: memtest.max_outstanding: at most 65536, got {}", cfg.memtest_max_outstanding));
  if (cfg.memtest_requests_per_cycle == 0)
    throw InputError("config: memtest.requests_per_cycle: must be at least 1, got 0");
  if (cfg.sim.workload == "model") validate_model_run(cfg);
}

}  // namespace

SimConfig resolve_config(const std::string& ini_path, const std::vector<std::string>& overrides) {
  SimConfig cfg;
  auto keys = config_keys(cfg);
  if (!ini_path.empty()) apply_ini(keys, ini_path);
  std::vector<std::string> set_keys;
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError(fmt::format("--set {}: expected key=value, e.g. --set pe_array.rows=64", o));
    set_keys.push_back(text::trim(o.substr(0, eq)));
    apply(keys, set_keys.back(), text::trim(o.substr(eq + 1)), "--set ");
  }
  // The GEMM workload's shape on the command line of a model run would be ignored: say so instead. (A config
  // file is not checked: every results folder's config.ini lists every key.)
  if (cfg.sim.workload == "model")
    for (std::size_t i = 0; i < set_keys.size(); ++i)
      for (const char* key : {"gemm.m", "gemm.n", "gemm.k", "gemm.sparsity"})
        if (set_keys[i] == key)
          throw InputError(fmt::format("--set {}: {} applies to sim.workload=gemm, and this run is a model "
                                       "(add --workload gemm; a model's weights take sparsity.weights)",
                                       overrides[i], key));
  derive(cfg);
  validate(cfg);
  check_energy_config(cfg);
  return cfg;
}

std::vector<std::pair<std::string, std::string>> to_pairs(const SimConfig& cfg) {
  SimConfig copy = cfg;  // config_keys binds mutable fields; showing does not change them
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : config_keys(copy)) out.emplace_back(k.key, k.show());
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
        !k.preset_key.empty() &&
        std::none_of(cfg.dram_overrides.begin(), cfg.dram_overrides.end(),
                     [&](const auto& o) { return "dram." + o.first == k.key; });
    os << (from_preset ? "# " : "") << name << " = " << k.show() << (from_preset ? "   # from the preset" : "")
       << "\n";
  }
  return os.str();
}

std::string describe_keys(HelpFor command) {
  SimConfig defaults = resolve_config("", {});
  std::ostringstream os;
  for (const auto& k : config_keys(defaults)) {
    const bool listed = k.scope == KeyScope::kBoth || (k.scope == KeyScope::kRun) == (command == HelpFor::kRun);
    if (!listed) continue;
    const std::string unit = k.unit.empty() ? "" : " [" + k.unit + "]";
    os << fmt::format("  {:<36} {:<12} {}{}\n", k.key, k.show(), k.description, unit);
  }
  return os.str();
}

}  // namespace tacsim::sim
