// The requantiser and the layer reference the model runs are checked against.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "modules/common/requant.h"
#include "workloads/layer_reference.h"

namespace {

using tacsim::Requant;
using namespace tacsim::workloads;

TEST(Requant, RoundsHalvesUpAndSaturates) {
  const Requant r{1, 2, -128, 127};  // x / 4
  EXPECT_EQ(r.apply(5), 1);          // 1.25
  EXPECT_EQ(r.apply(6), 2);          // 1.5 -> up
  EXPECT_EQ(r.apply(-6), -1);        // -1.5 -> up (towards +infinity)
  EXPECT_EQ(r.apply(-7), -2);        // -1.75
  EXPECT_EQ(r.apply(1000), 127);
  EXPECT_EQ(r.apply(-1000), -128);
  EXPECT_EQ((Requant{3, 1, -128, 127}.apply(5)), 8);  // 7.5 -> 8
  EXPECT_EQ(Requant::identity32().apply(-2147483648LL), INT32_MIN);
}

TEST(Requant, CalibrationPicksTheSmallestShiftThatFits) {
  EXPECT_EQ(tacsim::calibrate_shift(100, 127).shift, 0u);
  EXPECT_EQ(tacsim::calibrate_shift(127, 127).shift, 0u);
  EXPECT_EQ(tacsim::calibrate_shift(128, 127).shift, 1u);  // round(128 / 2) = 64
  EXPECT_EQ(tacsim::calibrate_shift(254, 127).shift, 1u);  // 127
  EXPECT_EQ(tacsim::calibrate_shift(253, 127).shift, 1u);  // round(126.5) = 127
  EXPECT_EQ(tacsim::calibrate_shift(255, 127).shift, 2u);  // round(127.5) = 128 does not fit
  for (std::uint64_t m : {1ull, 300ull, 70000ull, 123456789ull}) {
    const Requant r = tacsim::calibrate_shift(m, 127);
    EXPECT_LE(r.apply(static_cast<std::int64_t>(m)), 127);
    EXPECT_GE(r.apply(-static_cast<std::int64_t>(m)), -127);
    if (r.shift > 0) {
      EXPECT_GT((Requant{1, r.shift - 1, INT32_MIN, INT32_MAX}.apply(static_cast<std::int64_t>(m))), 127);
    }
  }
}

ModelSpec small_model(NormPosition norm, bool causal) {
  ModelSpec s;
  s.name = "small";
  s.layers = 1;
  s.hidden = 32;
  s.heads = 2;
  s.ffn = 64;
  s.causal = causal;
  s.max_seq_len = 64;
  s.norm = norm;
  return s;
}

TEST(LayerReference, CalibratedLayerUsesTheInt8Range) {
  // A check that compares near-constant tensors proves little: the calibrated layer's output spreads over
  // the int8 range and rarely saturates.
  for (const auto norm : {NormPosition::kPost, NormPosition::kPre}) {
    const ModelSpec spec = small_model(norm, norm == NormPosition::kPre);
    const tacsim::sfu::SoftmaxParams sp;
    const tacsim::sfu::VectorParams vp;
    const std::array<std::string, 6> sparsity{"2:4", "2:4", "2:4", "dense", "1:4", "2:4"};
    const LayerWeights w = make_layer_weights(spec, 0, sparsity, vp, 7);
    const auto x = make_layer_input(spec, 40, 9);
    const LayerReference ref = reference_layer(spec, 40, w, sp, vp, x, true);
    ASSERT_EQ(ref.out.size(), x.size());
    const std::set<int> distinct(ref.out.begin(), ref.out.end());
    EXPECT_GT(distinct.size(), 60u);
    const auto saturated =
        std::count_if(ref.out.begin(), ref.out.end(), [](std::int8_t v) { return v == 127 || v == -128; });
    // Pre-norm's output is the residual stream, uniform input plus the sub-blocks: the sum clips more often.
    EXPECT_LT(saturated, static_cast<long>(ref.out.size() / (norm == NormPosition::kPre ? 8 : 20)));
    // Every requantiser was calibrated to a shift (random int8 products need one).
    for (const Requant* r : {&ref.quant.q, &ref.quant.k, &ref.quant.v, &ref.quant.ctx, &ref.quant.attn,
                             &ref.quant.down, &ref.quant.gelu_out})
      EXPECT_GT(r->shift, 0u);
    // The same quantisation given back reproduces the output; another seed's weights do not.
    EXPECT_EQ(reference_layer(spec, 40, w, sp, vp, x, false, ref.quant).out, ref.out);
    const LayerWeights other = make_layer_weights(spec, 0, sparsity, vp, 8);
    EXPECT_NE(reference_layer(spec, 40, other, sp, vp, x, false, ref.quant).out, ref.out);
    // Pruning happened as asked: 2:4 keeps half of q_proj's weights.
    EXPECT_EQ(std::count(w.w[0].begin(), w.w[0].end(), 0) >= static_cast<long>(w.w[0].size() / 2), true);
  }
}

TEST(LayerReference, GivenWeightsAreTheWeights) {
  // A quantised model's int8 weights (2:4-conforming, zero where pruned) replace the seeded ones exactly.
  const ModelSpec spec = small_model(NormPosition::kPost, false);
  const std::array<std::string, 6> sparsity{"2:4", "dense", "dense", "dense", "dense", "dense"};
  std::vector<std::int8_t> q(32 * 32);
  tacsim::sparsity::Mask mask(32, 32);
  for (int r = 0; r < 32; ++r)
    for (int c = 0; c < 32; ++c)
      if (c % 4 == r % 4 || c % 4 == (r + 1) % 4) {
        q[static_cast<std::size_t>(r) * 32 + c] = static_cast<std::int8_t>((r * 7 + c) % 200 - 100);
        mask.set(r, c, q[static_cast<std::size_t>(r) * 32 + c] != 0);
      }
  const LayerWeights w = make_layer_weights(spec, 0, sparsity, tacsim::sfu::VectorParams{}, 5, {&mask}, {&q});
  EXPECT_EQ(w.w[0], q);
  EXPECT_EQ(w.image[0].size(), 32u * (16 + 16 * 2 / 8));  // 2:4 rows: 16 values + 16 two-bit indices
}

TEST(LayerReference, TopkKeepingEveryKeyIsDenseAttention) {
  // The top-k unit with k = L keeps every key: same exact scores, same softmax arithmetic (its sums are
  // exact, so the kept keys' order does not matter), same int8 probabilities and S.V. The layer must be
  // identical.
  const ModelSpec spec = small_model(NormPosition::kPost, false);
  const tacsim::sfu::SoftmaxParams sp;
  const tacsim::sfu::VectorParams vp;
  const std::array<std::string, 6> sparsity{"dense", "dense", "dense", "dense", "dense", "dense"};
  const LayerWeights w = make_layer_weights(spec, 0, sparsity, vp, 3);
  const auto x = make_layer_input(spec, 24, 4);
  tacsim::sfu::TopkAttentionParams all, few;
  all.top_k = 24;
  few.top_k = 4;
  const LayerReference dense = reference_layer(spec, 24, w, sp, vp, x, true);
  EXPECT_EQ(reference_layer(spec, 24, w, sp, vp, x, true, {}, &all).out, dense.out);
  // Keeping 4 of 24 keys changes the attention, and so the layer.
  EXPECT_NE(reference_layer(spec, 24, w, sp, vp, x, true, {}, &few).out, dense.out);
}

}  // namespace
