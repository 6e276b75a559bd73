#include "sim/config.h"

#include <cerrno>
#include <cmath>
#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <vector>
#include <stdexcept>

#include <fmt/format.h>

#include "modules/common/error.h"

namespace tacsim::sim {

namespace {
std::string trim(const std::string& s);
}  // namespace

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
  std::string item;
  std::istringstream ss(seq_lens);
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    const bool digits = !item.empty() && item.size() < 8 && item.find_first_not_of("0123456789") == std::string::npos;
    const unsigned long v = digits ? std::stoul(item) : 0;
    if (v == 0)
      throw InputError(fmt::format("config: model.seq_lens: expected positive lengths separated by commas, got '{}'",
                                   seq_lens));
    for (std::uint32_t b = 0; b < batch; ++b) out.push_back(static_cast<std::uint32_t>(v));
  }
  if (out.empty()) throw InputError("config: model.seq_lens: expected at least one length");
  return out;
}

std::string MemoryParams::validate() const {
  if (model != "dram" && model != "fixed") return fmt::format("model: must be dram or fixed, got '{}'", model);
  return "";
}

std::string AccelParams::validate() const {
  if (!(clock_mhz > 0) || clock_mhz > 1e5) return fmt::format("clock_mhz: must be in (0, 100000], got {}", clock_mhz);
  return "";
}

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

template <typename T>
T parse_unsigned(const std::string& v) {
  static_assert(std::is_unsigned_v<T>);
  const bool digits = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
  errno = 0;
  const unsigned long long x = digits ? std::strtoull(v.c_str(), nullptr, 10) : 0;
  if (!digits || errno == ERANGE || x > std::numeric_limits<T>::max())
    throw std::invalid_argument(
        fmt::format("expected an unsigned integer up to {}, got '{}'", std::numeric_limits<T>::max(), v));
  return static_cast<T>(x);
}

double parse_double(const std::string& v) {
  std::size_t used = 0;
  double x = 0;
  try {
    x = std::stod(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (v.empty() || used != v.size() || !std::isfinite(x))
    throw std::invalid_argument(fmt::format("expected a number, got '{}'", v));
  return x;
}

bool parse_bool(const std::string& v) {
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  throw std::invalid_argument(fmt::format("expected true or false, got '{}'", v));
}

// Shortest text that reads back as the same double.
std::string show_double(double x) { return fmt::format("{}", x); }

template <typename T>
ConfigKey bind_unsigned(const std::string& key, T& field, const std::string& unit, const std::string& desc) {
  return {key, unit, desc, [&field](const std::string& v) { field = parse_unsigned<T>(v); },
          [&field] { return std::to_string(field); }};
}
ConfigKey bind_double(const std::string& key, double& field, const std::string& unit, const std::string& desc) {
  return {key, unit, desc, [&field](const std::string& v) { field = parse_double(v); },
          [&field] { return show_double(field); }};
}
ConfigKey bind_bool(const std::string& key, bool& field, const std::string& desc) {
  return {key, "", desc, [&field](const std::string& v) { field = parse_bool(v); },
          [&field] { return std::string(field ? "true" : "false"); }};
}
ConfigKey bind_string(const std::string& key, std::string& field, const std::string& desc) {
  return {key, "", desc, [&field](const std::string& v) { field = v; }, [&field] { return field; }};
}

// Applies one value; errors become InputError prefixed with `where` ("file:line: " or "--set ").
void apply(std::vector<ConfigKey>& keys, const std::string& key, const std::string& value,
           const std::string& where) {
  for (auto& k : keys)
    if (k.key == key) {
      try {
        k.parse(value);
      } catch (const std::invalid_argument& e) {
        throw InputError(fmt::format("{}{}: {}", where, key, e.what()));
      }
      return;
    }
  throw InputError(fmt::format("{}unknown config key '{}' (tacsim run --help lists them)", where, key));
}

void apply_ini(std::vector<ConfigKey>& keys, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot open config file", path));
  std::string line, section;
  std::map<std::string, int> seen;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string where = fmt::format("{}:{}: ", path, n);
    // A '#' or ';' starts a comment anywhere on the line; no value needs either character.
    const auto hash = line.find_first_of("#;");
    const std::string t = trim(hash == std::string::npos ? line : line.substr(0, hash));
    if (t.empty()) continue;
    if (t.front() == '[') {
      if (t.back() != ']' || t.size() < 3 || t.find_first_of(" \t=[]", 1) != t.size() - 1)
        throw InputError(where + fmt::format("expected a section header like [pe_array], got '{}'", t));
      section = t.substr(1, t.size() - 2);
      continue;
    }
    const auto eq = t.find('=');
    if (eq == std::string::npos)
      throw InputError(where + fmt::format("expected 'key = value' or '[section]', got '{}'", t));
    const std::string name = trim(t.substr(0, eq)), value = trim(t.substr(eq + 1));
    if (name.empty() || name.find_first_of(" \t") != std::string::npos)
      throw InputError(where + fmt::format("expected a key name before '=', got '{}'", t));
    // "[pe_array] rows = 32" and a top-level "pe_array.rows = 32" mean the same key.
    const std::string key = section.empty() ? name : section + "." + name;
    if (key.find('.') == std::string::npos)
      throw InputError(where + fmt::format("key '{}' is outside a section", name));
    if (const auto it = seen.find(key); it != seen.end())
      throw InputError(where + fmt::format("{} is set twice (first on line {})", key, it->second));
    seen[key] = n;
    apply(keys, key, value, where);
  }
}

void check(const std::string& section, const std::string& msg) {
  if (!msg.empty()) throw InputError(fmt::format("config: {}.{}", section, msg));
}

// dram = preset, then overrides in the order given; validated as a whole.
void resolve_dram(SimConfig& cfg) {
  const auto names = dram::preset_names(dram::default_presets_dir());
  if (std::find(names.begin(), names.end(), cfg.dram_preset) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw InputError(fmt::format("config: dram.preset: unknown preset '{}' (bundled: {})", cfg.dram_preset, list));
  }
  dram::Params p = dram::load_preset(cfg.dram_preset, dram::default_presets_dir());
  for (const auto& [field, value] : cfg.dram_overrides) {
    const std::string err = dram::set_field(p, field, value);
    if (!err.empty()) throw InputError("config: dram." + err);
  }
  check("dram", p.validate());
  cfg.dram = p;
}

}  // namespace

std::vector<ConfigKey> config_keys(SimConfig& c) {
  std::vector<ConfigKey> k;
  k.push_back(bind_string("sim.workload", c.sim.workload, "what to run: model (model.*) or gemm (gemm.*)"));
  k.push_back(bind_unsigned("sim.seed", c.sim.seed, "", "seed of every generated operand"));
  k.push_back({"sim.check", "",
               "auto, true or false: compute the datapath's values and compare them with a C++ reference "
               "(timing is the same either way); auto: on for gemm, off for a model",
               [&c](const std::string& v) {
                 if (v != "auto" && v != "true" && v != "false")
                   throw std::invalid_argument("expected auto, true or false, got '" + v + "'");
                 c.sim.check = v;
               },
               [&c] { return c.sim.check; }});
  k.push_back(bind_string("model.name", c.model.name, "sim.workload=model: a model in workloads/models, or a path"));
  k.push_back(bind_string("model.seq_lens", c.model.seq_lens, "sequence lengths, comma-separated, run back to back"));
  k.push_back(bind_unsigned("model.batch", c.model.batch, "", "each length repeated this many times"));
  k.push_back(bind_unsigned("model.topk", c.model.topk, "keys",
                            "top-k sparse attention on the top-k unit (Peng et al. DAC 2022): keys kept per query "
                            "(0: dense attention on the PE array and softmax unit)"));
  k.push_back(bind_bool("model.attention_on_chip", c.model.attention_on_chip,
                       "keep each head's scores and probabilities on chip (STA) when they fit sfu.score_buffer_kib"));
  k.push_back(bind_unsigned("model.attention_block_rows", c.model.attention_block_rows, "rows",
                            "query rows per attention block: the softmax of one block runs while the array "
                            "computes its neighbours' Q.K^T and S.V (0: the PE array's rows)"));
  k.push_back(bind_unsigned("sfu.score_buffer_kib", c.sfu.score_buffer_kib, "KiB",
                            "on-chip buffer for one head's L x L int32 attention scores"));
  k.push_back(bind_unsigned("sfu.stream_kib", c.sfu.stream_kib, "KiB",
                            "an SFU operation streams in groups of rows of about this much input"));
  k.push_back(bind_unsigned("topk_unit.score_lanes", c.topk_unit.score_lanes, "lanes",
                            "approximate-score lanes (one 4-bit LUT product tree and sorter each)"));
  k.push_back(bind_unsigned("topk_unit.lut_per_lane", c.topk_unit.lut_per_lane, "", "4x4-bit LUT multipliers per lane"));
  k.push_back(bind_unsigned("topk_unit.exact_lanes", c.topk_unit.exact_lanes, "lanes", "exact Q.K lanes"));
  k.push_back(bind_unsigned("topk_unit.exact_macs_per_lane", c.topk_unit.exact_macs_per_lane, "", "int8 MACs per lane"));
  k.push_back(bind_unsigned("topk_unit.sv_lanes", c.topk_unit.sv_lanes, "lanes", "S.V lanes (context columns)"));
  k.push_back(bind_unsigned("topk_unit.sv_macs_per_lane", c.topk_unit.sv_macs_per_lane, "", "int8 MACs per S.V lane"));
  k.push_back(bind_string("sparsity.weights", c.model.weight_sparsity,
                          "model weight GEMMs: dense, N:M, hp or unstructured"));
  k.push_back(bind_string("sparsity.overrides", c.model.sparsity_overrides,
                          "per-layer sparsity file ('<layer> = N:M' or '<layer>.<op> = N:M' lines)"));
  k.push_back(bind_string("sparsity.masks", c.model.masks_dir,
                          "folder of .npy masks of a pruned model, layer<l>.<role>.npy of shape (out, in); "
                          "their kept positions replace the pruner's (\"\": none)"));
  k.push_back(bind_double("accel.clock_mhz", c.accel.clock_mhz, "MHz", "accelerator clock"));

  k.push_back(bind_unsigned("gemm.m", c.gemm.m, "rows", "rows of A and C (tokens)"));
  k.push_back(bind_unsigned("gemm.n", c.gemm.n, "columns", "columns of C (output features)"));
  k.push_back(bind_unsigned("gemm.k", c.gemm.k, "elements", "reduction length (input features)"));
  k.push_back(bind_string("gemm.sparsity", c.gemm.sparsity,
                          "weights: dense, N:M along k (1 <= N <= M <= 16; PE array), hp or unstructured "
                          "(HP datapath)"));
  k.push_back(bind_double("gemm.target_sparsity", c.gemm.target_sparsity, "", "hp, unstructured: fraction pruned"));
  k.push_back(bind_unsigned("gemm.hp_block_rows", c.gemm.hp_block_rows, "rows", "hp: level-1 block rows"));
  k.push_back(bind_unsigned("gemm.hp_block_cols", c.gemm.hp_block_cols, "columns",
                            "hp: level-1 block columns (also the walk's block for unstructured)"));
  k.push_back(bind_double("gemm.hp_level1_share", c.gemm.hp_level1_share, "",
                          "hp: share of the pruning done by dropping whole blocks (log-density)"));

  auto& pe = c.pe_array;
  k.push_back(bind_unsigned("pe_array.rows", pe.rows, "PEs", "PE rows (output rows per tile)"));
  k.push_back(bind_unsigned("pe_array.cols", pe.cols, "PEs", "PE columns (output columns per tile)"));
  k.push_back(bind_unsigned("pe_array.macs_per_pe", pe.macs_per_pe, "MACs/cycle", "multipliers per PE"));
  k.push_back(bind_unsigned("pe_array.select_latency", pe.select_latency, "cycles", "M:1 selector stage (sparse)"));
  k.push_back(bind_unsigned("pe_array.multiply_latency", pe.multiply_latency, "cycles", "multiplier stage"));
  k.push_back(bind_unsigned("pe_array.adder_tree_latency", pe.adder_tree_latency, "cycles", "adder tree stages"));
  k.push_back(bind_unsigned("pe_array.accumulate_latency", pe.accumulate_latency, "cycles", "accumulator stage"));

  k.push_back(bind_unsigned("act_buffer.capacity_kib", c.act_buffer.capacity_kib, "KiB",
                            "activation buffer, both ping-pong halves"));
  // Banking of the on-chip buffers: what the HP datapath's activation reads contend for.
  auto& bank = c.hp_datapath.bank;
  k.push_back(bind_unsigned("buffer.banks", bank.banks, "banks", "banks of the activation buffer"));
  k.push_back(bind_unsigned("buffer.ports_per_bank", bank.ports_per_bank, "ports", "reads per bank per cycle"));
  k.push_back({"buffer.bank_map", "",
               "activation column c to bank: interleave (c mod B), xor, or hp ((c mod gemm.hp_block_cols) mod B)",
               [&bank](const std::string& v) {
                 try {
                   bank.map = buffer::parse_bank_map(v, "buffer.bank_map");
                 } catch (const InputError&) {
                   throw std::invalid_argument(fmt::format("expected interleave, xor or hp, got '{}'", v));
                 }
               },
               [&bank] { return buffer::bank_map_name(bank.map); }});
  k.push_back(bind_unsigned("weight_buffer.capacity_kib", c.weight_buffer.capacity_kib, "KiB",
                            "weight buffer, both ping-pong halves"));
  k.push_back(bind_unsigned("out_buffer.capacity_kib", c.out_buffer.capacity_kib, "KiB",
                            "output buffer, both ping-pong halves"));

  auto& h = c.hp_datapath;
  k.push_back(bind_unsigned("hp_datapath.lanes", h.lanes, "reads/cycle", "activation reads and multipliers per token per cycle"));
  k.push_back(bind_unsigned("hp_datapath.decode_latency_cycles", h.decode_latency_cycles, "cycles", "block map and offsets to addresses"));
  k.push_back(bind_unsigned("hp_datapath.multiply_latency_cycles", h.multiply_latency_cycles, "cycles", "multiplier stage"));
  k.push_back(bind_unsigned("hp_datapath.adder_tree_latency_cycles", h.adder_tree_latency_cycles, "cycles", "adder tree stages"));
  k.push_back(bind_unsigned("hp_datapath.accumulate_latency_cycles", h.accumulate_latency_cycles, "cycles", "accumulator stage"));

  k.push_back(bind_unsigned("dma.max_outstanding", c.dma.max_outstanding, "transactions",
                            "transactions in flight"));
  k.push_back(bind_unsigned("dma.max_transaction_bytes", c.dma.max_transaction_bytes, "bytes",
                            "largest transaction; transactions never cross a boundary of this size"));

  k.push_back(bind_string("memory.model", c.memory.model,
                          "dram (JEDEC timing, dram.*) or fixed (fixed latency and bus, fixed_memory.*)"));
  auto& m = c.fixed_memory;
  k.push_back(bind_double("fixed_memory.clock_mhz", m.clock_mhz, "MHz", "clock of the fixed-latency memory"));
  k.push_back(bind_unsigned("fixed_memory.latency_cycles", m.latency_cycles, "cycles", "access latency"));
  k.push_back(bind_unsigned("fixed_memory.bytes_per_cycle", m.bytes_per_cycle, "bytes/cycle", "data bus width"));
  k.push_back(bind_unsigned("fixed_memory.queue_depth", m.queue_depth, "transactions", "requests in flight"));
  k.push_back(bind_unsigned("fixed_memory.capacity_mib", m.capacity_mib, "MiB", "capacity"));

  auto& t = c.memtest;
  k.push_back(bind_string("memtest.pattern", t.pattern, "tacsim memtest traffic: stream, random or strided"));
  k.push_back(bind_unsigned("memtest.bytes", t.bytes, "bytes", "total bytes requested"));
  k.push_back(bind_unsigned("memtest.request_bytes", t.request_bytes, "bytes",
                            "bytes per request; 0: 4096 for stream, one burst for random and strided"));
  k.push_back(bind_unsigned("memtest.stride_bytes", t.stride_bytes, "bytes", "address step of the strided pattern"));
  k.push_back(bind_double("memtest.read_ratio", t.read_ratio, "", "fraction of requests that read"));
  k.push_back(bind_string("memtest.trace", c.memtest_trace,
                          "DRAMsim3 trace ('0x<addr> READ|WRITE <cycle>' lines) replayed instead of the pattern"));
  k.push_back(bind_unsigned("memtest.max_outstanding", c.memtest_max_outstanding, "transactions",
                            "requests the generator keeps in flight"));
  k.push_back(bind_unsigned("memtest.requests_per_cycle", c.memtest_requests_per_cycle, "requests",
                            "BEGIN_REQs the generator may send in one DRAM cycle"));

  // The DRAM: a preset, then any of its fields. Each field is checked as it is read and applied after the
  // preset when the configuration is resolved.
  k.push_back(bind_string("dram.preset", c.dram_preset,
                          "bundled preset (modules/dram/presets): " + [] {
                            std::string names;
                            for (const auto& n : dram::preset_names(dram::default_presets_dir()))
                              names += (names.empty() ? "" : ", ") + n;
                            return names;
                          }()));
  for (const dram::FieldInfo& info : dram::field_infos()) {
    const std::string field = info.name;
    k.push_back({"dram." + field, info.unit, info.meaning,
                 [&c, field](const std::string& v) {
                   dram::Params scratch;
                   std::string err = dram::set_field(scratch, field, v);
                   if (!err.empty()) {
                     // set_field's message starts with the field name; the caller names the whole key.
                     if (err.rfind(field + ": ", 0) == 0) err = err.substr(field.size() + 2);
                     throw std::invalid_argument(err);
                   }
                   c.dram_overrides.emplace_back(field, v);
                 },
                 [&c, field] { return dram::get_field(c.dram, field); }});
  }
  return k;
}

SimConfig resolve_config(const std::string& ini_path, const std::vector<std::string>& overrides) {
  SimConfig cfg;
  auto keys = config_keys(cfg);
  if (!ini_path.empty()) apply_ini(keys, ini_path);
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError(fmt::format("--set {}: expected key=value, e.g. --set pe_array.rows=64", o));
    apply(keys, trim(o.substr(0, eq)), trim(o.substr(eq + 1)), "--set ");
  }
  // The GEMM workload's shape on the command line of a model run would be ignored: say so instead. (A config
  // file is not checked: every results folder's config.ini lists every key.)
  if (cfg.sim.workload == "model")
    for (const auto& o : overrides)
      for (const char* key : {"gemm.m", "gemm.n", "gemm.k", "gemm.sparsity"})
        if (trim(o.substr(0, o.find('='))) == key)
          throw InputError(fmt::format("--set {}: {} applies to sim.workload=gemm, and this run is a model "
                                       "(add --workload gemm; a model's weights take sparsity.weights)",
                                       o, key));
  check("sim", cfg.sim.validate());
  check("model", cfg.model.validate());
  check("accel", cfg.accel.validate());
  check("gemm", cfg.gemm.validate());
  check("pe_array", cfg.pe_array.validate());
  check("act_buffer", cfg.act_buffer.validate());
  check("weight_buffer", cfg.weight_buffer.validate());
  check("out_buffer", cfg.out_buffer.validate());
  check("dma", cfg.dma.validate());
  // The hp bank map's block is the HP pruning's.
  cfg.hp_datapath.bank.block_cols = cfg.gemm.hp_block_cols;
  check("buffer", cfg.hp_datapath.bank.validate());
  check("hp_datapath", cfg.hp_datapath.validate());
  check("sfu", cfg.sfu.validate());
  // The unit keeps model.topk keys per query (its own default when attention is dense, unused then).
  if (cfg.model.topk > 0) cfg.topk_unit.top_k = cfg.model.topk;
  check("topk_unit", cfg.topk_unit.validate());
  check("memory", cfg.memory.validate());
  check("fixed_memory", cfg.fixed_memory.validate());
  if (cfg.memtest_max_outstanding == 0) throw InputError("config: memtest.max_outstanding: must be at least 1, got 0");
  if (cfg.memtest_requests_per_cycle == 0)
    throw InputError("config: memtest.requests_per_cycle: must be at least 1, got 0");
  cfg.memtest.seed = cfg.sim.seed;
  resolve_dram(cfg);
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
  os << "# tacsim resolved configuration: `tacsim run --config <this file>` repeats the run.\n";
  std::string section;
  for (const auto& k : config_keys(copy)) {
    const auto dot = k.key.find('.');
    const std::string s = k.key.substr(0, dot), name = k.key.substr(dot + 1);
    if (s != section) {
      os << "\n[" << s << "]\n";
      section = s;
    }
    os << name << " = " << k.show() << "\n";
  }
  return os.str();
}

std::string describe_keys() {
  SimConfig defaults = resolve_config("", {});
  std::ostringstream os;
  for (const auto& k : config_keys(defaults)) {
    const std::string unit = k.unit.empty() ? "" : " [" + k.unit + "]";
    os << fmt::format("  {:<32} {:<10} {}{}\n", k.key, k.show(), k.description, unit);
  }
  return os.str();
}

}  // namespace tacsim::sim
