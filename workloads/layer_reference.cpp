#include "workloads/layer_reference.h"

#include <algorithm>
#include <cstdlib>

#include "modules/common/rng.h"
#include "workloads/gemm.h"

namespace tacsim::workloads {

namespace {

using Mat8 = std::vector<std::int8_t>;
using Mat32 = std::vector<std::int32_t>;

// C[m x n] = A[m x k] . W^T, W n x k; A's rows a_stride apart starting at a, W's w_stride apart.
Mat32 gemm(const std::int8_t* a, std::size_t a_stride, const std::int8_t* w, std::size_t w_stride,
           std::uint32_t m, std::uint32_t n, std::uint32_t k) {
  Mat32 c(std::size_t{m} * n);
  for (std::uint32_t i = 0; i < m; ++i)
    for (std::uint32_t j = 0; j < n; ++j) {
      std::int32_t s = 0;
      for (std::uint32_t q = 0; q < k; ++q)
        s += std::int32_t{a[i * a_stride + q]} * std::int32_t{w[j * w_stride + q]};
      c[std::size_t{i} * n + j] = s;
    }
  return c;
}

std::uint64_t max_abs(const Mat32& x) {
  std::uint64_t m = 0;
  for (const std::int32_t v : x) m = std::max<std::uint64_t>(m, static_cast<std::uint64_t>(std::llabs(v)));
  return m;
}

// Requantises x into int8 with r, calibrating r first when asked.
Mat8 to_int8(const Mat32& x, Requant& r, bool calibrate) {
  if (calibrate) r = calibrate_shift(max_abs(x), 127);
  Mat8 y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = static_cast<std::int8_t>(r.apply(x[i]));
  return y;
}

}  // namespace

LayerWeights make_layer_weights(const ModelSpec& spec, std::uint32_t layer,
                                const std::array<std::string, 6>& sparsity, const sfu::VectorParams& vector,
                                std::uint64_t seed, const std::array<const sparsity::Mask*, 6>& masks,
                                const std::array<const std::vector<std::int8_t>*, 6>& values) {
  LayerWeights lw;
  // One stream per layer, drawn in a fixed order: the six matrices, then the layernorm parameters.
  Rng rng(seed ^ (0x9e3779b97f4a7c15ull * (std::uint64_t{layer} + 1)));
  const auto& roles = weight_roles();
  for (std::size_t r = 0; r < roles.size(); ++r) {
    const auto [n, k] = weight_shape(spec, roles[r]);
    GemmParams g;
    g.m = 1;
    g.n = n;
    g.k = k;
    g.sparsity = parse_weight_sparsity(sparsity[r]);
    std::vector<std::int8_t> w(std::size_t{n} * k);
    for (auto& v : w) v = rng.int8();
    if (const sparsity::Mask* m = masks[r]) {
      // Zero what the mask prunes and keep the rest non-zero: magnitude pruning to the same N:M then keeps
      // exactly the mask's positions (it keeps at most N per group).
      for (std::size_t i = 0; i < w.size(); ++i)
        w[i] = !m->keep[i] ? std::int8_t{0} : w[i] == 0 ? std::int8_t{1} : w[i];
    }
    if (values[r] != nullptr)
      w = *values[r];  // a quantised model's own weights (the stream above still advances)
    GemmWeights pw = prune_weights(g, std::move(w));
    lw.w[r] = std::move(pw.w);
    lw.image[r] = std::move(pw.image);
    lw.sparsity[r] = sparsity[r];
  }
  const std::int32_t one = 1 << vector.ln_affine_frac_bits;
  auto uniform = [&rng](std::int32_t half_range) {  // integer in [-half_range, half_range)
    return static_cast<std::int32_t>(rng.next() % (2 * std::uint64_t(half_range))) - half_range;
  };
  for (auto* v : {&lw.gamma1, &lw.beta1, &lw.gamma2, &lw.beta2}) v->resize(spec.hidden);
  for (std::uint32_t i = 0; i < spec.hidden; ++i) {
    lw.gamma1[i] = static_cast<std::int16_t>(one + uniform(one / 8));
    lw.beta1[i] = static_cast<std::int16_t>(uniform(one / 16));
    lw.gamma2[i] = static_cast<std::int16_t>(one + uniform(one / 8));
    lw.beta2[i] = static_cast<std::int16_t>(uniform(one / 16));
  }
  return lw;
}

std::vector<std::int8_t> make_layer_input(const ModelSpec& spec, std::uint32_t seq_len, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::int8_t> x(std::size_t{seq_len} * spec.hidden);
  for (auto& v : x) v = rng.int8();
  return x;
}

LayerReference reference_layer(const ModelSpec& spec, std::uint32_t seq_len, const LayerWeights& weights,
                               const sfu::SoftmaxParams& softmax, const sfu::VectorParams& vector,
                               const std::vector<std::int8_t>& x, bool calibrate, const LayerQuant& quant,
                               const sfu::TopkAttentionParams* topk) {
  LayerReference ref;
  LayerQuant& q = ref.quant;
  q = quant;
  const std::uint32_t L = seq_len, h = spec.hidden, f = spec.ffn, d = spec.head_dim();
  const bool pre = spec.norm == NormPosition::kPre;
  const sfu::SoftmaxArithmetic soft(softmax);
  const sfu::GeluArithmetic gelu(vector);
  const sfu::LayernormArithmetic ln(vector);
  auto w = [&](WeightRole r) { return weights.w[role_index(r)].data(); };

  auto layernorm = [&](const Mat8& in, const std::vector<std::int16_t>& gamma,
                       const std::vector<std::int16_t>& beta, Requant& rq) {
    Mat32 y(in.size());
    std::vector<std::int32_t> row(h);
    for (std::uint32_t i = 0; i < L; ++i) {
      for (std::uint32_t c = 0; c < h; ++c) row[c] = in[std::size_t{i} * h + c];
      ln.row(row.data(), h, gamma.data(), beta.data(), y.data() + std::size_t{i} * h);
    }
    return to_int8(y, rq, calibrate);
  };
  auto residual = [&](const Mat32& acc, const Mat8& skip, Requant& rq) {
    const Mat8 a = to_int8(acc, rq, calibrate);
    Mat8 out(a.size());
    bool saturated = false;
    for (std::size_t i = 0; i < a.size(); ++i) out[i] = sfu::residual_add(a[i], skip[i], saturated);
    return out;
  };

  // Attention.
  const Mat8 a = pre ? layernorm(x, weights.gamma1, weights.beta1, q.ln1) : x;
  const Mat8 Q = to_int8(gemm(a.data(), h, w(WeightRole::kQProj), h, L, h, h), q.q, calibrate);
  const Mat8 K = to_int8(gemm(a.data(), h, w(WeightRole::kKProj), h, L, h, h), q.k, calibrate);
  const Mat8 V = to_int8(gemm(a.data(), h, w(WeightRole::kVProj), h, L, h, h), q.v, calibrate);
  std::vector<Mat32> scores(spec.heads);
  std::uint64_t scores_max = 0;
  for (std::uint32_t j = 0; j < spec.heads; ++j) {
    scores[j] = gemm(Q.data() + j * d, h, K.data() + j * d, h, L, L, d);
    // A causal row's masked scores take no part, in the calibration either.
    for (std::uint32_t i = 0; i < L; ++i)
      for (std::uint32_t c = 0; c < (spec.causal ? i + 1 : L); ++c)
        scores_max = std::max<std::uint64_t>(scores_max, std::llabs(scores[j][std::size_t{i} * L + c]));
  }
  if (calibrate) {
    // The softmax that runs: the SFU's, or the top-k unit's own. (Top-k's scores are calibrated on every
    // key's, like dense attention's: the kept keys' are among them.)
    const sfu::SoftmaxParams& sp = topk != nullptr ? topk->softmax : softmax;
    q.scores = calibrate_shift(scores_max, std::uint64_t{8} << sp.score_frac_bits, INT32_MIN, INT32_MAX);
    q.probs = Requant{1, sp.prob_frac_bits - 7, -128, 127};
  }
  Mat8 ctx(std::size_t{L} * h);
  Mat32 ctx_acc(std::size_t{L} * h);
  Mat8 vt(std::size_t{d} * L);
  std::vector<std::int32_t> srow(L), prow(L);
  Mat8 probs(std::size_t{L} * L);
  for (std::uint32_t j = 0; j < spec.heads && topk != nullptr; ++j) {
    // The top-k unit: this head's Q, K and V columns as l x d matrices.
    Mat8 qj(std::size_t{L} * d), kj(qj.size()), vj(qj.size());
    for (std::uint32_t t = 0; t < L; ++t)
      for (std::uint32_t c = 0; c < d; ++c) {
        const std::size_t at = std::size_t{t} * h + j * d + c;
        qj[std::size_t{t} * d + c] = Q[at];
        kj[std::size_t{t} * d + c] = K[at];
        vj[std::size_t{t} * d + c] = V[at];
      }
    const auto r = sfu::reference_topk_head(*topk, L, L, d, qj, kj, vj, q.scores, q.probs, Requant{},
                                            spec.causal ? sfu::TopkMask::kCausal : sfu::TopkMask::kNone);
    for (std::uint32_t i = 0; i < L; ++i)
      for (std::uint32_t c = 0; c < d; ++c)
        ctx_acc[std::size_t{i} * h + j * d + c] = r.context_acc[std::size_t{i} * d + c];
  }
  for (std::uint32_t j = 0; j < spec.heads && topk == nullptr; ++j) {
    for (std::uint32_t i = 0; i < L; ++i) {
      const std::uint32_t valid = spec.causal ? i + 1 : L;
      for (std::uint32_t c = 0; c < valid; ++c) srow[c] = q.scores.apply(scores[j][std::size_t{i} * L + c]);
      soft.row(srow.data(), valid, prow.data());
      for (std::uint32_t c = 0; c < L; ++c)
        probs[std::size_t{i} * L + c] = static_cast<std::int8_t>(q.probs.apply(c < valid ? prow[c] : 0));
    }
    for (std::uint32_t t = 0; t < L; ++t)
      for (std::uint32_t c = 0; c < d; ++c) vt[std::size_t{c} * L + t] = V[std::size_t{t} * h + j * d + c];
    const Mat32 cj = gemm(probs.data(), L, vt.data(), L, L, d, L);
    for (std::uint32_t i = 0; i < L; ++i)
      for (std::uint32_t c = 0; c < d; ++c)
        ctx_acc[std::size_t{i} * h + j * d + c] = cj[std::size_t{i} * d + c];
  }
  ctx = to_int8(ctx_acc, q.ctx, calibrate);
  const Mat32 attn = gemm(ctx.data(), h, w(WeightRole::kOutProj), h, L, h, h);
  const Mat8 r1 = residual(attn, x, q.attn);

  // Feed-forward.
  const Mat8 h1 = pre ? layernorm(r1, weights.gamma2, weights.beta2, q.ln2)
                      : layernorm(r1, weights.gamma1, weights.beta1, q.ln1);
  const Mat32 up = gemm(h1.data(), h, w(WeightRole::kFfnUp), h, L, f, h);
  if (calibrate) {
    q.gelu_in =
        calibrate_shift(max_abs(up), std::uint64_t{1} << (vector.gelu_range_log2 + vector.gelu_frac_bits),
                        INT32_MIN, INT32_MAX);
  }
  Mat32 gl(up.size());
  for (std::size_t i = 0; i < up.size(); ++i) gl[i] = gelu.apply(q.gelu_in.apply(up[i]));
  const Mat8 g = to_int8(gl, q.gelu_out, calibrate);
  const Mat32 down = gemm(g.data(), f, w(WeightRole::kFfnDown), f, L, h, f);
  if (pre) {
    ref.out = residual(down, r1, q.down);
  } else {
    const Mat8 r2 = residual(down, h1, q.down);
    ref.out = layernorm(r2, weights.gamma2, weights.beta2, q.ln2);
  }
  return ref;
}

}  // namespace tacsim::workloads
