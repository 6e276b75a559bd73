#include "workloads/model_mapping.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/text.h"

namespace tacsim::workloads {

AttentionBlocks attention_blocks(std::uint32_t seq_len, std::uint32_t array_rows,
                                 std::uint64_t score_buffer_bytes, std::uint32_t block_rows, bool on_chip) {
  const std::uint64_t row_bytes = std::uint64_t{seq_len} * kAccBytes;
  std::uint32_t rows = std::min(block_rows ? block_rows : array_rows, seq_len);
  while (on_chip && 2 * row_bytes * rows > score_buffer_bytes) {
    // Halve down to the array's rows (a smaller block leaves array rows idle).
    if (rows <= array_rows) on_chip = false;
    rows = std::max(array_rows, rows / 2 / array_rows * array_rows);
  }
  return {on_chip ? rows : seq_len, on_chip};
}

std::vector<Epilogue> fused_epilogues(const std::vector<Op>& ops, bool on) {
  std::vector<Epilogue> out(ops.size());
  if (!on) return out;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& g = ops[i];
    const WeightFormat f = g.gemm.sparsity.format;
    if (g.kind != OpKind::kWeightGemm || (f != WeightFormat::kDense && f != WeightFormat::kNm) ||
        g.role == WeightRole::kVProj)
      continue;
    Epilogue& e = out[i];
    // The ops right after it that read it (or, a layernorm, the residual add before it), in order.
    for (std::size_t j = i + 1; j < ops.size(); ++j) {
      const Op& o = ops[j];
      const std::size_t src = e.ops.empty() ? i : e.ops.back();
      const bool reads = !o.inputs.empty() && o.inputs[0] == src && o.layer == g.layer;
      const bool fits =
          (o.kind == OpKind::kGelu && e.ops.empty() && g.role == WeightRole::kFfnUp) ||
          (o.kind == OpKind::kResidualAdd && e.ops.empty()) ||
          (o.kind == OpKind::kLayerNorm && !e.ops.empty() && ops[e.ops.back()].kind == OpKind::kResidualAdd);
      if (!reads || !fits) break;
      e.ops.push_back(j);
      e.by_rows = o.kind != OpKind::kGelu;
    }
  }
  return out;
}

std::vector<Epilogue::Block> Epilogue::blocks(const Op& gemm, std::uint32_t array_rows,
                                              std::uint32_t array_cols, std::uint32_t col_blocks) const {
  std::vector<Block> v;
  const std::uint32_t m = gemm.gemm.m, n = gemm.gemm.n;
  if (by_rows) {
    for (std::uint32_t r = 0; r < m; r += array_rows) v.push_back({r, std::min(array_rows, m - r), 0, n});
  } else {
    // Each block is a GEMM of its own that pays its first loads and the array's fill: no more blocks than
    // the array's row blocks of tokens, so that short sequences, whose GELU is short, stay whole.
    const std::uint32_t count = std::max(1u, std::min(col_blocks, (m + array_rows - 1) / array_rows));
    const std::uint32_t per = (n + count - 1) / count;
    const std::uint32_t cols = (per + array_cols - 1) / array_cols * array_cols;
    for (std::uint32_t c = 0; c < n; c += cols) v.push_back({0, m, c, std::min(cols, n - c)});
  }
  return v;
}

GemmLayout gemm_block_layout(const GemmLayout& whole, const Epilogue::Block& b) {
  if (whole.out.transpose) throw std::logic_error("gemm_block_layout: a transposed output has no row blocks");
  GemmLayout l = whole;
  l.a_address += std::uint64_t{b.row0} * whole.a_stride;
  l.w_address += std::uint64_t{b.col0} * whole.w_stride;
  l.c_address += std::uint64_t{b.row0} * whole.c_stride + std::uint64_t{b.col0} * whole.out.element_bytes();
  return l;
}

sfu::SfuOp sfu_block(const sfu::SfuOp& whole, const Epilogue::Block& b) {
  if (whole.kind == sfu::SfuKind::kLayerNorm && b.cols != whole.row_len)
    throw std::logic_error("sfu_block: a layernorm needs whole rows");
  sfu::SfuOp s = whole;
  s.rows = b.rows;
  s.row_len = b.cols;
  auto cut = [&](dma::BlockMove& m, std::uint64_t local) {
    const std::uint32_t eb = m.row_bytes / whole.row_len;
    m.address += std::uint64_t{b.row0} * m.stride + std::uint64_t{b.col0} * eb;
    m.rows = b.rows;
    m.row_bytes = b.cols * eb;
    m.local_offset = local;
    return local + m.bytes();
  };
  std::uint64_t local = 0;
  for (dma::BlockMove& in : s.inputs) local = cut(in, local);
  cut(s.output, 0);
  return s;
}

bool EngineStage::serves(std::uint32_t layer, Sublayer part) const {
  return std::any_of(terms.begin(), terms.end(), [&](const Term& t) {
    return (t.part == Sublayer::kNone || t.part == part) && layer >= t.first && layer <= t.last;
  });
}

EngineStage parse_engine_stage(const std::string& text, const std::string& what) {
  const std::string form =
      "a comma-separated list of all, attention, ffn, layers:A-B, attention@layers:A-B or ffn@layers:A-B";
  auto fail = [&](const std::string& why) -> EngineStage {
    throw InputError(fmt::format("{}: expected {}{}, got '{}'", what, form, why, text));
  };
  EngineStage stage;
  for (const std::string& item : text::split_list(text, ',', what)) {
    EngineStage::Term t;
    std::string layers;
    const auto at = item.find('@');
    const std::string part = item.substr(0, at);
    if (at != std::string::npos) layers = item.substr(at + 1);
    if (part == "attention") {
      t.part = Sublayer::kAttention;
    } else if (part == "ffn") {
      t.part = Sublayer::kFfn;
    } else if (part == "all") {
      t.part = Sublayer::kNone;
    } else if (text::starts_with(part, "layers:") && at == std::string::npos) {
      layers = part;
    } else {
      return fail("");
    }
    if (!layers.empty()) {
      if (!text::starts_with(layers, "layers:")) return fail("");
      const std::string range = layers.substr(7);
      const auto dash = range.find('-');
      const auto a = text::to_unsigned(range.substr(0, dash), 1u << 20);
      const auto b = dash == std::string::npos ? a : text::to_unsigned(range.substr(dash + 1), 1u << 20);
      if (!a || !b) return fail("");
      if (*b < *a) return fail(" (a range A-B has A <= B)");
      t.first = static_cast<std::uint32_t>(*a);
      t.last = static_cast<std::uint32_t>(*b);
    }
    stage.terms.push_back(t);
  }
  return stage;
}

std::uint32_t stage_group(std::uint32_t layer, Sublayer part) {
  return 2 * layer + (part == Sublayer::kFfn ? 1 : 0);
}

std::uint32_t stage_group(const Op& op) {
  return stage_group(op.layer, op.sublayer);
}

std::vector<scheduler::Task> batch_tasks(
    const std::vector<Op>& ops, const std::function<std::vector<std::uint32_t>(const Op&)>& head_blocks,
    const std::vector<double>& rank, const std::vector<Epilogue>& epilogues, bool chain_topk_heads) {
  std::vector<scheduler::Task> tasks;
  std::vector<std::size_t> task_of(ops.size());
  std::vector<std::size_t> fused_to(ops.size(), kExternalInput);
  for (std::size_t i = 0; i < epilogues.size(); ++i)
    for (std::size_t j : epilogues[i].ops) fused_to[j] = i;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    if (op.kind == OpKind::kSoftmax || op.kind == OpKind::kContext) {
      task_of[i] = task_of[op.head_ops.scores];  // part of its head's task
      continue;
    }
    if (fused_to[i] != kExternalInput) {
      task_of[i] = task_of[fused_to[i]];  // part of its GEMM's task
      continue;
    }
    scheduler::Task t;
    t.op = i;
    t.unit = is_gemm(op.kind)                    ? scheduler::Unit::kArray
             : op.kind == OpKind::kTopkAttention ? scheduler::Unit::kTopk
                                                 : scheduler::Unit::kSfu;
    if (op.kind == OpKind::kScores) t.blocks = head_blocks(op);
    t.group = stage_group(op);
    t.rank = rank.empty() ? 0.0 : rank[i];
    if (chain_topk_heads && op.kind == OpKind::kTopkAttention) t.chain = op.layer + 1;
    task_of[i] = tasks.size();
    tasks.push_back(std::move(t));
  }
  // A task depends on whatever its operations read from other tasks.
  for (std::size_t i = 0; i < ops.size(); ++i)
    for (std::size_t d : ops[i].deps) {
      auto& deps = tasks[task_of[i]].deps;
      if (task_of[d] != task_of[i] && std::find(deps.begin(), deps.end(), task_of[d]) == deps.end())
        deps.push_back(task_of[d]);
    }
  for (auto& t : tasks) std::sort(t.deps.begin(), t.deps.end());
  return tasks;
}

GemmParams block_gemm(const GemmParams& g, std::uint32_t block, const AttentionBlocks& blocks) {
  GemmParams b = g;
  b.m = std::min(blocks.rows, g.m - block * blocks.rows);
  return b;
}

GemmLayout weight_gemm_layout(const std::vector<Op>& ops, std::size_t i, const BatchTensors& t,
                              const MemoryMap& mm, const LayerQuant& quant) {
  const Op& op = ops[i];
  const bool dense_attention =
      std::none_of(ops.begin(), ops.end(), [](const Op& o) { return o.kind == OpKind::kTopkAttention; });
  const Tensor& a = t.operand(op, 0);
  GemmLayout lay;
  lay.a_address = a.address;
  lay.a_stride = a.stride;
  lay.w_address = mm.weight_at[op.layer][role_index(op.role)];
  lay.w_stride = row_format(op.gemm).row_bytes();
  lay.out = projection_output(op.role, dense_attention);
  lay.out.rq = op.role == WeightRole::kQProj ? quant.q : op.role == WeightRole::kKProj ? quant.k : quant.v;
  lay.c_address = t.out[i].address;
  lay.c_stride = t.out[i].stride;
  return lay;
}

GemmLayout scores_block_layout(const Op& qk, const BatchTensors& t, std::uint32_t block,
                               const AttentionBlocks& blocks, std::uint32_t head_dim, std::size_t engine) {
  const Tensor &q = t.operand(qk, 0), &k = t.operand(qk, 1);
  const Tensor scores = t.layers[qk.layer].scores(engine, block, qk.gemm.n);
  const std::uint64_t r0 = qk.row0 + std::uint64_t{block} * blocks.rows,
                      col = std::uint64_t(qk.head) * head_dim;
  GemmLayout lay;
  lay.a_address = q.address + r0 * q.stride + col;
  lay.a_stride = q.stride;
  lay.w_address = k.address + qk.row0 * k.stride + col;
  lay.w_stride = k.stride;
  lay.c_address = scores.address;
  lay.c_stride = scores.stride;
  return lay;
}

GemmLayout context_block_layout(const Op& sv, const BatchTensors& t, std::uint32_t block,
                                const AttentionBlocks& blocks, std::uint32_t head_dim,
                                const LayerQuant& quant, std::size_t engine) {
  const Tensor& vt = t.operand(sv, 1);
  const LayerTensors& lt = t.layers[sv.layer];
  const Tensor probs = lt.probs(engine, block, sv.gemm.k);
  const Tensor& ctx = lt.ctx;
  const std::uint64_t r0 = sv.row0 + std::uint64_t{block} * blocks.rows,
                      col = std::uint64_t(sv.head) * head_dim;
  GemmLayout lay;
  lay.a_address = probs.address;
  lay.a_stride = probs.stride;
  lay.w_address = vt.address + col * vt.stride + sv.row0;  // V^T's columns are tokens
  lay.w_stride = vt.stride;
  lay.c_address = ctx.address + r0 * ctx.stride + col;
  lay.c_stride = ctx.stride;
  lay.out.requant = true;
  lay.out.rq = quant.ctx;
  return lay;
}

sfu::SfuOp softmax_block(const Op& softmax, const BatchTensors& t, std::uint32_t block,
                         const AttentionBlocks& blocks, const LayerQuant& quant, std::size_t engine) {
  const std::uint32_t L = softmax.row_len, r0 = block * blocks.rows, rows = std::min(blocks.rows, L - r0);
  const LayerTensors& lt = t.layers[softmax.layer];
  const Tensor scores = lt.scores(engine, block, L), probs = lt.probs(engine, block, L);
  sfu::SfuOp s;
  s.kind = sfu::SfuKind::kSoftmax;
  s.rows = rows;
  s.row_len = L;
  s.causal = softmax.causal;
  s.query_offset = r0;
  s.inputs.push_back({scores.address, rows, L * kAccBytes, scores.stride, 0, blocks.on_chip});
  s.output = {probs.address, rows, L, probs.stride, 0, blocks.on_chip};
  s.in_rq = quant.scores;
  s.out_rq = quant.probs;
  return s;
}

sfu::SfuOp sfu_op(const Op& op, std::size_t i, const BatchTensors& t, const LayerQuant& quant,
                  const LayerWeights* weights) {
  sfu::SfuOp s;
  s.rows = op.rows;
  s.row_len = op.row_len;
  const std::uint64_t n = std::uint64_t{s.rows} * s.row_len;
  const bool first = op.sublayer == Sublayer::kAttention;
  switch (op.kind) {
    case OpKind::kGelu:
      s.kind = sfu::SfuKind::kGelu;
      s.in_rq = quant.gelu_in;
      s.out_rq = quant.gelu_out;
      break;
    case OpKind::kResidualAdd:
      s.kind = sfu::SfuKind::kResidualAdd;
      s.in_rq = first ? quant.attn : quant.down;
      break;
    case OpKind::kLayerNorm:
      s.kind = sfu::SfuKind::kLayerNorm;
      s.out_rq = first ? quant.ln1 : quant.ln2;
      if (weights != nullptr) {
        s.gamma = first ? weights->gamma1 : weights->gamma2;
        s.beta = first ? weights->beta1 : weights->beta2;
      }
      break;
    default:
      throw std::logic_error(std::string("not an SFU op: ") + to_string(op.kind));
  }
  std::uint64_t local = 0;
  for (std::size_t k = 0; k < op.inputs.size(); ++k) {
    const Tensor& in = t.operand(op, k);
    const std::uint32_t eb = sfu::input_bytes(s.kind, k);
    if (in.elem != eb)
      throw std::logic_error(
          fmt::format("{}: input {} holds {}-byte elements, the SFU expects {}", op.name, k, in.elem, eb));
    s.inputs.push_back({in.address, s.rows, s.row_len * eb, in.stride, local});
    local += n * eb;
  }
  s.output = {t.out[i].address, s.rows, s.row_len, t.out[i].stride, 0};
  return s;
}

sfu::TopkOp topk_op(const Op& op, const BatchTensors& t, std::uint32_t head_dim, const LayerQuant& quant) {
  const Tensor &q = t.operand(op, 0), &k = t.operand(op, 1), &v = t.operand(op, 2);
  const Tensor& out = t.layers[op.layer].ctx;
  const std::uint64_t col = std::uint64_t(op.head) * head_dim;
  const std::uint32_t L = op.topk.l_q;
  auto rows = [&](const Tensor& x) { return x.address + op.row0 * x.stride + col; };
  sfu::TopkOp o;
  o.l = L;
  o.d = head_dim;
  o.causal = op.causal;
  o.q = {rows(q), L, head_dim, q.stride};
  o.k = {rows(k), L, head_dim, k.stride};
  o.v = {rows(v), L, head_dim, v.stride};
  o.out = {rows(out), L, head_dim, out.stride};
  o.score_rq = quant.scores;
  o.prob_rq = quant.probs;
  o.ctx_rq = quant.ctx;
  return o;
}

}  // namespace tacsim::workloads
