#pragma once
// Lowering of a model (model.h) over a sequence of L tokens to an ordered list of operations with exact
// shapes, for the scheduler to dispatch onto engines.
//
// One layer, post-norm (BERT), in list order (d = head_dim, h = hidden, f = ffn, H = heads):
//   q_proj, k_proj, v_proj     weight GEMMs  m = L, n = h, k = h                  <- layer input
//   per head j = 0..H-1:
//     head<j>.qk               Q_j.K_j^T     m = L, n = L, k = d (K_j is the n x k operand)  <- q, k
//     head<j>.softmax          L rows of L (causal: row i has i + 1 valid entries)            <- qk
//     head<j>.sv               S_j.V_j       m = L, n = d, k = L (V_j^T is the n x k operand) <- softmax, v
//   out_proj                   m = L, n = h, k = h                                 <- every head's sv
//   residual1                  L x h         out_proj + layer input
//   ln1                        L rows of h                                        <- residual1
//   ffn_up                     m = L, n = f, k = h                                <- ln1
//   gelu                       L x f                                              <- ffn_up
//   ffn_down                   m = L, n = h, k = f                                <- gelu
//   residual2                  L x h         ffn_down + ln1
//   ln2                        L rows of h   the layer's output                   <- residual2
// Pre-norm (GPT-2, ViT) has the same operations with the layernorms moved in front of the sub-blocks:
//   ln1 <- input; q/k/v_proj <- ln1; ...; residual1 = out_proj + input; ln2 <- residual1;
//   ffn_up <- ln2; ...; residual2 = ffn_down + residual1 (the layer's output).
// With top-k attention (topk > 0) each head's qk, softmax and sv become one head<j>.topk_attention
// (<- q, k, v) with L_q = L_k = L, d, kept = min(topk, L): the length-adaptive sparse attention of Peng et
// al., "A Length Adaptive Algorithm-Hardware Co-design of Transformer on FPGA Through Sparse Attention and
// Dynamic Pipelining", DAC 2022.
// lower_model() chains the layers: layer l's first operations depend on layer l - 1's output. Embeddings,
// a pre-norm model's final layernorm and any task head are not lowered. Bias adds are folded into the GEMMs.
//
// A batch (lower_batch) is several sequences lowered together, their tokens stacked: member s holds rows
// row0_s .. row0_s + L_s - 1 of every per-token tensor, row0_s the sum of the lengths before it, T the sum of
// them all. The per-token operations (projections, FFN, residual adds, layernorms, GELU) run once over all T
// rows (m = T: each weight matrix is fetched once for the batch); attention runs per member, per head, at the
// member's own length, reading its rows of Q, K and V^T and writing its rows of the context:
//   q_proj, k_proj, v_proj                         m = T
//   per member s, per head j: layer<l>.seq<s>.head<j>.qk / .softmax / .sv (or .topk_attention)   L = L_s
//   out_proj, residual1, ln1, ffn_up, gelu, ffn_down, residual2, ln2   m = T
// A batch of one sequence lowers exactly as lower_model: the same operations, names and order.
//
// Counts: per layer 3 + 3H + 8 operations (3 + H + 8 with top-k); dense-equivalent MACs
//   4 L h^2 (projections) + 2 L^2 h (qk and sv over all heads: H L L d each) + 2 L h f (FFN).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <istream>
#include <limits>
#include <string>
#include <vector>

#include "workloads/gemm_params.h"
#include "workloads/model.h"

namespace tacsim::workloads {

enum class OpKind : std::uint8_t {
  kWeightGemm,     // activations x weights (N:M or dense)
  kScores,         // Q.K^T of one head, dense x dense
  kSoftmax,        // rows of attention scores of one head
  kContext,        // S.V of one head, dense x dense
  kTopkAttention,  // one head's sparse attention: replaces kScores + kSoftmax + kContext
  kResidualAdd,
  kLayerNorm,
  kGelu,
};
const char* to_string(OpKind kind);
// kWeightGemm, kScores, kContext: the ones with GemmParams (they run on the PE array or the HP datapath).
bool is_gemm(OpKind kind);

// Which weight matrix a kWeightGemm multiplies by; also the op's name inside its layer and the key of an
// override line.
enum class WeightRole : std::uint8_t { kNone, kQProj, kKProj, kVProj, kOutProj, kFfnUp, kFfnDown };
const char* to_string(WeightRole role);  // "q_proj", ...; "" for kNone
// The six weight roles in layer order.
const std::vector<WeightRole>& weight_roles();
// Index of a role in weight_roles() (kQProj = 0 ... kFfnDown = 5).
std::size_t role_index(WeightRole role);
// (n, k) of a role's weight matrix, stored n x k: (ffn, hidden) for ffn_up, (hidden, ffn) for ffn_down, else
// (hidden, hidden).
std::pair<std::uint32_t, std::uint32_t> weight_shape(const ModelSpec& spec, WeightRole role);

struct TopkShape {
  std::uint32_t l_q = 0;
  std::uint32_t l_k = 0;
  std::uint32_t d = 0;
  std::uint32_t kept = 0;  // keys kept per query: min(topk, l_k)
};

// Which sub-block of its layer a layernorm or residual add belongs to, in either norm position: the attention
// sub-block (ln1, residual1) or the FFN sub-block (ln2, residual2).
enum class Sublayer : std::uint8_t { kNone, kAttention, kFfn };

// The three ops of one dense attention head, which run together, pipelined (Q.K^T, softmax, S.V).
struct HeadOps {
  std::size_t scores = 0, softmax = 0, context = 0;
};

// An input from outside the list: the model's input (lower_layer: the layer's).
inline constexpr std::size_t kExternalInput = std::numeric_limits<std::size_t>::max();

struct Op {
  OpKind kind = OpKind::kWeightGemm;
  std::uint32_t layer = 0;
  int head = -1;  // attention ops only
  // Attention ops: the batch member (sequence) they belong to and its first row in the per-token tensors.
  // Per-token ops: -1 and 0.
  int member = -1;
  std::uint32_t row0 = 0;
  WeightRole role = WeightRole::kNone;
  std::string name;  // "layer3.ffn_up", "layer3.head5.qk"
  // is_gemm(kind): m, n, k and the weights' sparsity (dense for any N:N).
  GemmParams gemm;
  // SFU ops (softmax, layernorm, GELU, residual add): `rows` rows of `row_len`; `elements` counts the valid
  // ones (all of them except for a causal softmax, whose row i has i + 1).
  std::uint32_t rows = 0;
  std::uint32_t row_len = 0;
  std::uint64_t elements = 0;
  bool causal = false;  // kSoftmax, kTopkAttention of a causal model
  TopkShape topk;       // kTopkAttention
  // GEMMs: m n k, dense-equivalent. kTopkAttention: the exact int8 MACs, 2 L kept d (Q.K^T over the kept
  // keys and S.V over them). Others 0.
  std::uint64_t macs = 0;
  // MACs the hardware performs: m n k N / M for an N:M weight GEMM (k is a multiple of M), else macs.
  std::uint64_t effective_macs = 0;
  // kTopkAttention: 4-bit LUT products that rank the keys, L_q L_k d.
  std::uint64_t lut_products = 0;
  // kWeightGemm: int8 weights as stored, n k dense or sparsity::nm_payload_bytes(n, k, spec, kIndex).
  std::uint64_t weight_bytes = 0;
  // The sub-block it belongs to: q/k/v/out_proj, the heads, residual1 and ln1 the attention's; ffn_up, gelu,
  // ffn_down, residual2 and ln2 the FFN's (what a pipeline stage serves, model_mapping.h).
  Sublayer sublayer = Sublayer::kNone;
  HeadOps head_ops;  // kScores, kSoftmax, kContext
  // What it reads, in operand order: an earlier op's index, or kExternalInput. A residual add reads its
  // sub-block's accumulator, then the skip; Q.K^T reads Q, K; S.V the probabilities, V (its W operand, V^T);
  // top-k attention Q, K, V; out_proj every head's context (one tensor, a column slice per head).
  std::vector<std::size_t> inputs;
  bool layer_output = false;      // its result is its layer's output (the next layer's input)
  std::vector<std::size_t> deps;  // the ops among inputs, all smaller than its own index
};

// Per-layer weight sparsity for pruned models whose ratios differ by layer (e.g. AE-BERT, SPD). Text, one
// entry a line, `#` comments:
//   <layer> = <N:M | dense>              every weight GEMM of that layer
//   <layer>.<role> = <N:M | dense>       one of them (role: q_proj k_proj v_proj out_proj ffn_up ffn_down)
// A role entry beats a layer entry, which beats LoweringOptions::weight_sparsity. The same target twice is
// an error. Layers are checked against the model when lowering.
struct SparsityOverride {
  std::uint32_t layer = 0;
  WeightRole role = WeightRole::kNone;  // kNone: the whole layer
  std::string sparsity;                 // canonical N:M or "dense"
  int line = 0;
};
struct SparsityOverrides {
  std::string source;  // file name, for messages
  std::vector<SparsityOverride> entries;
  bool empty() const { return entries.empty(); }
};
// Throw InputError "<source>:<line>: ..." for a malformed line, a bad layer, role or N:M, or a duplicate.
SparsityOverrides parse_sparsity_overrides(std::istream& in, const std::string& source);
SparsityOverrides load_sparsity_overrides(const std::string& path);

struct LoweringOptions {
  std::string weight_sparsity = "dense";  // every weight GEMM not overridden
  std::uint32_t topk = 0;                 // 0: dense attention; else keys kept per query
  SparsityOverrides per_layer_override;

  // "" or a message starting with "weight_sparsity: ".
  std::string validate() const;
};

// One layer, deps local to the returned list (the layer input is outside it: the first ops have none).
std::vector<Op> lower_layer(const ModelSpec& spec, std::uint32_t layer, std::uint32_t seq_len,
                            const LoweringOptions& options);
// Every layer, chained. Throws InputError for a model that fails validate(), a sequence length the model
// does not take, bad options, an override naming a layer the model lacks (file and line), or a sparsity
// whose M does not divide a GEMM's k (naming the op and where the sparsity came from).
std::vector<Op> lower_model(const ModelSpec& spec, std::uint32_t seq_len, const LoweringOptions& options);
// A batch of sequences of these lengths (at least one), lowered together (see the top of this file). Throws
// as lower_model does, for any member's length.
std::vector<Op> lower_batch(const ModelSpec& spec, const std::vector<std::uint32_t>& lengths,
                            const LoweringOptions& options);

// For each op, the largest total cost of a dependency path from it (itself included) to an op nothing
// depends on: lp[i] = cost(i) + max over ops j that depend on i of lp[j]. Throws std::invalid_argument when
// a dependency does not point to an earlier op.
std::vector<double> longest_path_to_end(const std::vector<Op>& ops,
                                        const std::function<double(const Op&)>& cost);
// Cost: effective_macs (the MACs the hardware performs; 0 for SFU ops).
std::vector<double> longest_path_to_end(const std::vector<Op>& ops);

// Sums over a list.
std::uint64_t total_macs(const std::vector<Op>& ops);
std::uint64_t total_effective_macs(const std::vector<Op>& ops);
std::uint64_t total_weight_bytes(const std::vector<Op>& ops);

}  // namespace tacsim::workloads
