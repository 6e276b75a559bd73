// How a lowered model maps onto the engines, without a kernel: the scheduler's tasks, the memory plan and
// each batch's tensors, the attention blocks, a pipeline's stages, and the commands built from an op's
// explicit fields.
#include "workloads/model_mapping.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "modules/common/error.h"
#include "workloads/memory_plan.h"

namespace tacsim::workloads {
namespace {

ModelSpec small_model(NormPosition norm) {
  ModelSpec s;
  s.name = "small";
  s.source = "test";
  s.layers = 2;
  s.hidden = 16;
  s.heads = 2;
  s.ffn = 32;
  s.max_seq_len = 64;
  s.norm = norm;
  return s;
}

std::size_t index_of(const std::vector<Op>& ops, const std::string& name) {
  const auto it = std::find_if(ops.begin(), ops.end(), [&](const Op& op) { return op.name == name; });
  return static_cast<std::size_t>(it - ops.begin());
}

std::vector<std::array<WeightSparsity, 6>> dense_layers(const ModelSpec& spec) {
  return std::vector<std::array<WeightSparsity, 6>>(spec.layers);
}

// Every engine gets `blocks` blocks of every head.
std::vector<scheduler::Task> tasks_of(const std::vector<Op>& ops, std::uint32_t blocks,
                                      std::size_t engines = 1) {
  return batch_tasks(ops, [&](const Op&) { return std::vector<std::uint32_t>(engines, blocks); }, {});
}

TEST(BatchTasks, AHeadIsOneTaskAndOutProjWaitsForEveryHead) {
  const ModelSpec spec = small_model(NormPosition::kPost);
  const auto ops = lower_model(spec, 16, LoweringOptions{});
  const auto tasks = tasks_of(ops, 3, 2);
  // Per layer: q, k, v, two heads, out_proj, residual1, ln1, ffn_up, gelu, ffn_down, residual2, ln2.
  ASSERT_EQ(tasks.size(), 2u * 13);
  auto task_of = [&](const std::string& name) {
    const std::size_t i = index_of(ops, name);
    for (std::size_t t = 0; t < tasks.size(); ++t)
      if (tasks[t].op == i) return t;
    ADD_FAILURE() << name << " has no task";
    return std::size_t{0};
  };
  const scheduler::Task& head1 = tasks[task_of("layer1.head1.qk")];
  EXPECT_EQ(head1.blocks, (std::vector<std::uint32_t>{3, 3}));
  EXPECT_EQ(head1.unit, scheduler::Unit::kArray);
  EXPECT_EQ(head1.deps, (std::vector<std::size_t>{task_of("layer1.q_proj"), task_of("layer1.k_proj"),
                                                  task_of("layer1.v_proj")}));
  EXPECT_EQ(tasks[task_of("layer1.out_proj")].deps,
            (std::vector<std::size_t>{task_of("layer1.head0.qk"), task_of("layer1.head1.qk")}));
  EXPECT_EQ(tasks[task_of("layer1.ln1")].unit, scheduler::Unit::kSfu);
  EXPECT_TRUE(tasks[task_of("layer1.ln1")].blocks.empty());
  // Stage groups: layer l's attention 2l, its FFN 2l + 1.
  EXPECT_EQ(tasks[task_of("layer1.head1.qk")].group, 2u);
  EXPECT_EQ(tasks[task_of("layer1.ln1")].group, 2u);
  EXPECT_EQ(tasks[task_of("layer1.gelu")].group, 3u);
  EXPECT_EQ(tasks[task_of("layer0.ln2")].group, 1u);
  // Tasks keep the ops' order, so running them in order runs the ops as listed.
  for (std::size_t t = 1; t < tasks.size(); ++t) EXPECT_LT(tasks[t - 1].op, tasks[t].op);

  LoweringOptions topk;
  topk.topk = 4;
  const auto tt = tasks_of(lower_model(spec, 16, topk), 1);
  ASSERT_EQ(tt.size(), 2u * 13);
  EXPECT_EQ(tt[3].unit, scheduler::Unit::kTopk);  // after q, k, v
  EXPECT_TRUE(tt[3].blocks.empty());
}

TEST(BatchTasks, RanksComeFromTheirOps) {
  const ModelSpec spec = small_model(NormPosition::kPost);
  const auto ops = lower_model(spec, 16, LoweringOptions{});
  const auto lp = longest_path_to_end(ops, [](const Op&) { return 1.0; });
  const auto tasks = batch_tasks(
      ops, [](const Op&) { return std::vector<std::uint32_t>{1}; }, lp);
  for (const auto& t : tasks) EXPECT_EQ(t.rank, lp[t.op]);
  EXPECT_GT(tasks.front().rank, tasks.back().rank);
  EXPECT_EQ(tasks.back().rank, 1.0);  // the last ln2
}

TEST(EngineStage, TermsParseAndServeTheirLayersAndSubBlocks) {
  const EngineStage a = parse_engine_stage("attention", "s");
  EXPECT_TRUE(a.serves(0, Sublayer::kAttention));
  EXPECT_TRUE(a.serves(11, Sublayer::kAttention));
  EXPECT_FALSE(a.serves(0, Sublayer::kFfn));
  const EngineStage l = parse_engine_stage("layers:6-11", "s");
  EXPECT_FALSE(l.serves(5, Sublayer::kFfn));
  EXPECT_TRUE(l.serves(6, Sublayer::kFfn));
  EXPECT_TRUE(l.serves(11, Sublayer::kAttention));
  EXPECT_FALSE(l.serves(12, Sublayer::kAttention));
  const EngineStage u = parse_engine_stage("ffn@layers:0-5, attention@layers:3", "s");
  EXPECT_TRUE(u.serves(5, Sublayer::kFfn));
  EXPECT_FALSE(u.serves(6, Sublayer::kFfn));
  EXPECT_TRUE(u.serves(3, Sublayer::kAttention));
  EXPECT_FALSE(u.serves(4, Sublayer::kAttention));
  EXPECT_TRUE(parse_engine_stage("all", "s").serves(100, Sublayer::kFfn));
  for (const char* bad : {"attn", "layers:5-2", "layers:x", "ffn@5", "", "attention,", "layers:1-2@ffn"}) {
    try {
      parse_engine_stage(bad, "config: engine1.stage");
      ADD_FAILURE() << bad << " parsed";
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("config: engine1.stage: ", 0), 0u) << e.what();
    }
  }
}

MemoryShape shape_of(std::uint32_t regions, std::uint32_t tokens, std::uint32_t max_len,
                     std::uint32_t slots = 1, std::uint32_t engines = 1) {
  MemoryShape s;
  s.input_regions = regions;
  s.input_tokens = tokens;
  s.slots = slots;
  s.slot_tokens = tokens;
  s.max_len = max_len;
  s.engines = engines;
  return s;
}

TEST(MemoryPlan, SlotsAndEnginesEachGetTheirOwnAreas) {
  const ModelSpec spec = small_model(NormPosition::kPost);
  const MemoryMap one = plan_memory(spec, shape_of(3, 24, 24), dense_layers(spec));
  const MemoryMap many = plan_memory(spec, shape_of(3, 24, 24, 3, 2), dense_layers(spec));
  // Inputs and weights do not move with slots; slot 0's arenas neither.
  EXPECT_EQ(many.weights, one.weights);
  EXPECT_EQ(many.weight_at, one.weight_at);
  EXPECT_EQ(many.arena[0][0], one.arena[0][0]);
  ASSERT_EQ(many.arena.size(), 3u);
  // Two engines' score blocks make each arena larger; slots follow each other.
  EXPECT_GT(many.arena_bytes, one.arena_bytes);
  EXPECT_EQ(many.arena[1][0], many.arena[0][1] + many.arena_bytes);
  EXPECT_EQ(many.arena[2][1] + many.arena_bytes, many.scratch[0]);
  ASSERT_EQ(many.scratch.size(), 2u);
  EXPECT_EQ(many.scratch[1], many.end);  // no HP scratch: both engines' areas are empty
  EXPECT_EQ(many.input_at(2), many.input + 2 * many.input_bytes);
}

// Fused epilogues: GELU on FFN-up; the residual add and the layernorm that reads it on out_proj and FFN-down
// (post-norm); pre-norm keeps the layernorm that starts the next layer apart. They join their GEMM's task.
TEST(FusedEpilogues, FollowTheirGemmAndJoinItsTask) {
  auto names = [](const std::vector<Op>& ops, const Epilogue& e) {
    std::vector<std::string> v;
    for (std::size_t j : e.ops) v.push_back(ops[j].name);
    return v;
  };
  const auto post = lower_model(small_model(NormPosition::kPost), 16, LoweringOptions{});
  const auto ep = fused_epilogues(post, true);
  EXPECT_EQ(names(post, ep[index_of(post, "layer1.ffn_up")]), (std::vector<std::string>{"layer1.gelu"}));
  EXPECT_FALSE(ep[index_of(post, "layer1.ffn_up")].by_rows);
  EXPECT_EQ(names(post, ep[index_of(post, "layer1.out_proj")]),
            (std::vector<std::string>{"layer1.residual1", "layer1.ln1"}));
  EXPECT_TRUE(ep[index_of(post, "layer1.out_proj")].by_rows);
  EXPECT_EQ(names(post, ep[index_of(post, "layer0.ffn_down")]),
            (std::vector<std::string>{"layer0.residual2", "layer0.ln2"}));
  EXPECT_TRUE(ep[index_of(post, "layer0.q_proj")].ops.empty());
  // Per layer: q, k, v, two heads, out_proj (+ residual1, ln1), ffn_up (+ gelu), ffn_down (+ residual2, ln2).
  EXPECT_EQ(batch_tasks(
                post, [](const Op&) { return std::vector<std::uint32_t>{1}; }, {}, ep)
                .size(),
            2u * 8);
  for (const Epilogue& e : fused_epilogues(post, false)) EXPECT_TRUE(e.ops.empty());

  const auto pre = lower_model(small_model(NormPosition::kPre), 16, LoweringOptions{});
  const auto ee = fused_epilogues(pre, true);
  EXPECT_EQ(names(pre, ee[index_of(pre, "layer0.out_proj")]),
            (std::vector<std::string>{"layer0.residual1", "layer0.ln2"}));
  EXPECT_EQ(names(pre, ee[index_of(pre, "layer0.ffn_down")]), (std::vector<std::string>{"layer0.residual2"}));
}

// The blocks tile the GEMM's output exactly; a block's GEMM and SFU operation address the block.
TEST(FusedEpilogues, BlocksCoverTheOutputAndAddressIt) {
  const auto ops = lower_model(small_model(NormPosition::kPost), 40, LoweringOptions{});
  const auto ep = fused_epilogues(ops, true);
  const std::size_t up = index_of(ops, "layer0.ffn_up"), out = index_of(ops, "layer0.out_proj");
  // GELU: columns of 32 outputs (n = 32), cut into at most ceil(40 / 16) = 3 blocks of multiples of 8.
  const auto cb = ep[up].blocks(ops[up], 16, 8, 4);
  ASSERT_EQ(cb.size(), 2u);  // ceil(32 / 3) = 11 -> 16 columns a block
  EXPECT_EQ(cb[1].col0, 16u);
  EXPECT_EQ(cb[1].cols, 16u);
  EXPECT_EQ(cb[1].rows, 40u);
  // Residual and layernorm: rows of 16 tokens, the last one short.
  const auto rb = ep[out].blocks(ops[out], 16, 8, 4);
  ASSERT_EQ(rb.size(), 3u);
  EXPECT_EQ(rb[2].row0, 32u);
  EXPECT_EQ(rb[2].rows, 8u);
  EXPECT_EQ(rb[2].cols, 16u);

  GemmLayout whole;
  whole.a_address = 1000;
  whole.a_stride = 16;
  whole.w_address = 5000;
  whole.w_stride = 16;
  whole.c_address = 9000;
  whole.c_stride = 128;  // int32 outputs, 32 columns
  const GemmLayout l = gemm_block_layout(whole, {16, 16, 8, 8});
  EXPECT_EQ(l.a_address, 1000u + 16 * 16);
  EXPECT_EQ(l.w_address, 5000u + 8 * 16);
  EXPECT_EQ(l.c_address, 9000u + 16 * 128 + 8 * 4);

  sfu::SfuOp gelu;
  gelu.kind = sfu::SfuKind::kGelu;
  gelu.rows = 40;
  gelu.row_len = 32;
  gelu.inputs.push_back({9000, 40, 32 * 4, 128, 0});
  gelu.output = {20000, 40, 32, 32, 0};
  const sfu::SfuOp b = sfu_block(gelu, {0, 40, 16, 16});
  EXPECT_EQ(b.row_len, 16u);
  EXPECT_EQ(b.inputs[0].address, 9000u + 16 * 4);
  EXPECT_EQ(b.inputs[0].row_bytes, 16u * 4);
  EXPECT_EQ(b.inputs[0].stride, 128u);
  EXPECT_EQ(b.output.address, 20000u + 16);
  EXPECT_EQ(b.output.row_bytes, 16u);
  sfu::SfuOp ln = gelu;
  ln.kind = sfu::SfuKind::kLayerNorm;
  EXPECT_THROW(sfu_block(ln, {0, 40, 16, 16}), std::logic_error);
}

TEST(AttentionBlocks, TwoBlocksOfScoresMustFitTheScoreBuffer) {
  // L = 128: a block of r rows of int32 scores takes 512 r bytes; two of them must fit.
  AttentionBlocks b = attention_blocks(128, 32, 64 * 1024, 0, true);
  EXPECT_EQ(b.rows, 32u);  // the array's rows: 2 x 32 x 512 = 32 KiB fits
  EXPECT_TRUE(b.on_chip);
  EXPECT_EQ(b.count(128), 4u);
  b = attention_blocks(128, 32, 64 * 1024, 128, true);  // asked for 128 rows: halved to 64 (64 KiB fits)
  EXPECT_EQ(b.rows, 64u);
  EXPECT_TRUE(b.on_chip);
  b = attention_blocks(128, 32, 16 * 1024, 0, true);  // 32 rows need 32 KiB: off chip, one block of L
  EXPECT_EQ(b.rows, 128u);
  EXPECT_FALSE(b.on_chip);
  b = attention_blocks(20, 32, 64 * 1024, 0, true);  // fewer tokens than array rows: one block
  EXPECT_EQ(b.rows, 20u);
  EXPECT_EQ(b.count(20), 1u);
  b = attention_blocks(128, 32, 1 << 20, 0, false);  // on-chip attention off
  EXPECT_EQ(b.rows, 128u);
  EXPECT_FALSE(b.on_chip);
}

TEST(MemoryPlan, EachLayersTensorsFitItsArenaWithoutOverlap) {
  for (NormPosition norm : {NormPosition::kPost, NormPosition::kPre}) {
    const ModelSpec spec = small_model(norm);
    const std::uint32_t L = 24, block_rows = 8;
    const auto ops = lower_model(spec, L, LoweringOptions{});
    const MemoryMap mm = plan_memory(spec, shape_of(2, L, L), dense_layers(spec));
    EXPECT_EQ(mm.weights % 4096, 0u);
    EXPECT_EQ(mm.scratch[0], mm.end);  // no HP scratch
    const BatchTensors t = place_tensors(spec, ops, mm, 1, 0, std::uint64_t{block_rows} * L);
    EXPECT_EQ(t.input.address, mm.input + mm.input_bytes);  // input region 1
    EXPECT_EQ(t.operand(ops.front(), 0).address, t.input.address);
    for (std::uint32_t layer = 0; layer < spec.layers; ++layer) {
      // Every distinct tensor the layer writes, as [begin, end) byte ranges: all inside arena layer % 2.
      std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
      const LayerTensors& lt = t.layers[layer];
      ranges.push_back({lt.ctx.address, lt.ctx.address + std::uint64_t{L} * lt.ctx.stride});
      for (std::uint32_t b = 0; b < 2; ++b) {
        const Tensor s = lt.scores(0, b, L), p = lt.probs(0, b, L);
        ranges.push_back({s.address, s.address + std::uint64_t{block_rows} * s.stride});
        ranges.push_back({p.address, p.address + std::uint64_t{block_rows} * p.stride});
      }
      for (std::size_t i = 0; i < ops.size(); ++i) {
        const Op& op = ops[i];
        if (op.layer != layer || op.kind == OpKind::kScores || op.kind == OpKind::kSoftmax ||
            op.kind == OpKind::kContext)
          continue;
        const Tensor& o = t.out[i];
        const std::uint64_t rows = op.kind == OpKind::kWeightGemm && o.stride == std::uint64_t{L} * o.elem
                                       ? op.gemm.n  // V^T: n rows of L
                                       : L;
        ranges.push_back({o.address, o.address + rows * o.stride});
      }
      std::sort(ranges.begin(), ranges.end());
      const std::uint64_t arena = mm.arena[0][layer % 2];
      EXPECT_GE(ranges.front().first, arena);
      EXPECT_LE(ranges.back().second, arena + mm.arena_bytes);
      for (std::size_t k = 1; k < ranges.size(); ++k) EXPECT_LE(ranges[k - 1].second, ranges[k].first);
    }
    // A head's ops share the layer's tensors; out_proj reads the context every head writes.
    const Op& out_proj = ops[index_of(ops, "layer1.out_proj")];
    EXPECT_EQ(t.operand(out_proj, 0).address, t.layers[1].ctx.address);
    // V leaves the array transposed for S.V: L int8 per row.
    EXPECT_EQ(t.out[index_of(ops, "layer0.v_proj")].stride, L);
  }
}

TEST(ModelCommands, SfuOpsTakeTheirRequantisersFromTheirSublayer) {
  const ModelSpec spec = small_model(NormPosition::kPost);
  const auto ops = lower_model(spec, 16, LoweringOptions{});
  const MemoryMap mm = plan_memory(spec, shape_of(1, 16, 16), dense_layers(spec));
  const BatchTensors t = place_tensors(spec, ops, mm, 0, 0, 16 * 16);
  LayerQuant q;
  q.attn = Requant{1, 3, -128, 127};
  q.down = Requant{1, 5, -128, 127};
  q.ln1 = Requant{1, 7, -128, 127};
  q.ln2 = Requant{1, 9, -128, 127};
  auto op = [&](const std::string& name) {
    const std::size_t i = index_of(ops, name);
    return sfu_op(ops[i], i, t, q, nullptr);
  };
  EXPECT_EQ(op("layer0.residual1").in_rq.shift, 3u);
  EXPECT_EQ(op("layer0.residual2").in_rq.shift, 5u);
  EXPECT_EQ(op("layer0.ln1").out_rq.shift, 7u);
  EXPECT_EQ(op("layer0.ln2").out_rq.shift, 9u);
  // residual2 reads ffn_down's int32 accumulators, then ln1's int8 output (post-norm's skip).
  const sfu::SfuOp r2 = op("layer0.residual2");
  ASSERT_EQ(r2.inputs.size(), 2u);
  EXPECT_EQ(r2.inputs[0].address, t.out[index_of(ops, "layer0.ffn_down")].address);
  EXPECT_EQ(r2.inputs[0].row_bytes, spec.hidden * 4u);
  EXPECT_EQ(r2.inputs[1].address, t.out[index_of(ops, "layer0.ln1")].address);
  EXPECT_EQ(r2.inputs[1].local_offset, 16u * spec.hidden * 4);
}

// A batch member's head reads its own rows of Q, K and V^T and writes its rows of the context; engine e
// uses its own score buffers.
TEST(ModelCommands, AMembersHeadReadsAndWritesItsOwnRows) {
  const ModelSpec spec = small_model(NormPosition::kPost);
  const std::uint32_t d = spec.head_dim();  // 8
  const std::vector<std::uint32_t> lengths = {10, 6};
  const auto ops = lower_batch(spec, lengths, LoweringOptions{});
  const MemoryMap mm = plan_memory(spec, shape_of(1, 16, 10, 1, 2), dense_layers(spec));
  const BatchTensors t = place_tensors(spec, ops, mm, 0, 0, 10 * 10);
  const Op& qk = ops[index_of(ops, "layer0.seq1.head1.qk")];
  ASSERT_EQ(qk.row0, 10u);
  ASSERT_EQ(qk.gemm.m, 6u);
  const AttentionBlocks blocks = attention_blocks(6, 4, 1 << 20, 0, true);  // blocks of 4 rows: 4, then 2
  const Tensor &q = t.out[index_of(ops, "layer0.q_proj")], &k = t.out[index_of(ops, "layer0.k_proj")];
  const GemmLayout s1 = scores_block_layout(qk, t, 1, blocks, d, 1);
  EXPECT_EQ(s1.a_address, q.address + (10 + 4) * q.stride + d);  // Q rows 14.., head 1's columns
  EXPECT_EQ(s1.w_address, k.address + 10 * k.stride + d);        // K rows 10..15
  EXPECT_EQ(s1.c_address, t.layers[0].scores_at[1][1]);          // engine 1's second score block
  EXPECT_EQ(s1.c_stride, 6u * 4);
  const Op& sv = ops[qk.head_ops.context];
  const Tensor& vt = t.out[index_of(ops, "layer0.v_proj")];
  EXPECT_EQ(vt.stride, 16u);  // V^T: a row per feature, a column per token of the batch
  const GemmLayout c0 = context_block_layout(sv, t, 0, blocks, d, LayerQuant{}, 0);
  EXPECT_EQ(c0.a_address, t.layers[0].probs_at[0][0]);
  EXPECT_EQ(c0.a_stride, 6u);
  EXPECT_EQ(c0.w_address, vt.address + d * vt.stride + 10);  // features 8.., tokens 10..
  EXPECT_EQ(c0.c_address, t.layers[0].ctx.address + 10 * t.layers[0].ctx.stride + d);
  const Op& softmax = ops[qk.head_ops.softmax];
  const sfu::SfuOp sm = softmax_block(softmax, t, 1, blocks, LayerQuant{}, 1);
  EXPECT_EQ(sm.rows, 2u);
  EXPECT_EQ(sm.row_len, 6u);
  EXPECT_EQ(sm.inputs[0].address, t.layers[0].scores_at[1][1]);
  // The per-token ops run over both members' 16 rows.
  EXPECT_EQ(ops[index_of(ops, "layer0.ffn_up")].gemm.m, 16u);
  EXPECT_EQ(
      sfu_op(ops[index_of(ops, "layer0.ln1")], index_of(ops, "layer0.ln1"), t, LayerQuant{}, nullptr).rows,
      16u);

  LoweringOptions topk;
  topk.topk = 4;
  const auto tops = lower_batch(spec, lengths, topk);
  const BatchTensors tt = place_tensors(spec, tops, mm, 0, 0, 10 * 10);
  const Op& head = tops[index_of(tops, "layer0.seq1.head0.topk_attention")];
  const sfu::TopkOp o = topk_op(head, tt, d, LayerQuant{});
  const Tensor& tq = tt.out[index_of(tops, "layer0.q_proj")];
  EXPECT_EQ(o.l, 6u);
  EXPECT_EQ(o.q.address, tq.address + 10 * tq.stride);
  EXPECT_EQ(o.out.address, tt.layers[0].ctx.address + 10 * tt.layers[0].ctx.stride);
}

}  // namespace
}  // namespace tacsim::workloads
