#include "workloads/roofline.h"

#include <algorithm>
#include <stdexcept>

#include "modules/sfu/sfu_op.h"
#include "workloads/memory_plan.h"

namespace tacsim::workloads {

namespace {

// Bytes per element of an operation's result, as place_tensors stores it.
std::uint32_t result_bytes(const Op& op, bool dense_attention) {
  switch (op.kind) {
    case OpKind::kWeightGemm:
      return projection_output(op.role, dense_attention).element_bytes();
    case OpKind::kScores:
      return kAccBytes;
    default:
      return kActBytes;
  }
}

sfu::SfuKind sfu_kind(OpKind kind) {
  switch (kind) {
    case OpKind::kLayerNorm:
      return sfu::SfuKind::kLayerNorm;
    case OpKind::kGelu:
      return sfu::SfuKind::kGelu;
    case OpKind::kResidualAdd:
      return sfu::SfuKind::kResidualAdd;
    default:
      return sfu::SfuKind::kSoftmax;
  }
}

}  // namespace

std::uint64_t compulsory_bytes(const std::vector<Op>& ops, std::size_t i, bool attention_on_chip) {
  const Op& op = ops.at(i);
  const bool dense_attention =
      std::none_of(ops.begin(), ops.end(), [](const Op& o) { return o.kind == OpKind::kTopkAttention; });
  const std::uint64_t m = op.gemm.m, n = op.gemm.n, k = op.gemm.k;
  switch (op.kind) {
    case OpKind::kWeightGemm:  // int8 activations, W as stored, C
      return m * k + op.weight_bytes + m * n * result_bytes(op, dense_attention);
    case OpKind::kScores:  // Q's and K's columns of the head, int32 scores
      return m * k + n * k + (attention_on_chip ? 0 : m * n * kAccBytes);
    case OpKind::kContext:  // probabilities, V^T's rows of the head, the context's columns
      return (attention_on_chip ? 0 : m * k) + n * k + m * n;
    case OpKind::kSoftmax:  // int32 scores in, int8 probabilities out
      return attention_on_chip ? 0 : std::uint64_t{op.rows} * op.row_len * (kAccBytes + kActBytes);
    case OpKind::kTopkAttention:  // Q's, K's and V's columns of the head, the context's
      return (std::uint64_t{op.topk.l_q} * 2 + std::uint64_t{op.topk.l_k} * 2) * op.topk.d;
    case OpKind::kResidualAdd:
    case OpKind::kLayerNorm:
    case OpKind::kGelu: {
      const std::uint64_t elems = std::uint64_t{op.rows} * op.row_len;
      std::uint64_t b = elems * kActBytes;
      for (std::size_t in = 0; in < op.inputs.size(); ++in)
        b += elems * sfu::input_bytes(sfu_kind(op.kind), in);
      return b;
    }
  }
  throw std::logic_error("compulsory_bytes: unknown operation kind");
}

double Roofline::cycles(std::uint64_t effective_macs, std::uint64_t compulsory_bytes) const {
  return std::max(double(effective_macs) / macs_per_cycle, double(compulsory_bytes) / bytes_per_cycle);
}

}  // namespace tacsim::workloads
