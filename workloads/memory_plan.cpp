#include "workloads/memory_plan.h"

#include <algorithm>

#include "workloads/gemm.h"

namespace tacsim::workloads {

MemoryMap plan_memory(const ModelSpec& spec, const std::vector<std::uint32_t>& lengths,
                      const std::vector<std::array<WeightSparsity, 6>>& layer_sparsity, bool hp_scratch) {
  MemoryMap mm;
  const std::uint32_t max_len = *std::max_element(lengths.begin(), lengths.end());
  const std::uint64_t h = spec.hidden, f = spec.ffn;
  mm.input_bytes = align4k(std::uint64_t{max_len} * h);
  mm.weights = align4k(mm.input + mm.input_bytes * lengths.size());
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
  const std::uint64_t L = max_len;
  // q, k, v^T, ctx, r1, ln1, ln2, r2 (int8, L x h); out_proj, ffn_down (int32, L x h); scores (int32) and
  // probabilities (int8) of two blocks of at most L query rows; ffn_up (int32) and gelu (int8), L x f.
  mm.arena_bytes =
      align4k(8 * L * h) + 16 * 4096 + align4k(8 * L * h) + align4k(10 * L * L) + align4k(5 * L * f);
  mm.arena[0] = at;
  mm.arena[1] = mm.arena[0] + mm.arena_bytes;
  mm.scratch = mm.arena[1] + mm.arena_bytes;
  // The HP mapper's own operands: A^T, the encoded weight blocks and int32 C of a layer's largest GEMM.
  const std::uint64_t scratch_bytes = hp_scratch ? align4k(L * (h + f) * 2 + h * f * 4 + (h + f) * L * 4) : 0;
  mm.end = mm.scratch + scratch_bytes;
  return mm;
}

pe_array::OutputStage projection_output(WeightRole role, bool dense_attention) {
  pe_array::OutputStage out;
  out.requant = role == WeightRole::kQProj || role == WeightRole::kKProj || role == WeightRole::kVProj;
  out.transpose = role == WeightRole::kVProj && dense_attention;
  return out;
}

const Tensor& SequenceTensors::operand(const Op& op, std::size_t k) const {
  const std::size_t i = op.inputs.at(k);
  return i == kExternalInput ? input : out.at(i);
}

SequenceTensors place_tensors(const ModelSpec& spec, const std::vector<Op>& ops, const MemoryMap& mm,
                              std::size_t q, std::uint32_t seq_len, std::uint32_t block_rows) {
  const std::uint64_t L = seq_len, h = spec.hidden;
  const bool dense_attention =
      std::none_of(ops.begin(), ops.end(), [](const Op& op) { return op.kind == OpKind::kTopkAttention; });
  SequenceTensors t;
  t.input = {mm.input + q * mm.input_bytes, h, kActBytes};
  t.out.resize(ops.size());
  t.layers.resize(spec.layers);
  // Each layer's arena fills in operation order, every tensor on a 4 KiB boundary.
  std::uint32_t layer = ~0u;
  std::uint64_t next = 0;
  auto take = [&](std::uint64_t bytes) {
    const std::uint64_t a = mm.arena[layer % 2] + next;
    next = align4k(next + bytes);
    return a;
  };
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    if (op.layer != layer) {
      layer = op.layer;
      next = 0;
      LayerTensors& lt = t.layers[layer];
      lt.ctx = {take(L * h), h, kActBytes};
      for (int b = 0; b < 2; ++b) {
        lt.scores[b] = {take(std::uint64_t{block_rows} * L * kAccBytes), L * kAccBytes, kAccBytes};
        lt.probs[b] = {take(std::uint64_t{block_rows} * L), L, kActBytes};
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
        t.out[i] = lt.scores[0];
        break;
      case OpKind::kSoftmax:
        t.out[i] = lt.probs[0];
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
