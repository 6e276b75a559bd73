#include "workloads/memory_plan.h"

#include <algorithm>

#include "workloads/gemm.h"

namespace tacsim::workloads {

MemoryMap plan_memory(const ModelSpec& spec, const MemoryShape& shape,
                      const std::vector<std::array<WeightSparsity, 6>>& layer_sparsity) {
  MemoryMap mm;
  const std::uint64_t h = spec.hidden, f = spec.ffn;
  mm.input_regions = shape.input_regions;
  mm.input_bytes = align4k(shape.input_tokens * h);
  mm.weights = align4k(mm.input + mm.input_bytes * shape.input_regions);
  std::uint64_t at = mm.weights;
  mm.weight_at.resize(spec.layers);
  for (std::uint32_t l = 0; l < spec.layers; ++l)
    for (std::size_t r = 0; r < 6; ++r) {
      mm.weight_at[l][r] = at;
      const auto [n, k] = weight_shape(spec, weight_roles()[r]);
      GemmParams g;
      g.n = n;
      g.k = k;
      g.sparsity = layer_sparsity[l][r];
      at = align4k(at + n * row_format(g).row_bytes());
    }
  const std::uint64_t T = shape.slot_tokens, L = shape.max_len, E = shape.engines;
  // q, k, v^T, ctx, r1, ln1, ln2, r2 (int8, T x h); out_proj, ffn_down (int32, T x h); per engine the scores
  // (int32) and probabilities (int8) of two blocks of at most L query rows of L; ffn_up (int32) and gelu
  // (int8), T x f; and a page of alignment for each of a layer's tensors.
  mm.arena_bytes = align4k(8 * T * h) + (12 + 4 * E) * 4096 + align4k(8 * T * h) + align4k(10 * E * L * L) +
                   align4k(5 * T * f);
  for (std::uint32_t s = 0; s < shape.slots; ++s) {
    mm.arena.push_back({at, at + mm.arena_bytes});
    at += 2 * mm.arena_bytes;
  }
  // The HP mapper's own operands: A^T, the encoded weight blocks and int32 C of a layer's largest GEMM.
  const std::uint64_t scratch_bytes =
      shape.hp_scratch ? align4k(T * (h + f) * 2 + h * f * 4 + (h + f) * T * 4) : 0;
  for (std::uint32_t e = 0; e < shape.engines; ++e) {
    mm.scratch.push_back(at);
    at += scratch_bytes;
  }
  mm.end = at;
  return mm;
}

pe_array::OutputStage projection_output(WeightRole role, bool dense_attention) {
  pe_array::OutputStage out;
  out.requant = role == WeightRole::kQProj || role == WeightRole::kKProj || role == WeightRole::kVProj;
  out.transpose = role == WeightRole::kVProj && dense_attention;
  return out;
}

const Tensor& BatchTensors::operand(const Op& op, std::size_t k) const {
  const std::size_t i = op.inputs.at(k);
  return i == kExternalInput ? input : out.at(i);
}

BatchTensors place_tensors(const ModelSpec& spec, const std::vector<Op>& ops, const MemoryMap& mm,
                           std::uint32_t region, std::uint32_t slot, std::uint64_t score_elements) {
  const std::uint64_t h = spec.hidden;
  const std::size_t engines = mm.scratch.size();
  const bool dense_attention =
      std::none_of(ops.begin(), ops.end(), [](const Op& op) { return op.kind == OpKind::kTopkAttention; });
  BatchTensors t;
  t.input = {mm.input_at(region), h, kActBytes};
  t.out.resize(ops.size());
  t.layers.resize(spec.layers);
  std::uint32_t tokens = 0;
  for (const Op& op : ops)
    if (op.kind == OpKind::kWeightGemm) tokens = std::max(tokens, op.gemm.m);
  // Each layer's arena fills in operation order, every tensor on a 4 KiB boundary.
  std::uint32_t layer = ~0u;
  std::uint64_t next = 0;
  auto take = [&](std::uint64_t bytes) {
    const std::uint64_t a = mm.arena.at(slot)[layer % 2] + next;
    next = align4k(next + bytes);
    return a;
  };
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    if (op.layer != layer) {
      layer = op.layer;
      next = 0;
      LayerTensors& lt = t.layers[layer];
      lt.ctx = {take(std::uint64_t{tokens} * h), h, kActBytes};
      lt.scores_at.resize(engines);
      lt.probs_at.resize(engines);
      for (std::size_t e = 0; e < engines; ++e)
        for (int b = 0; b < 2; ++b) {
          lt.scores_at[e][b] = take(score_elements * kAccBytes);
          lt.probs_at[e][b] = take(score_elements);
        }
    }
    const LayerTensors& lt = t.layers[layer];
    switch (op.kind) {
      case OpKind::kWeightGemm: {
        const pe_array::OutputStage o = projection_output(op.role, dense_attention);
        const std::uint32_t eb = o.element_bytes();
        const std::uint64_t c = take(std::uint64_t{op.gemm.m} * op.gemm.n * eb);
        t.out[i] = {c, o.transpose ? std::uint64_t{op.gemm.m} * eb : std::uint64_t{op.gemm.n} * eb, eb};
        break;
      }
      case OpKind::kScores:
        t.out[i] = lt.scores(0, 0, op.gemm.n);
        break;
      case OpKind::kSoftmax:
        t.out[i] = lt.probs(0, 0, op.row_len);
        break;
      case OpKind::kContext:
      case OpKind::kTopkAttention:
        t.out[i] = lt.ctx;
        break;
      default:
        t.out[i] = {take(std::uint64_t{op.rows} * op.row_len), op.row_len, kActBytes};
    }
  }
  return t;
}

}  // namespace tacsim::workloads
