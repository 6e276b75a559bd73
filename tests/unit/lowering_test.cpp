#include "workloads/lowering.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "modules/common/error.h"
#include "tests/support/errors.h"
#include "workloads/gemm.h"

namespace tacsim::workloads {
namespace {

using testing_support::contains;
using testing_support::error_of;

const std::string kModelsDir = std::string(TACSIM_SOURCE_DIR) + "/workloads/models";

SparsityOverrides overrides(const std::string& text) {
  std::istringstream in(text);
  return parse_sparsity_overrides(in, "ovr.txt");
}

const Op& find(const std::vector<Op>& ops, const std::string& name) {
  const auto it = std::find_if(ops.begin(), ops.end(), [&](const Op& op) { return op.name == name; });
  if (it == ops.end()) throw std::out_of_range("no op " + name);
  return *it;
}

std::size_t index_of(const std::vector<Op>& ops, const std::string& name) {
  return static_cast<std::size_t>(&find(ops, name) - ops.data());
}

std::vector<std::string> names_of(const std::vector<Op>& ops) {
  std::vector<std::string> out;
  for (const auto& op : ops) out.push_back(op.name);
  return out;
}

std::vector<std::size_t> deps_of(const std::vector<Op>& ops, const std::string& name) {
  std::vector<std::size_t> d = find(ops, name).deps;
  std::sort(d.begin(), d.end());
  return d;
}

std::vector<std::size_t> indices(const std::vector<Op>& ops, std::vector<std::string> names) {
  std::vector<std::size_t> out;
  for (const auto& n : names) out.push_back(index_of(ops, n));
  std::sort(out.begin(), out.end());
  return out;
}

ModelSpec small_model(std::uint32_t heads, NormPosition norm, bool causal) {
  ModelSpec s;
  s.name = "small";
  s.source = "test";
  s.layers = 2;
  s.hidden = 8 * heads;
  s.heads = heads;
  s.ffn = 32;
  s.causal = causal;
  s.max_seq_len = 64;
  s.norm = norm;
  return s;
}

TEST(Lowering, BertBaseAt128HasTheRightOpCountAndMacs) {
  const ModelSpec bert = load_model("bert-base", kModelsDir);
  const auto ops = lower_model(bert, 128, LoweringOptions{});
  // Per layer: q, k, v + 12 heads x (qk, softmax, sv) + out_proj, residual1, ln1, ffn_up, gelu, ffn_down,
  // residual2, ln2 = 3 + 36 + 8 = 47; x 12 layers = 564.
  EXPECT_EQ(ops.size(), 564u);
  // Per layer, L = 128, h = 768, f = 3072:
  //   4 L h h = 4 * 128 * 768 * 768   = 301,989,888  (q, k, v, out projections)
  //   2 L L h = 2 * 128 * 128 * 768   =  25,165,824  (qk and sv: 12 heads * 128 * 128 * 64 each)
  //   2 L h f = 2 * 128 * 768 * 3072  = 603,979,776  (FFN up and down)
  //   sum 931,135,488; x 12 = 11,173,625,856.
  EXPECT_EQ(total_macs(ops), 11'173'625'856u);
  EXPECT_EQ(total_effective_macs(ops), 11'173'625'856u);
  // Dense int8 weights: 12 * (4 h h + 2 h f) = 12 * (2,359,296 + 4,718,592) = 84,934,656 bytes.
  EXPECT_EQ(total_weight_bytes(ops), 84'934'656u);
}

TEST(Lowering, BertBaseAt128With2To4Weights) {
  const ModelSpec bert = load_model("bert-base", kModelsDir);
  const auto ops = lower_model(bert, 128, LoweringOptions{"2:4", 0, {}});
  EXPECT_EQ(total_macs(ops), 11'173'625'856u);  // dense-equivalent, as above
  // Weight GEMMs halve: 12 * ((301,989,888 + 603,979,776) / 2 + 25,165,824) = 12 * 478,150,656.
  EXPECT_EQ(total_effective_macs(ops), 5'737'807'872u);
  // A 2:4 row of k stores k/2 values + k/2 indices of 2 bits (k/8 bytes) = 5k/8 bytes: 5/8 of 84,934,656.
  EXPECT_EQ(total_weight_bytes(ops), 53'084'160u);
  for (const auto& op : ops) {
    if (op.kind == OpKind::kWeightGemm) {
      EXPECT_EQ(op.gemm.sparsity.text(), "2:4") << op.name;
    }
  }
}

TEST(Lowering, ShapesOfOneBertLayer) {
  const ModelSpec bert = load_model("bert-base", kModelsDir);
  const auto ops = lower_model(bert, 128, LoweringOptions{"2:4", 0, {}});
  const auto gemm = [&](const std::string& name) {
    const Op& op = find(ops, name);
    return std::vector<std::uint32_t>{op.gemm.m, op.gemm.n, op.gemm.k};
  };
  using V = std::vector<std::uint32_t>;
  EXPECT_EQ(gemm("layer3.q_proj"), (V{128, 768, 768}));
  EXPECT_EQ(gemm("layer3.k_proj"), (V{128, 768, 768}));
  EXPECT_EQ(gemm("layer3.v_proj"), (V{128, 768, 768}));
  EXPECT_EQ(gemm("layer3.head5.qk"), (V{128, 128, 64}));  // m = L, n = L, k = head_dim
  EXPECT_EQ(gemm("layer3.head5.sv"), (V{128, 64, 128}));  // m = L, n = head_dim, k = L
  EXPECT_EQ(gemm("layer3.out_proj"), (V{128, 768, 768}));
  EXPECT_EQ(gemm("layer3.ffn_up"), (V{128, 3072, 768}));
  EXPECT_EQ(gemm("layer3.ffn_down"), (V{128, 768, 3072}));
  EXPECT_EQ(find(ops, "layer3.head5.qk").gemm.sparsity.text(),
            "dense");  // attention products are always dense
  EXPECT_EQ(find(ops, "layer3.head5.sv").gemm.sparsity.text(), "dense");
  EXPECT_EQ(find(ops, "layer3.head5.qk").head, 5);
  EXPECT_EQ(find(ops, "layer3.ffn_up").head, -1);
  EXPECT_EQ(find(ops, "layer3.ffn_up").layer, 3u);
  EXPECT_EQ(find(ops, "layer3.ffn_up").role, WeightRole::kFfnUp);
  EXPECT_EQ(find(ops, "layer3.ffn_up").kind, OpKind::kWeightGemm);
  EXPECT_EQ(find(ops, "layer3.head5.qk").kind, OpKind::kScores);
  EXPECT_EQ(find(ops, "layer3.head5.sv").kind, OpKind::kContext);
  EXPECT_EQ(find(ops, "layer3.head5.qk").weight_bytes, 0u);
  // 2:4 ffn_up: 3072 rows of 768 / 2 = 384 values + 384 * 2 bits = 96 index bytes = 480 bytes.
  EXPECT_EQ(find(ops, "layer3.ffn_up").weight_bytes, 3072u * 480u);

  const Op& sm = find(ops, "layer3.head5.softmax");
  EXPECT_EQ(sm.kind, OpKind::kSoftmax);
  EXPECT_EQ(sm.rows, 128u);
  EXPECT_EQ(sm.row_len, 128u);
  EXPECT_EQ(sm.elements, 128u * 128u);
  EXPECT_FALSE(sm.causal);
  const Op& ln = find(ops, "layer3.ln1");
  EXPECT_EQ(ln.kind, OpKind::kLayerNorm);
  EXPECT_EQ(ln.rows, 128u);
  EXPECT_EQ(ln.row_len, 768u);
  const Op& gelu = find(ops, "layer3.gelu");
  EXPECT_EQ(gelu.kind, OpKind::kGelu);
  EXPECT_EQ(gelu.elements, 128u * 3072u);
  const Op& add = find(ops, "layer3.residual2");
  EXPECT_EQ(add.kind, OpKind::kResidualAdd);
  EXPECT_EQ(add.elements, 128u * 768u);
  EXPECT_EQ(add.macs, 0u);
}

TEST(Lowering, EveryGemmIsAGemmParams) {
  for (const std::string name : {"bert-base", "tinybert-4", "gpt2-small", "vit-b16"}) {
    const ModelSpec spec = load_model(name, kModelsDir);
    const std::uint32_t len = spec.fixed_seq_len != 0 ? spec.fixed_seq_len : 100;
    for (const std::string sp : {"dense", "2:4", "1:4"}) {
      for (const auto& op : lower_model(spec, len, LoweringOptions{sp, 0, {}})) {
        if (!is_gemm(op.kind)) continue;
        const GemmParams& g = op.gemm;
        EXPECT_EQ(g.validate(), "") << name << " " << op.name;
        EXPECT_EQ(op.macs, std::uint64_t{g.m} * g.n * g.k) << op.name;
        EXPECT_EQ(op.gemm.m, len) << op.name;
      }
    }
  }
}

TEST(Lowering, PostNormLayerOrderAndDependencies) {
  const auto ops = lower_model(small_model(2, NormPosition::kPost, false), 16, LoweringOptions{});
  const std::vector<std::string> layer0 = {"layer0.q_proj",
                                           "layer0.k_proj",
                                           "layer0.v_proj",
                                           "layer0.head0.qk",
                                           "layer0.head0.softmax",
                                           "layer0.head0.sv",
                                           "layer0.head1.qk",
                                           "layer0.head1.softmax",
                                           "layer0.head1.sv",
                                           "layer0.out_proj",
                                           "layer0.residual1",
                                           "layer0.ln1",
                                           "layer0.ffn_up",
                                           "layer0.gelu",
                                           "layer0.ffn_down",
                                           "layer0.residual2",
                                           "layer0.ln2"};
  ASSERT_EQ(ops.size(), 34u);  // 3 + 3 * 2 + 8 = 17 per layer, 2 layers
  const auto names = names_of(ops);
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 17), layer0);

  using D = std::vector<std::size_t>;
  EXPECT_EQ(deps_of(ops, "layer0.q_proj"), D{});  // the layer input is outside the list
  EXPECT_EQ(deps_of(ops, "layer0.head1.qk"), indices(ops, {"layer0.q_proj", "layer0.k_proj"}));
  EXPECT_EQ(deps_of(ops, "layer0.head1.softmax"), indices(ops, {"layer0.head1.qk"}));
  EXPECT_EQ(deps_of(ops, "layer0.head1.sv"), indices(ops, {"layer0.head1.softmax", "layer0.v_proj"}));
  EXPECT_EQ(deps_of(ops, "layer0.out_proj"), indices(ops, {"layer0.head0.sv", "layer0.head1.sv"}));
  EXPECT_EQ(deps_of(ops, "layer0.residual1"), indices(ops, {"layer0.out_proj"}));
  EXPECT_EQ(deps_of(ops, "layer0.ln1"), indices(ops, {"layer0.residual1"}));
  EXPECT_EQ(deps_of(ops, "layer0.ffn_up"), indices(ops, {"layer0.ln1"}));
  EXPECT_EQ(deps_of(ops, "layer0.gelu"), indices(ops, {"layer0.ffn_up"}));
  EXPECT_EQ(deps_of(ops, "layer0.ffn_down"), indices(ops, {"layer0.gelu"}));
  EXPECT_EQ(deps_of(ops, "layer0.residual2"), indices(ops, {"layer0.ffn_down", "layer0.ln1"}));
  EXPECT_EQ(deps_of(ops, "layer0.ln2"), indices(ops, {"layer0.residual2"}));
  // Layer 1 reads layer 0's output: its projections and its first residual.
  EXPECT_EQ(deps_of(ops, "layer1.q_proj"), indices(ops, {"layer0.ln2"}));
  EXPECT_EQ(deps_of(ops, "layer1.v_proj"), indices(ops, {"layer0.ln2"}));
  EXPECT_EQ(deps_of(ops, "layer1.residual1"), indices(ops, {"layer1.out_proj", "layer0.ln2"}));
}

TEST(Lowering, PreNormLayerOrderAndDependencies) {
  const auto ops = lower_model(small_model(1, NormPosition::kPre, false), 16, LoweringOptions{});
  const std::vector<std::string> layer0 = {
      "layer0.ln1",           "layer0.q_proj",   "layer0.k_proj",   "layer0.v_proj",    "layer0.head0.qk",
      "layer0.head0.softmax", "layer0.head0.sv", "layer0.out_proj", "layer0.residual1", "layer0.ln2",
      "layer0.ffn_up",        "layer0.gelu",     "layer0.ffn_down", "layer0.residual2"};
  ASSERT_EQ(ops.size(), 28u);  // 3 + 3 * 1 + 8 = 14 per layer
  const auto names = names_of(ops);
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 14), layer0);
  using D = std::vector<std::size_t>;
  EXPECT_EQ(deps_of(ops, "layer0.ln1"), D{});
  EXPECT_EQ(deps_of(ops, "layer0.k_proj"), indices(ops, {"layer0.ln1"}));
  EXPECT_EQ(deps_of(ops, "layer0.residual1"), indices(ops, {"layer0.out_proj"}));
  EXPECT_EQ(deps_of(ops, "layer0.ln2"), indices(ops, {"layer0.residual1"}));
  EXPECT_EQ(deps_of(ops, "layer0.ffn_up"), indices(ops, {"layer0.ln2"}));
  EXPECT_EQ(deps_of(ops, "layer0.residual2"), indices(ops, {"layer0.ffn_down", "layer0.residual1"}));
  EXPECT_EQ(deps_of(ops, "layer1.ln1"), indices(ops, {"layer0.residual2"}));
  EXPECT_EQ(deps_of(ops, "layer1.residual1"), indices(ops, {"layer1.out_proj", "layer0.residual2"}));
  EXPECT_EQ(ops.back().name, "layer1.residual2");
}

TEST(Lowering, OpsSayWhatTheyAreWithoutNamesOrPositions) {
  // A driver reads an op's fields, never its name or its neighbours: the sub-block of a layernorm or residual
  // add, each input by index (the model input explicitly), a head's three ops, the layer's output.
  for (NormPosition norm : {NormPosition::kPost, NormPosition::kPre}) {
    const auto ops = lower_model(small_model(2, norm, false), 16, LoweringOptions{});
    for (const char* name : {"ln1", "residual1"})
      EXPECT_EQ(find(ops, std::string("layer1.") + name).sublayer, Sublayer::kAttention) << name;
    for (const char* name : {"ln2", "residual2"})
      EXPECT_EQ(find(ops, std::string("layer1.") + name).sublayer, Sublayer::kFfn) << name;
    // Every op says which sub-block it belongs to (what a pipeline stage serves).
    for (const char* name : {"gelu", "ffn_up", "ffn_down"})
      EXPECT_EQ(find(ops, std::string("layer1.") + name).sublayer, Sublayer::kFfn) << name;
    for (const char* name : {"q_proj", "v_proj", "out_proj", "head1.qk", "head1.softmax", "head0.sv"})
      EXPECT_EQ(find(ops, std::string("layer1.") + name).sublayer, Sublayer::kAttention) << name;
    // The first layer reads the model's input; residual1 reads the accumulator, then the skip.
    const Op& first = ops.front();
    EXPECT_EQ(first.inputs, std::vector<std::size_t>{kExternalInput});
    const Op& res1 = find(ops, "layer0.residual1");
    ASSERT_EQ(res1.inputs.size(), 2u);
    EXPECT_EQ(res1.inputs[0], index_of(ops, "layer0.out_proj"));
    EXPECT_EQ(res1.inputs[1], kExternalInput);  // the skip of layer 0, in either norm position
    EXPECT_EQ(find(ops, "layer1.residual1").inputs[1],
              index_of(ops, norm == NormPosition::kPost ? "layer0.ln2" : "layer0.residual2"));
    const HeadOps h = find(ops, "layer0.head1.softmax").head_ops;
    EXPECT_EQ(h.scores, index_of(ops, "layer0.head1.qk"));
    EXPECT_EQ(h.softmax, index_of(ops, "layer0.head1.softmax"));
    EXPECT_EQ(h.context, index_of(ops, "layer0.head1.sv"));
    EXPECT_EQ(find(ops, "layer0.head1.sv").inputs,
              (std::vector<std::size_t>{h.softmax, index_of(ops, "layer0.v_proj")}));
    // One output per layer, the layer's last op; deps are the inputs that are ops.
    std::vector<std::string> outputs;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].layer_output) outputs.push_back(ops[i].name);
      std::vector<std::size_t> from_inputs;
      for (std::size_t in : ops[i].inputs)
        if (in != kExternalInput) from_inputs.push_back(in);
      EXPECT_EQ(ops[i].deps, from_inputs) << ops[i].name;
    }
    const std::string last = norm == NormPosition::kPost ? "ln2" : "residual2";
    EXPECT_EQ(outputs, (std::vector<std::string>{"layer0." + last, "layer1." + last}));
  }
}

TEST(Lowering, LowerLayerIsOneLayerOfLowerModel) {
  const ModelSpec gpt2 = load_model("gpt2-small", kModelsDir);
  const auto all = lower_model(gpt2, 40, LoweringOptions{"2:4", 0, {}});
  const auto one = lower_layer(gpt2, 7, 40, LoweringOptions{"2:4", 0, {}});
  const std::size_t base = index_of(all, "layer7.ln1");
  ASSERT_EQ(one.size(), 47u);
  for (std::size_t i = 0; i < one.size(); ++i) {
    const Op& a = all[base + i];
    const Op& b = one[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.macs, b.macs);
    EXPECT_EQ(a.elements, b.elements);
    EXPECT_EQ(a.weight_bytes, b.weight_bytes);
    // The same deps shifted by base, less the ones on layer 6.
    std::vector<std::size_t> shifted;
    for (std::size_t d : a.deps)
      if (d >= base) shifted.push_back(d - base);
    EXPECT_EQ(shifted, b.deps) << a.name;
  }
  EXPECT_TRUE(contains(error_of([&] { lower_layer(gpt2, 12, 40, LoweringOptions{}); }),
                       "layer: model gpt2-small has 12 layers (0..11), got 12"));
}

TEST(Lowering, CausalSoftmaxRowsGrow) {
  const ModelSpec gpt2 = load_model("gpt2-small", kModelsDir);
  const auto ops = lower_model(gpt2, 64, LoweringOptions{});
  // Valid (query i, key j) pairs under the mask j <= i, counted one by one: 64 * 65 / 2 = 2080.
  std::uint64_t valid = 0;
  for (std::uint32_t i = 0; i < 64; ++i)
    for (std::uint32_t j = 0; j < 64; ++j) valid += j <= i ? 1 : 0;
  ASSERT_EQ(valid, 2080u);
  int softmaxes = 0;
  for (const auto& op : ops) {
    if (op.kind != OpKind::kSoftmax) continue;
    ++softmaxes;
    EXPECT_TRUE(op.causal) << op.name;
    EXPECT_EQ(op.rows, 64u);
    EXPECT_EQ(op.row_len, 64u);
    EXPECT_EQ(op.elements, valid) << op.name;
  }
  EXPECT_EQ(softmaxes, 12 * 12);
  // The Q.K^T product itself stays a full dense L x L GEMM: the mask is applied by the softmax.
  EXPECT_EQ(find(ops, "layer0.head0.qk").macs, 64u * 64u * 64u);
  for (const auto& op : lower_model(load_model("bert-base", kModelsDir), 64, LoweringOptions{}))
    if (op.kind == OpKind::kSoftmax) {
      EXPECT_FALSE(op.causal);
      EXPECT_EQ(op.elements, 64u * 64u);
    }
}

TEST(Lowering, TopkAttentionReplacesEachHeadsProducts) {
  const ModelSpec bert = load_model("bert-base", kModelsDir);
  const auto ops = lower_model(bert, 128, LoweringOptions{"dense", 32, {}});
  // Per layer 3 projections + 12 top-k heads + 8 = 23; x 12 = 276.
  EXPECT_EQ(ops.size(), 276u);
  for (const auto& op : ops) {
    EXPECT_NE(op.kind, OpKind::kScores);
    EXPECT_NE(op.kind, OpKind::kSoftmax);
    EXPECT_NE(op.kind, OpKind::kContext);
  }
  const Op& t = find(ops, "layer2.head7.topk_attention");
  EXPECT_EQ(t.kind, OpKind::kTopkAttention);
  EXPECT_EQ(t.head, 7);
  EXPECT_EQ(t.topk.l_q, 128u);
  EXPECT_EQ(t.topk.l_k, 128u);
  EXPECT_EQ(t.topk.d, 64u);
  EXPECT_EQ(t.topk.kept, 32u);
  EXPECT_EQ(t.macs, 524'288u);            // 2 * L * kept * d = 2 * 128 * 32 * 64
  EXPECT_EQ(t.lut_products, 1'048'576u);  // L * L * d = 128 * 128 * 64
  EXPECT_EQ(deps_of(ops, "layer2.head7.topk_attention"),
            indices(ops, {"layer2.q_proj", "layer2.k_proj", "layer2.v_proj"}));
  EXPECT_EQ(find(ops, "layer2.out_proj").deps.size(), 12u);
  // Per layer 301,989,888 + 603,979,776 (as dense) + 12 * 524,288 = 912,261,120; x 12.
  EXPECT_EQ(total_macs(ops), 10'947'133'440u);

  // k is capped at L; a causal model's top-k heads carry the flag.
  const auto capped = lower_model(bert, 20, LoweringOptions{"dense", 1000, {}});
  EXPECT_EQ(find(capped, "layer0.head0.topk_attention").topk.kept, 20u);
  const auto gpt2 = lower_model(load_model("gpt2-small", kModelsDir), 20, LoweringOptions{"dense", 8, {}});
  EXPECT_TRUE(find(gpt2, "layer0.head0.topk_attention").causal);
  EXPECT_FALSE(find(capped, "layer0.head0.topk_attention").causal);
}

TEST(Lowering, SequenceLengthAndOptionErrors) {
  const ModelSpec vit = load_model("vit-b16", kModelsDir);
  EXPECT_EQ(lower_model(vit, 197, LoweringOptions{}).size(), 564u);  // same structure as BERT-base
  EXPECT_EQ(error_of([&] { lower_model(vit, 128, LoweringOptions{}); }),
            "seq_len: model vit-b16 takes exactly 197 tokens, got 128");
  const ModelSpec bert = load_model("bert-base", kModelsDir);
  EXPECT_EQ(error_of([&] { lower_model(bert, 513, LoweringOptions{}); }),
            "seq_len: model bert-base takes at most 512 tokens, got 513");
  EXPECT_TRUE(contains(error_of([&] {
                         lower_model(bert, 128, LoweringOptions{"2-4", 0, {}});
                       }),
                       "weight_sparsity: "));
  const ModelSpec tiny = load_model("tinybert-4", kModelsDir);
  // tinybert's hidden 312 = 16 * 19 + 8 is not a multiple of 16.
  EXPECT_EQ(
      error_of([&] {
        lower_model(tiny, 128, LoweringOptions{"3:16", 0, {}});
      }),
      "weight_sparsity: 3:16 does not fit layer0.q_proj of model tinybert-4: k = 312 is not a multiple of "
      "M = 16");
  ModelSpec broken = bert;
  broken.heads = 7;
  EXPECT_EQ(error_of([&] { lower_model(broken, 128, LoweringOptions{}); }),
            kModelsDir + "/bert-base.model: hidden: must be a multiple of heads = 7, got 768");
}

TEST(SparsityOverrides, LayerAndOpEntriesBeatTheDefault) {
  const ModelSpec bert = load_model("bert-base", kModelsDir);
  const auto ovr = overrides(
      "# pruned per layer\n"
      "0 = 2:4\n"
      "5 = dense\n"
      "3.ffn_up = 1:4   # the op entry wins over the layer entry below\n"
      "3 = 4:8\n"
      "7.q_proj = 4:4\n");
  ASSERT_EQ(ovr.entries.size(), 5u);
  const auto ops = lower_model(bert, 128, LoweringOptions{"1:8", 0, ovr});
  for (WeightRole role : weight_roles()) {
    const std::string r = to_string(role);
    EXPECT_EQ(find(ops, "layer0." + r).gemm.sparsity.text(), "2:4") << r;
    EXPECT_EQ(find(ops, "layer5." + r).gemm.sparsity.text(), "dense") << r;
    EXPECT_EQ(find(ops, "layer3." + r).gemm.sparsity.text(), role == WeightRole::kFfnUp ? "1:4" : "4:8") << r;
    EXPECT_EQ(find(ops, "layer1." + r).gemm.sparsity.text(), "1:8") << r;
    EXPECT_EQ(find(ops, "layer7." + r).gemm.sparsity.text(), role == WeightRole::kQProj ? "dense" : "1:8")
        << r;
  }
  // 1:4 ffn_up, 3072 rows of k = 768: 192 values + 192 indices of 2 bits (48 bytes) = 240 bytes a row.
  EXPECT_EQ(find(ops, "layer3.ffn_up").weight_bytes, 3072u * 240u);
  EXPECT_EQ(find(ops, "layer3.ffn_up").effective_macs, 128u * 3072u * 768u / 4u);
  EXPECT_EQ(find(ops, "layer5.ffn_up").weight_bytes, 3072u * 768u);
  EXPECT_EQ(find(ops, "layer5.ffn_up").effective_macs, 128u * 3072u * 768u);
}

TEST(SparsityOverrides, BadLinesNameFileAndLine) {
  const auto err = [](const std::string& text) { return error_of([&] { overrides(text); }); };
  EXPECT_EQ(err("0 = 2:4\n0 2:4\n"),
            "ovr.txt:2: expected '<layer> = N:M' or '<layer>.<op> = N:M', got '0 2:4'");
  EXPECT_EQ(err("x = 2:4\n"), "ovr.txt:1: expected a layer index (0, 1, ...) before '=' or '.', got 'x'");
  EXPECT_EQ(err("-1 = 2:4\n"), "ovr.txt:1: expected a layer index (0, 1, ...) before '=' or '.', got '-1'");
  EXPECT_EQ(
      err("1.ffn = 2:4\n"),
      "ovr.txt:1: unknown op 'ffn'; expected one of q_proj, k_proj, v_proj, out_proj, ffn_up, ffn_down");
  const std::string bad_nm = err("\n1 = 5:4\n");
  EXPECT_TRUE(contains(bad_nm, "ovr.txt:2: ")) << bad_nm;
  EXPECT_TRUE(contains(bad_nm, "N must be in 1..M (M = 4), got 5")) << bad_nm;
  EXPECT_TRUE(contains(err("1 =\n"), "ovr.txt:1: ")) << err("1 =\n");
  EXPECT_EQ(err("1 = 2:4\n# again\n1 = dense\n"), "ovr.txt:3: '1' is set twice (first on line 1)");
  EXPECT_EQ(err("3.ffn_up = 2:4\n3.ffn_up = 1:4\n"), "ovr.txt:2: '3.ffn_up' is set twice (first on line 1)");
  EXPECT_EQ(err("3 = 2:4\n3.ffn_up = 1:4\n3.ffn_down = 1:4\n"), "");  // distinct targets
  EXPECT_EQ(error_of([] { load_sparsity_overrides("/nonexistent/ovr.txt"); }),
            "/nonexistent/ovr.txt: cannot open sparsity override file (no such file)");
}

TEST(SparsityOverrides, CheckedAgainstTheModel) {
  const ModelSpec bert = load_model("bert-base", kModelsDir);
  EXPECT_EQ(error_of([&] {
              lower_model(bert, 128, LoweringOptions{"dense", 0, overrides("0 = 2:4\n12 = 2:4\n")});
            }),
            "ovr.txt:2: layer 12 is out of range: model bert-base has 12 layers (0..11)");
  const ModelSpec tiny = load_model("tinybert-4", kModelsDir);
  EXPECT_EQ(
      error_of([&] {
        lower_model(tiny, 128, LoweringOptions{"2:4", 0, overrides("\n2.q_proj = 1:16\n")});
      }),
      "ovr.txt:2: 1:16 does not fit layer2.q_proj of model tinybert-4: k = 312 is not a multiple of M = 16");
  // ffn_down's k is tinybert's ffn = 1200 = 16 * 75: 1:16 fits there.
  const auto ops = lower_model(tiny, 128, LoweringOptions{"2:4", 0, overrides("2.ffn_down = 1:16\n")});
  EXPECT_EQ(find(ops, "layer2.ffn_down").gemm.sparsity.text(), "1:16");
}

TEST(LongestPath, SmallGraphByHand) {
  // 0 -> 1 -> 3, 0 -> 2 -> 3, 2 -> 4; costs 1, 5, 2, 1, 10.
  std::vector<Op> ops(5);
  const std::vector<std::uint64_t> cost = {1, 5, 2, 1, 10};
  for (std::size_t i = 0; i < ops.size(); ++i) {
    ops[i].name = "op" + std::to_string(i);
    ops[i].effective_macs = cost[i];
  }
  ops[1].deps = {0};
  ops[2].deps = {0};
  ops[3].deps = {1, 2};
  ops[4].deps = {2};
  // lp3 = 1, lp4 = 10, lp1 = 5 + 1 = 6, lp2 = 2 + max(1, 10) = 12, lp0 = 1 + max(6, 12) = 13.
  EXPECT_EQ(longest_path_to_end(ops), (std::vector<double>{13, 6, 12, 1, 10}));
  // Unit cost: path lengths in ops. 0 -> 2 -> 3 and 0 -> 1 -> 3 both have 3.
  EXPECT_EQ(longest_path_to_end(ops, [](const Op&) { return 1.0; }), (std::vector<double>{3, 2, 2, 1, 1}));
  ops[1].deps = {3};
  EXPECT_THROW(longest_path_to_end(ops), std::invalid_argument);
}

// The reverse sweep against a plain recursion over consumers on seeded random DAGs.
double brute_longest(const std::vector<Op>& ops, const std::vector<double>& cost, std::size_t i) {
  double best = 0;
  for (std::size_t j = i + 1; j < ops.size(); ++j)
    if (std::find(ops[j].deps.begin(), ops[j].deps.end(), i) != ops[j].deps.end())
      best = std::max(best, brute_longest(ops, cost, j));
  return cost[i] + best;
}

TEST(LongestPath, MatchesBruteForceOnRandomGraphs) {
  std::mt19937 rng(20240611);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t n = 1 + rng() % 14;
    std::vector<Op> ops(n);
    std::vector<double> cost(n);
    for (std::size_t i = 0; i < n; ++i) {
      cost[i] = static_cast<double>(rng() % 100);
      ops[i].macs = static_cast<std::uint64_t>(cost[i]);
      for (std::size_t d = 0; d < i; ++d)
        if (rng() % 3 == 0) ops[i].deps.push_back(d);
    }
    const auto lp = longest_path_to_end(ops, [](const Op& op) { return static_cast<double>(op.macs); });
    for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(lp[i], brute_longest(ops, cost, i)) << trial << " " << i;
  }
}

TEST(LongestPath, BertBaseCriticalPath) {
  const auto ops = lower_model(load_model("bert-base", kModelsDir), 128, LoweringOptions{});
  const auto lp = longest_path_to_end(ops);
  // One layer's longest path in MACs (SFU ops cost 0), L = 128, h = 768, f = 3072, d = 64:
  //   q_proj L h h 75,497,472 + qk L L d 1,048,576 + sv L d L 1,048,576 + out_proj 75,497,472
  //   + ffn_up L h f 301,989,888 + ffn_down 301,989,888 = 757,071,872; through 12 layers 9,084,862,464.
  EXPECT_EQ(lp[index_of(ops, "layer0.q_proj")], 9'084'862'464.0);
  EXPECT_EQ(lp[index_of(ops, "layer0.k_proj")], 9'084'862'464.0);
  EXPECT_EQ(lp[index_of(ops, "layer11.ffn_down")], 301'989'888.0);
  EXPECT_EQ(lp[index_of(ops, "layer11.ln2")], 0.0);
  EXPECT_EQ(lp[index_of(ops, "layer11.head3.sv")], 1'048'576.0 + 75'497'472.0 + 2 * 301'989'888.0);
  // An earlier op of a chain never has a shorter path than the one it feeds.
  for (std::size_t i = 0; i < ops.size(); ++i)
    for (std::size_t d : ops[i].deps) EXPECT_GE(lp[d], lp[i]) << ops[i].name;
}

// Random small models: counts against their closed forms, and the structural invariants.
TEST(Lowering, RandomModelsMatchClosedForms) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    ModelSpec s;
    s.name = "rand";
    s.source = "test";
    s.layers = 1 + rng() % 3;
    s.heads = 1 + rng() % 6;
    // Widths multiples of 8: 2:4 fits, and a 2:4 row of k takes exactly 5k/8 bytes (k/2 values, k/8 of
    // indices).
    s.hidden = s.heads * (8 * (1 + rng() % 6));
    s.ffn = 8 * (1 + rng() % 30);
    s.causal = rng() % 2 == 0;
    s.norm = rng() % 2 == 0 ? NormPosition::kPost : NormPosition::kPre;
    s.max_seq_len = 96;
    const std::uint64_t L = 1 + rng() % 96;
    const std::uint32_t topk = rng() % 2 == 0 ? 0 : 1 + rng() % 120;
    const bool sparse = rng() % 2 == 0;
    SCOPED_TRACE(testing::Message() << "trial " << trial << " layers " << s.layers << " heads " << s.heads
                                    << " hidden " << s.hidden << " ffn " << s.ffn << " L " << L << " topk "
                                    << topk);
    const auto ops =
        lower_model(s, static_cast<std::uint32_t>(L), LoweringOptions{sparse ? "2:4" : "dense", topk, {}});
    const std::uint64_t h = s.hidden, f = s.ffn, H = s.heads, d = h / H;
    const std::uint64_t per_layer_ops = topk > 0 ? 3 + H + 8 : 3 + 3 * H + 8;
    ASSERT_EQ(ops.size(), s.layers * per_layer_ops);
    const std::uint64_t weight_macs = 4 * L * h * h + 2 * L * h * f;
    const std::uint64_t kept = std::min<std::uint64_t>(topk, L);
    const std::uint64_t attn_macs = topk > 0 ? H * 2 * L * kept * d : 2 * L * L * h;
    EXPECT_EQ(total_macs(ops), s.layers * (weight_macs + attn_macs));
    EXPECT_EQ(total_effective_macs(ops), s.layers * ((sparse ? weight_macs / 2 : weight_macs) + attn_macs));
    const std::uint64_t dense_bytes = s.layers * (4 * h * h + 2 * h * f);
    EXPECT_EQ(total_weight_bytes(ops), sparse ? dense_bytes / 8 * 5 : dense_bytes);

    std::set<std::string> names;
    std::vector<int> consumers(ops.size(), 0);
    for (std::size_t i = 0; i < ops.size(); ++i) {
      EXPECT_TRUE(names.insert(ops[i].name).second) << ops[i].name;
      for (std::size_t dep : ops[i].deps) {
        EXPECT_LT(dep, i) << ops[i].name;
        ++consumers[dep];
      }
      EXPECT_EQ(ops[i].causal,
                s.causal && (ops[i].kind == OpKind::kSoftmax || ops[i].kind == OpKind::kTopkAttention))
          << ops[i].name;
    }
    // Exactly one sink (the last layer's output) and exactly the first layer's entry ops without deps.
    EXPECT_EQ(std::count(consumers.begin(), consumers.end(), 0), 1);
    const auto roots = std::count_if(ops.begin(), ops.end(), [](const Op& op) { return op.deps.empty(); });
    EXPECT_EQ(roots, s.norm == NormPosition::kPre ? 1 : 3);
  }
}

}  // namespace
}  // namespace tacsim::workloads
