#pragma once
// Values of a quantised Transformer layer: seeded parameters, the requantisation between operations, and a
// plain C++ reference of the whole layer that the simulated datapath must match bit for bit.
//
// Formats (int8 activations and weights, int32 accumulation), one layer over L tokens, in the order of
// lowering.h (post-norm; pre-norm moves the layernorms as there):
//   Q, K, V        = rq_q(a Wq^T), rq_k(a Wk^T), rq_v(a Wv^T)       int8 (the PE array's output stage)
//   per head j:    S_j = Q_j K_j^T                                    int32
//                  P_j = rq_probs(softmax(rq_scores(S_j)))          softmax in score_frac_bits, int8 out
//                  C_j = rq_ctx(P_j V_j)                              int8, into columns j d .. j d + d - 1
//   attn           = ctx Wo^T                                         int32
//   r1             = sat8(rq_attn(attn) + x)                          the residual add
//   h1             = rq_ln1(LN(r1; gamma1, beta1))                    int8
//   up             = h1 Wup^T;  g = rq_gelu_out(GELU(rq_gelu_in(up))) int8
//   down           = g Wdown^T;  r2 = sat8(rq_down(down) + h1);  out = rq_ln2(LN(r2; gamma2, beta2))
// The special functions are the SFU's arithmetic (softmax_engine.h, vector_engine.h); Requant is
// modules/common/requant.h. Every requantiser is a power-of-two shift picked by max-abs calibration on the
// layer's own data (calibrate_shift), as post-training quantisation would; the probabilities keep 7 of
// their prob_frac_bits fraction bits (1.0 saturates to 127).
// Calibration targets: int8 tensors use [-127, 127]; softmax scores span +-8.0 (score_frac_bits); GELU
// inputs span +-2^gelu_range_log2 (gelu_frac_bits), the range its table covers.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "modules/common/requant.h"
#include "modules/formats/mask.h"
#include "modules/sfu/softmax_engine.h"
#include "modules/sfu/topk_attention_engine.h"
#include "modules/sfu/vector_engine.h"
#include "workloads/lowering.h"
#include "workloads/model.h"

namespace tacsim::workloads {

struct LayerQuant {
  Requant q, k, v, ctx;   // PE array output stages
  Requant scores, probs;  // softmax in and out
  Requant attn, down;     // residual adds' accumulator inputs
  Requant ln1, ln2;       // layernorm outputs
  Requant gelu_in, gelu_out;
};

// One layer's parameters. Weights by role (weight_roles() order), n x k, already pruned to the layer's
// sparsity (zeros where pruned), and their images as stored in memory (gemm.h's format).
struct LayerWeights {
  std::array<std::vector<std::int8_t>, 6> w;
  std::array<std::vector<std::uint8_t>, 6> image;
  std::array<std::string, 6> sparsity;                     // canonical "dense" or "N:M"
  std::vector<std::int16_t> gamma1, beta1, gamma2, beta2;  // layernorm affine, ln_affine_frac_bits
};

// Seeded parameters for layer `layer`; `sparsity[i]` is role i's sparsity (from the lowered ops). Weights are
// uniform int8 magnitude-pruned; gamma = 1 + U(-1/8, 1/8), beta = U(-1/16, 1/16). With masks[i] (a really
// pruned model's, conforming to sparsity[i]), role i keeps exactly the mask's positions, values non-zero;
// with values[i] (n x k int8, zero where pruned) too, those are the weights.
LayerWeights make_layer_weights(const ModelSpec& spec, std::uint32_t layer,
                                const std::array<std::string, 6>& sparsity, const sfu::VectorParams& vector,
                                std::uint64_t seed, const std::array<const sparsity::Mask*, 6>& masks = {},
                                const std::array<const std::vector<std::int8_t>*, 6>& values = {});
// The input of the first layer: L x hidden uniform int8.
std::vector<std::int8_t> make_layer_input(const ModelSpec& spec, std::uint32_t seq_len, std::uint64_t seed);

struct LayerReference {
  std::vector<std::int8_t> out;  // L x hidden
  LayerQuant quant;              // as calibrated (or as given)
};
// The layer on x (L x hidden). With `calibrate`, picks every requantiser from the data as it goes;
// otherwise uses `quant`. With `topk`, each head's attention is the top-k unit's (sfu::reference_topk_head:
// 4-bit ranking, exact scores through rq_scores, softmax over the kept keys, probabilities through
// rq_probs, S.V over them) and its context goes through rq_ctx as in the dense case.
LayerReference reference_layer(const ModelSpec& spec, std::uint32_t seq_len, const LayerWeights& weights,
                               const sfu::SoftmaxParams& softmax, const sfu::VectorParams& vector,
                               const std::vector<std::int8_t>& x, bool calibrate,
                               const LayerQuant& quant = {}, const sfu::TopkAttentionParams* topk = nullptr);

}  // namespace tacsim::workloads
