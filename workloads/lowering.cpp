#include "workloads/lowering.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <map>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "modules/formats/nm.h"

namespace tacsim::workloads {
namespace {

// "dense" for every N:N (NmSpec::to_string() says so only for 1:1), else "N:M".
std::string canonical(const sparsity::NmSpec& spec) {
  return spec.is_dense() ? "dense" : spec.to_string();
}

std::string role_list() {
  std::string out;
  for (WeightRole r : weight_roles()) out += (out.empty() ? "" : ", ") + std::string(to_string(r));
  return out;
}

// Where a weight GEMM's sparsity came from, for messages.
struct ResolvedSparsity {
  sparsity::NmSpec spec;
  std::string origin;
};

ResolvedSparsity resolve_sparsity(const LoweringOptions& options, const sparsity::NmSpec& fallback,
                                  std::uint32_t layer, WeightRole role) {
  const SparsityOverride* layer_entry = nullptr;
  for (const auto& e : options.per_layer_override.entries) {
    if (e.layer != layer) continue;
    if (e.role == role)
      return {sparsity::parse_nm(e.sparsity),
              fmt::format("{}:{}", options.per_layer_override.source, e.line)};
    if (e.role == WeightRole::kNone) layer_entry = &e;
  }
  if (layer_entry != nullptr)
    return {sparsity::parse_nm(layer_entry->sparsity),
            fmt::format("{}:{}", options.per_layer_override.source, layer_entry->line)};
  return {fallback, "weight_sparsity"};
}

class LayerBuilder {
 public:
  LayerBuilder(const ModelSpec& spec, std::uint32_t layer, const std::vector<std::uint32_t>& lengths,
               const LoweringOptions& options, const sparsity::NmSpec& fallback, std::vector<Op>& ops)
      : spec_(spec), layer_(layer), lengths_(lengths), options_(options), fallback_(fallback), ops_(ops) {
    for (auto L : lengths) t_ += L;
  }

  // Appends the layer reading `input` (kExternalInput: outside the list) and returns its output op's index.
  std::size_t build(std::size_t input) {
    const std::uint32_t h = spec_.hidden;
    const bool pre = spec_.norm == NormPosition::kPre;

    const std::size_t attn_in =
        pre ? sfu(OpKind::kLayerNorm, "ln1", h, {input}, Sublayer::kAttention) : input;
    const std::size_t q = weight_gemm(WeightRole::kQProj, h, h, {attn_in});
    const std::size_t k = weight_gemm(WeightRole::kKProj, h, h, {attn_in});
    const std::size_t v = weight_gemm(WeightRole::kVProj, h, h, {attn_in});
    std::vector<std::size_t> heads;
    std::uint32_t row0 = 0;
    for (std::size_t s = 0; s < lengths_.size(); ++s) {
      member_ = static_cast<int>(s);
      row0_ = row0;
      l_ = lengths_[s];
      for (std::uint32_t j = 0; j < spec_.heads; ++j)
        heads.push_back(options_.topk > 0 ? topk_head(j, q, k, v) : dense_head(j, q, k, v));
      row0 += lengths_[s];
    }
    member_ = -1;
    row0_ = 0;
    // Every head writes its columns of its member's rows of one context tensor, which out_proj reads.
    const std::size_t out = weight_gemm(WeightRole::kOutProj, h, h, heads);
    const std::size_t res1 = sfu(OpKind::kResidualAdd, "residual1", h, {out, input}, Sublayer::kAttention);
    // Post-norm: the FFN and the second residual read ln1; pre-norm: the FFN reads ln2, the residual res1.
    const std::size_t skip = pre ? res1 : sfu(OpKind::kLayerNorm, "ln1", h, {res1}, Sublayer::kAttention);
    const std::size_t ffn_in = pre ? sfu(OpKind::kLayerNorm, "ln2", h, {res1}, Sublayer::kFfn) : skip;
    const std::size_t up = weight_gemm(WeightRole::kFfnUp, spec_.ffn, h, {ffn_in});
    const std::size_t act = sfu(OpKind::kGelu, "gelu", spec_.ffn, {up}, Sublayer::kFfn);
    const std::size_t down = weight_gemm(WeightRole::kFfnDown, h, spec_.ffn, {act});
    const std::size_t res2 = sfu(OpKind::kResidualAdd, "residual2", h, {down, skip}, Sublayer::kFfn);
    const std::size_t output = pre ? res2 : sfu(OpKind::kLayerNorm, "ln2", h, {res2}, Sublayer::kFfn);
    ops_[output].layer_output = true;
    return output;
  }

 private:
  std::size_t push(Op op) {
    ops_.push_back(std::move(op));
    return ops_.size() - 1;
  }

  Op base(OpKind kind, const std::string& part, int head, std::vector<std::size_t> inputs) const {
    Op op;
    op.kind = kind;
    op.layer = layer_;
    op.head = head;
    op.member = head < 0 ? -1 : member_;
    op.row0 = head < 0 ? 0 : row0_;
    // A sequence alone keeps the names it always had; a batch's heads say whose they are.
    if (head < 0)
      op.name = fmt::format("layer{}.{}", layer_, part);
    else if (lengths_.size() == 1)
      op.name = fmt::format("layer{}.head{}.{}", layer_, head, part);
    else
      op.name = fmt::format("layer{}.seq{}.head{}.{}", layer_, member_, head, part);
    for (std::size_t i : inputs)
      if (i != kExternalInput) op.deps.push_back(i);
    op.inputs = std::move(inputs);
    return op;
  }

  std::size_t weight_gemm(WeightRole role, std::uint32_t n, std::uint32_t k,
                          std::vector<std::size_t> inputs) {
    Op op = base(OpKind::kWeightGemm, to_string(role), -1, std::move(inputs));
    op.role = role;
    op.sublayer =
        role == WeightRole::kFfnUp || role == WeightRole::kFfnDown ? Sublayer::kFfn : Sublayer::kAttention;
    const ResolvedSparsity s = resolve_sparsity(options_, fallback_, layer_, role);
    if (!s.spec.is_dense() && k % static_cast<std::uint32_t>(s.spec.m) != 0)
      throw InputError(fmt::format("{}: {} does not fit {} of model {}: k = {} is not a multiple of M = {}",
                                   s.origin, s.spec.to_string(), op.name, spec_.name, k, s.spec.m));
    op.gemm = gemm_params(t_, n, k, WeightSparsity::of_nm(s.spec));
    op.macs = std::uint64_t{t_} * n * k;
    op.effective_macs = op.macs / static_cast<std::uint64_t>(s.spec.m) * static_cast<std::uint64_t>(s.spec.n);
    op.weight_bytes = s.spec.is_dense() ? std::uint64_t{n} * k
                                        : sparsity::nm_payload_bytes(static_cast<int>(n), static_cast<int>(k),
                                                                     s.spec, sparsity::NmEncoding::kIndex);
    return push(std::move(op));
  }

  GemmParams gemm_params(std::uint32_t m, std::uint32_t n, std::uint32_t k, WeightSparsity sparsity) const {
    GemmParams g;
    g.m = m;
    g.n = n;
    g.k = k;
    g.sparsity = sparsity;
    return g;
  }

  std::size_t attention_gemm(OpKind kind, const char* part, std::uint32_t head, std::uint32_t n,
                             std::uint32_t k, std::vector<std::size_t> inputs) {
    Op op = base(kind, part, static_cast<int>(head), std::move(inputs));
    op.sublayer = Sublayer::kAttention;
    op.gemm = gemm_params(l_, n, k, WeightSparsity{});
    op.macs = op.effective_macs = std::uint64_t{l_} * n * k;
    return push(std::move(op));
  }

  std::size_t sfu(OpKind kind, const char* part, std::uint32_t row_len, std::vector<std::size_t> inputs,
                  Sublayer sublayer = Sublayer::kNone, int head = -1) {
    Op op = base(kind, part, head, std::move(inputs));
    op.sublayer = sublayer;
    op.rows = head < 0 ? t_ : l_;  // a head's softmax: its member's rows; the others every token
    op.row_len = row_len;
    op.elements = std::uint64_t{op.rows} * row_len;
    return push(std::move(op));
  }

  std::size_t dense_head(std::uint32_t j, std::size_t q, std::size_t k, std::size_t v) {
    const std::uint32_t d = spec_.head_dim();
    const std::size_t scores = attention_gemm(OpKind::kScores, "qk", j, l_, d, {q, k});
    const std::size_t probs =
        sfu(OpKind::kSoftmax, "softmax", l_, {scores}, Sublayer::kAttention, static_cast<int>(j));
    if (spec_.causal) {
      ops_[probs].causal = true;
      ops_[probs].elements = std::uint64_t{l_} * (l_ + 1) / 2;  // rows of 1, 2, ..., L valid entries
    }
    const std::size_t context = attention_gemm(OpKind::kContext, "sv", j, d, l_, {probs, v});
    for (std::size_t i : {scores, probs, context}) ops_[i].head_ops = HeadOps{scores, probs, context};
    return context;
  }

  std::size_t topk_head(std::uint32_t j, std::size_t q, std::size_t k, std::size_t v) {
    Op op = base(OpKind::kTopkAttention, "topk_attention", static_cast<int>(j), {q, k, v});
    op.sublayer = Sublayer::kAttention;
    op.topk = TopkShape{l_, l_, spec_.head_dim(), std::min(options_.topk, l_)};
    op.causal = spec_.causal;
    op.macs = op.effective_macs = 2 * std::uint64_t{l_} * op.topk.kept * op.topk.d;
    op.lut_products = std::uint64_t{l_} * l_ * op.topk.d;
    return push(std::move(op));
  }

  const ModelSpec& spec_;
  std::uint32_t layer_;
  const std::vector<std::uint32_t>& lengths_;
  std::uint32_t t_ = 0;     // the batch's tokens
  std::uint32_t l_ = 0;     // the member whose heads are being built: its length,
  int member_ = -1;         // its index
  std::uint32_t row0_ = 0;  // and its first row
  const LoweringOptions& options_;
  sparsity::NmSpec fallback_;
  std::vector<Op>& ops_;
};

// Checks everything lower_layer and lower_batch share; returns the default weight sparsity.
sparsity::NmSpec check_inputs(const ModelSpec& spec, const std::vector<std::uint32_t>& lengths,
                              const LoweringOptions& options) {
  const std::string where = spec.file.empty() ? "model " + spec.name : spec.file;
  if (const std::string err = spec.validate(); !err.empty()) throw InputError(where + ": " + err);
  if (lengths.empty()) throw std::invalid_argument("lower_batch: a batch of no sequences");
  std::uint64_t tokens = 0;
  for (const auto L : lengths) {
    if (const std::string err = spec.check_seq_len(L); !err.empty()) throw InputError(err);
    tokens += L;
  }
  if (tokens > (1u << 24)) throw InputError(fmt::format("a batch of {} tokens is beyond 2^24", tokens));
  if (const std::string err = options.validate(); !err.empty()) throw InputError(err);
  for (const auto& e : options.per_layer_override.entries)
    if (e.layer >= spec.layers)
      throw InputError(fmt::format("{}:{}: layer {} is out of range: model {} has {} layers (0..{})",
                                   options.per_layer_override.source, e.line, e.layer, spec.name, spec.layers,
                                   spec.layers - 1));
  return sparsity::parse_nm(options.weight_sparsity);
}

}  // namespace

const char* to_string(OpKind kind) {
  switch (kind) {
    case OpKind::kWeightGemm:
      return "weight_gemm";
    case OpKind::kScores:
      return "scores";
    case OpKind::kSoftmax:
      return "softmax";
    case OpKind::kContext:
      return "context";
    case OpKind::kTopkAttention:
      return "topk_attention";
    case OpKind::kResidualAdd:
      return "residual_add";
    case OpKind::kLayerNorm:
      return "layernorm";
    case OpKind::kGelu:
      return "gelu";
  }
  return "?";
}

bool is_gemm(OpKind kind) {
  return kind == OpKind::kWeightGemm || kind == OpKind::kScores || kind == OpKind::kContext;
}

const char* to_string(WeightRole role) {
  switch (role) {
    case WeightRole::kNone:
      return "";
    case WeightRole::kQProj:
      return "q_proj";
    case WeightRole::kKProj:
      return "k_proj";
    case WeightRole::kVProj:
      return "v_proj";
    case WeightRole::kOutProj:
      return "out_proj";
    case WeightRole::kFfnUp:
      return "ffn_up";
    case WeightRole::kFfnDown:
      return "ffn_down";
  }
  return "?";
}

const std::vector<WeightRole>& weight_roles() {
  static const std::vector<WeightRole> roles = {WeightRole::kQProj, WeightRole::kKProj,
                                                WeightRole::kVProj, WeightRole::kOutProj,
                                                WeightRole::kFfnUp, WeightRole::kFfnDown};
  return roles;
}

std::size_t role_index(WeightRole role) {
  const auto& roles = weight_roles();
  return static_cast<std::size_t>(std::find(roles.begin(), roles.end(), role) - roles.begin());
}

std::pair<std::uint32_t, std::uint32_t> weight_shape(const ModelSpec& spec, WeightRole role) {
  switch (role) {
    case WeightRole::kFfnUp:
      return {spec.ffn, spec.hidden};
    case WeightRole::kFfnDown:
      return {spec.hidden, spec.ffn};
    default:
      return {spec.hidden, spec.hidden};
  }
}

SparsityOverrides parse_sparsity_overrides(std::istream& in, const std::string& source) {
  SparsityOverrides out;
  out.source = source;
  std::map<std::pair<std::uint32_t, WeightRole>, int> seen;
  text::KeyValueSyntax syntax;
  syntax.duplicates = true;  // "3" and "03" are one layer: the duplicate check below compares layers
  syntax.form = "'<layer> = N:M' or '<layer>.<op> = N:M'";
  for (const auto& line : text::parse_key_values(in, source, syntax)) {
    const int n = line.line;
    const std::string where = fmt::format("{}:{}: ", source, n);
    const std::string& key = line.key;
    const std::string& value = line.value;
    const auto dot = key.find('.');
    SparsityOverride e;
    e.line = n;
    const std::string layer_text = key.substr(0, dot);
    if (const auto v = text::to_unsigned(layer_text, 0xFFFFFFFFull))
      e.layer = static_cast<std::uint32_t>(*v);
    else
      throw InputError(where +
                       fmt::format("expected a layer index (0, 1, ...) before '=' or '.', got '{}'", key));
    if (dot != std::string::npos) {
      const std::string role = key.substr(dot + 1);
      for (WeightRole r : weight_roles())
        if (role == to_string(r)) e.role = r;
      if (e.role == WeightRole::kNone)
        throw InputError(where + fmt::format("unknown op '{}'; expected one of {}", role, role_list()));
    }
    try {
      e.sparsity = canonical(sparsity::parse_nm(value));
    } catch (const InputError& err) {
      throw InputError(where + err.what());
    }
    const auto target = std::make_pair(e.layer, e.role);
    if (const auto it = seen.find(target); it != seen.end())
      throw InputError(where + fmt::format("'{}' is set twice (first on line {})", key, it->second));
    seen[target] = n;
    out.entries.push_back(std::move(e));
  }
  return out;
}

SparsityOverrides load_sparsity_overrides(const std::string& path) {
  std::ifstream in = text::open_input(path, "sparsity override file");
  return parse_sparsity_overrides(in, path);
}

std::string LoweringOptions::validate() const {
  try {
    sparsity::parse_nm(weight_sparsity);
  } catch (const InputError& e) {
    return std::string("weight_sparsity: ") + e.what();
  }
  return "";
}

std::vector<Op> lower_layer(const ModelSpec& spec, std::uint32_t layer, std::uint32_t seq_len,
                            const LoweringOptions& options) {
  const std::vector<std::uint32_t> lengths = {seq_len};
  const sparsity::NmSpec fallback = check_inputs(spec, lengths, options);
  if (layer >= spec.layers)
    throw InputError(fmt::format("layer: model {} has {} layers (0..{}), got {}", spec.name, spec.layers,
                                 spec.layers - 1, layer));
  std::vector<Op> ops;
  LayerBuilder(spec, layer, lengths, options, fallback, ops).build(kExternalInput);
  return ops;
}

std::vector<Op> lower_model(const ModelSpec& spec, std::uint32_t seq_len, const LoweringOptions& options) {
  return lower_batch(spec, {seq_len}, options);
}

std::vector<Op> lower_batch(const ModelSpec& spec, const std::vector<std::uint32_t>& lengths,
                            const LoweringOptions& options) {
  const sparsity::NmSpec fallback = check_inputs(spec, lengths, options);
  std::vector<Op> ops;
  std::size_t input = kExternalInput;
  for (std::uint32_t l = 0; l < spec.layers; ++l)
    input = LayerBuilder(spec, l, lengths, options, fallback, ops).build(input);
  return ops;
}

std::vector<double> longest_path_to_end(const std::vector<Op>& ops,
                                        const std::function<double(const Op&)>& cost) {
  // Deps point backwards, so a reverse sweep sees every consumer of op i before op i itself.
  std::vector<double> best_consumer(ops.size(), 0.0);
  std::vector<double> lp(ops.size(), 0.0);
  for (std::size_t i = ops.size(); i-- > 0;) {
    lp[i] = cost(ops[i]) + best_consumer[i];
    for (std::size_t d : ops[i].deps) {
      if (d >= i)
        throw std::invalid_argument(
            fmt::format("longest_path_to_end: op {} ({}) depends on op {}, which does not "
                        "come before it",
                        i, ops[i].name, d));
      best_consumer[d] = std::max(best_consumer[d], lp[i]);
    }
  }
  return lp;
}

std::vector<double> longest_path_to_end(const std::vector<Op>& ops) {
  return longest_path_to_end(ops, [](const Op& op) { return static_cast<double>(op.effective_macs); });
}

std::uint64_t total_macs(const std::vector<Op>& ops) {
  std::uint64_t sum = 0;
  for (const auto& op : ops) sum += op.macs;
  return sum;
}

std::uint64_t total_effective_macs(const std::vector<Op>& ops) {
  std::uint64_t sum = 0;
  for (const auto& op : ops) sum += op.effective_macs;
  return sum;
}

std::uint64_t total_weight_bytes(const std::vector<Op>& ops) {
  std::uint64_t sum = 0;
  for (const auto& op : ops) sum += op.weight_bytes;
  return sum;
}

}  // namespace tacsim::workloads
