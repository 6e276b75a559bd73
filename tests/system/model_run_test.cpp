// `tacsim run --model`: a Transformer lowered to operations and run one after another; with sim.check=true
// every layer's output is compared with a C++ reference of the whole layer.
#include "tests/support/system_test.h"

namespace {

using namespace tacsim::testing_support;

class ModelRun : public SystemTest {
 protected:
  // A bool .npy (format 1.0) of `rows` x `cols`, kept where keep(r, c); with `descr` '|i1', int8 values.
  template <class Keep>
  static void write_mask(const fs::path& path, int rows, int cols, Keep keep,
                         const std::string& descr = "|b1") {
    std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" +
                         std::to_string(rows) + ", " + std::to_string(cols) + "), }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::ofstream f(path, std::ios::binary);
    f << "\x93NUMPY" << char(1) << char(0) << char(header.size() & 0xff) << char(header.size() >> 8)
      << header;
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) f << static_cast<char>(keep(r, c));
  }
  // A one-layer BERT-style model (hidden 64, ffn 128) and a folder of masks for its six matrices.
  template <class Keep>
  fs::path masks_for_small_model(const std::string& name, Keep keep) {
    const fs::path folder = dir_ / name;
    fs::create_directories(folder);
    const std::pair<const char*, std::pair<int, int>> shapes[] = {
        {"q_proj", {64, 64}},   {"k_proj", {64, 64}},  {"v_proj", {64, 64}},
        {"out_proj", {64, 64}}, {"ffn_up", {128, 64}}, {"ffn_down", {64, 128}}};
    for (const auto& [role, nk] : shapes)
      write_mask(folder / ("layer0." + std::string(role) + ".npy"), nk.first, nk.second, keep);
    return folder;
  }
  std::string small_model() {
    const fs::path model = dir_ / "small-bert.model";
    std::ofstream(model)
        << "name = small-bert\nsource = test: BERT's structure (Devlin et al. 2019), narrow\n"
           "layers = 1\nhidden = 64\nheads = 4\nffn = 128\ncausal = false\nmax_seq_len = 512\n"
           "fixed_seq_len = 0\nactivation = gelu\nnorm = post\n";
    return model.string();
  }
  // One layer of BERT-base's shape (Devlin et al. 2019: hidden 768, 12 heads, ffn 3,072), up to 1,024 tokens:
  // a twelfth of BERT-base's run, so a test can afford its long sequences.
  std::string bert_base_layer() {
    const fs::path model = dir_ / "bert-base-layer.model";
    std::ofstream(model)
        << "name = bert-base-layer\nsource = test: one layer of BERT-base (Devlin et al. 2019)\n"
           "layers = 1\nhidden = 768\nheads = 12\nffn = 3072\ncausal = false\n"
           "max_seq_len = 1024\nfixed_seq_len = 0\nactivation = gelu\nnorm = post\n";
    return model.string();
  }
  int run(const std::string& args, const std::string& out, std::string* err = nullptr) {
    const Result r = tacsim("run -q " + args + " --out " + (dir_ / out).string());
    if (err) *err = r.err;
    return r.code;
  }
  std::vector<std::string> csv_lines(const std::string& out) {
    std::istringstream s(slurp(dir_ / out / "ops.csv"));
    std::vector<std::string> lines;
    for (std::string l; std::getline(s, l);) lines.push_back(l);
    return lines;
  }
};

TEST_F(ModelRun, TinyBertRunsEveryOperationInOrder) {
  ASSERT_EQ(run("--model tinybert-4 --seq-len 16", "t"), 0);
  const auto s = stats("t")["summary"];
  const auto lines = csv_lines("t");
  // TinyBERT-4: 4 layers x (Q, K, V + 12 heads x (scores, softmax, context) + out, add, norm, up, GELU, down,
  // add, norm) = 4 x (3 + 36 + 8) = 188 operations, one row each after the header.
  ASSERT_EQ(lines.size(), 189u);
  EXPECT_EQ(s["check"], "off");
  EXPECT_EQ(s["requests"], 1);
  // Operations run one after another (16 tokens: one attention block, nothing overlaps): their cycles add up
  // to the run's. An operation's stalls lie within its own cycles (idle time before it is nobody's stall).
  std::uint64_t sum = 0, by_kind = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::istringstream f(lines[i]);
    std::vector<std::string> cells;
    for (std::string cell; std::getline(f, cell, ',');) cells.push_back(cell);
    const std::uint64_t cycles = std::stoull(cells[9]);
    sum += cycles;
    EXPECT_LE(std::stoull(cells[13]) + std::stoull(cells[14]) + std::stoull(cells[15]), cycles) << lines[i];
  }
  EXPECT_EQ(sum, s["cycles"].get<std::uint64_t>());
  for (const char* k : {"weight_gemm", "scores", "softmax", "context", "residual_add", "layernorm", "gelu"})
    by_kind += s["busy_cycles_" + std::string(k)].get<std::uint64_t>();
  EXPECT_EQ(by_kind, s["cycles"].get<std::uint64_t>());
  // Dense-equivalent MACs per layer: 4 L h^2 + 2 L^2 h + 2 L h f = 4*16*312^2 + 2*16^2*312 + 2*16*312*1200.
  EXPECT_EQ(s["dense_macs"], 4ull * (4ull * 16 * 312 * 312 + 2ull * 16 * 16 * 312 + 2ull * 16 * 312 * 1200));
  EXPECT_TRUE(stats("t")["modules"].contains("accel.engine0.sfu"));
  // layers.csv: one row per layer; the layers' cycles add up to the run's too.
  std::istringstream layers(slurp(dir_ / "t" / "layers.csv"));
  std::string line;
  std::getline(layers, line);
  std::uint64_t layer_sum = 0;
  int n = 0;
  while (std::getline(layers, line)) {
    layer_sum += std::stoull(line.substr(line.find(',') + 1));
    ++n;
  }
  EXPECT_EQ(n, 4);
  EXPECT_EQ(layer_sum, s["cycles"].get<std::uint64_t>());
}

TEST_F(ModelRun, SameInputSameStatsAndSparseWeightsHelp) {
  ASSERT_EQ(run("--model tinybert-4 --seq-len 24 --batch 2 --set sparsity.weights=dense", "a"), 0);
  ASSERT_EQ(run("--model tinybert-4 --seq-len 24 --batch 2 --set sparsity.weights=dense", "b"), 0);
  auto a = stats("a"), b = stats("b");
  a.erase("host");
  b.erase("host");
  EXPECT_EQ(a.dump(), b.dump());
  EXPECT_EQ(a["summary"]["requests"], 2);
  EXPECT_EQ(slurp(dir_ / "a" / "ops.csv"), slurp(dir_ / "b" / "ops.csv"));
  ASSERT_EQ(run("--model tinybert-4 --seq-len 24 --batch 2 --set sparsity.weights=2:4", "s"), 0);
  EXPECT_LT(stats("s")["summary"]["busy_cycles_weight_gemm"].get<std::uint64_t>(),
            a["summary"]["busy_cycles_weight_gemm"].get<std::uint64_t>());
  EXPECT_LT(stats("s")["summary"]["weight_bytes"].get<std::uint64_t>(),
            a["summary"]["weight_bytes"].get<std::uint64_t>());
}

TEST_F(ModelRun, AttentionStaysOnChipWhenItFits) {
  // TinyBERT at L = 32: a head's scores are 32 x 32 x 4 = 4 KiB.
  ASSERT_EQ(run("--model tinybert-4 --seq-len 32", "on"), 0);
  ASSERT_EQ(run("--model tinybert-4 --seq-len 32 --set model.attention_on_chip=false", "off"), 0);
  ASSERT_EQ(run("--model tinybert-4 --seq-len 32 --set sfu.score_buffer_kib=2", "small"),
            0);  // 4 KiB do not fit
  const auto on = stats("on")["summary"], off = stats("off")["summary"], small = stats("small")["summary"];
  EXPECT_LT(on["dram_bytes"].get<std::uint64_t>(), off["dram_bytes"].get<std::uint64_t>());
  EXPECT_LT(on["cycles"].get<std::uint64_t>(), off["cycles"].get<std::uint64_t>());
  EXPECT_EQ(small["cycles"], off["cycles"]);
  // Softmax rows move no DRAM bytes on chip: column 12 of ops.csv.
  for (const auto& line : csv_lines("on")) {
    if (line.find(",softmax,") == std::string::npos) continue;
    std::istringstream f(line);
    std::string cell;
    for (int c = 0; c <= 12; ++c) std::getline(f, cell, ',');
    ASSERT_EQ(cell, "0") << line;
  }
}

TEST_F(ModelRun, CausalPrefillAndHpWeights) {
  ASSERT_EQ(run("--model gpt2-small --seq-len 8 --set sparsity.weights=hp", "g"), 0);
  const auto s = stats("g")["summary"];
  EXPECT_EQ(s["bank_conflict_cycles"], 0);
  EXPECT_GT(s["busy_cycles_softmax"].get<std::uint64_t>(), 0u);
}

TEST_F(ModelRun, SoftmaxIsPipelinedWithTheArray) {
  // 128 tokens in blocks of 32 rows: each block's softmax runs while the array computes the neighbouring
  // blocks' S.V and Q.K^T. Whole-head blocks run the three one after the other.
  ASSERT_EQ(run("--model tinybert-4 --seq-len 128", "pipe"), 0);
  ASSERT_EQ(run("--model tinybert-4 --seq-len 128 --set model.attention_block_rows=128", "whole"), 0);
  const auto pipe = stats("pipe")["summary"], whole = stats("whole")["summary"];
  EXPECT_LT(pipe["cycles"].get<std::uint64_t>(), whole["cycles"].get<std::uint64_t>());
  // Operations overlap: their busy cycles add up to more than the run; the layers' spans add up to it.
  std::uint64_t busy = 0;
  for (const char* k : {"weight_gemm", "scores", "softmax", "context", "residual_add", "layernorm", "gelu"})
    busy += pipe["busy_cycles_" + std::string(k)].get<std::uint64_t>();
  EXPECT_GT(busy, pipe["cycles"].get<std::uint64_t>());
  std::istringstream layers(slurp(dir_ / "pipe" / "layers.csv"));
  std::string line;
  std::getline(layers, line);
  std::uint64_t span = 0;
  while (std::getline(layers, line)) span += std::stoull(line.substr(line.find(',') + 1));
  EXPECT_EQ(span, pipe["cycles"].get<std::uint64_t>());
  // On chip, the softmax moves no DRAM bytes, and the operations account for every byte the memory moved.
  EXPECT_EQ(pipe["dram_bytes_softmax"], 0);
}

TEST_F(ModelRun, TinyBertPassesTheFullValueCheck) {
  // The criterion: TinyBERT-4, dense and 2:4, bit-exact against the reference of every layer.
  for (const std::string w : {"dense", "2:4"}) {
    const std::string args = "--model tinybert-4 --seq-len 64 --set sparsity.weights=" + w;
    ASSERT_EQ(run(args + " --set sim.check=true", "on"), 0);
    ASSERT_EQ(run(args, "off"), 0);
    EXPECT_EQ(stats("on")["summary"]["check"], "pass") << w;
    EXPECT_EQ(stats("off")["summary"]["check"], "off");
    // Timing does not depend on values.
    EXPECT_EQ(slurp(dir_ / "on" / "ops.csv"), slurp(dir_ / "off" / "ops.csv")) << w;
  }
}

TEST_F(ModelRun, CausalPreNormValuesThroughRowBlocks) {
  // GPT-2's structure at a small width, 300 tokens: each head runs on chip in pipelined blocks of 32 query
  // rows (two blocks of 32 x 300 int32 scores, 76.8 KB, fit a 128 KiB score buffer; the whole head would
  // not).
  const fs::path model = dir_ / "tiny-gpt.model";
  std::ofstream(model) << "name = tiny-gpt\nsource = test: GPT-2's structure (Radford et al. 2019), narrow\n"
                          "layers = 2\nhidden = 64\nheads = 4\nffn = 256\ncausal = true\nmax_seq_len = 1024\n"
                          "fixed_seq_len = 0\nactivation = gelu\nnorm = pre\n";
  const std::string args = "--model " + model.string() +
                           " --seq-len 300,45 --set sparsity.weights=2:8 "
                           "--set sim.check=true --set sfu.score_buffer_kib=128";
  ASSERT_EQ(run(args, "blocks"), 0);
  ASSERT_EQ(run(args + " --set model.attention_on_chip=false", "dram"), 0);
  const auto blocks = stats("blocks")["summary"], dram = stats("dram")["summary"];
  EXPECT_EQ(blocks["check"], "pass");
  EXPECT_EQ(dram["check"], "pass");
  EXPECT_LT(blocks["dram_bytes"].get<std::uint64_t>(), dram["dram_bytes"].get<std::uint64_t>());
  // The first head's Q.K^T ran as ceil(300 / 32) = 10 blocks of at most 32 query rows: its tiling says so.
  for (const auto& line : csv_lines("blocks"))
    if (line.find(",layer0.head0.qk,") != std::string::npos) {
      EXPECT_NE(line.find("\"GEMM 32x300x16 dense:"), std::string::npos) << line;
      break;
    }
}

TEST_F(ModelRun, NpyMasksOfAPrunedModelDriveTheRun) {
  const std::string model = "--model " + small_model() + " --seq-len 48 ";
  // Unstructured: where the non-zeros are sets the decoder's walk, so a sparser mask runs faster.
  const auto m90 = masks_for_small_model("m90", [](int r, int c) { return (r * 7 + c * 13) % 10 == 0; });
  const auto m50 = masks_for_small_model("m50", [](int r, int c) { return (r + c) % 2 == 0; });
  ASSERT_EQ(run(model + "--set sparsity.weights=unstructured --set sparsity.masks=" + m90.string(), "u90"),
            0);
  ASSERT_EQ(run(model + "--set sparsity.weights=unstructured --set sparsity.masks=" + m50.string(), "u50"),
            0);
  EXPECT_LT(stats("u90")["summary"]["busy_cycles_weight_gemm"].get<std::uint64_t>(),
            stats("u50")["summary"]["busy_cycles_weight_gemm"].get<std::uint64_t>());
  // 2:4 masks: values through the run keep exactly the mask's weights, and the check passes.
  const auto m24 =
      masks_for_small_model("m24", [](int r, int c) { return c % 4 == r % 4 || c % 4 == (r + 1) % 4; });
  ASSERT_EQ(
      run(model + "--set sparsity.weights=2:4 --set sim.check=true --set sparsity.masks=" + m24.string(),
          "nm"),
      0);
  EXPECT_EQ(stats("nm")["summary"]["check"], "pass");
  // A quantised model's int8 weights (zero where pruned): their values go through the checked run.
  const fs::path w8 = dir_ / "w8";
  fs::create_directories(w8);
  for (const auto& f : fs::directory_iterator(m24)) {
    const std::string name = f.path().filename().string();
    const bool up = name.find("ffn_up") != std::string::npos,
               down = name.find("ffn_down") != std::string::npos;
    write_mask(
        w8 / name, up ? 128 : 64, down ? 128 : 64,
        [](int r, int c) {
          return (c % 4 == r % 4 || c % 4 == (r + 1) % 4) ? (r * 31 + c * 17) % 255 - 127 : 0;
        },
        "|i1");
  }
  ASSERT_EQ(run(model + "--set sparsity.weights=2:4 --check --set sparsity.masks=" + w8.string(), "w8-run"),
            0);
  EXPECT_EQ(stats("w8-run")["summary"]["check"], "pass");
  // A mask that breaks 2:4, a missing file and a wrong shape name the file.
  std::string err;
  const auto bad = masks_for_small_model("bad", [](int, int c) { return c % 4 != 3; });
  EXPECT_EQ(run(model + "--set sparsity.weights=2:4 --set sparsity.masks=" + bad.string(), "x", &err), 2);
  EXPECT_EQ(err, "tacsim: " + (bad / "layer0.q_proj.npy").string() +
                     ": row 0, columns 0..3 keep 3 weights; layer0.q_proj is 2:4 (at most 2 of every 4)\n");
  fs::remove(m24 / "layer0.ffn_down.npy");
  EXPECT_EQ(run(model + "--set sparsity.masks=" + m24.string(), "x", &err), 2);
  EXPECT_NE(err.find((m24 / "layer0.ffn_down.npy").string()), std::string::npos) << err;
  write_mask(m24 / "layer0.ffn_down.npy", 128, 64, [](int, int) { return true; });
  EXPECT_EQ(run(model + "--set sparsity.masks=" + m24.string(), "x", &err), 2);
  EXPECT_NE(err.find("shape (128, 64), expected (64, 128)"), std::string::npos) << err;
  // An HP run needs masks with HP's bank property: m50 keeps every other column, 8 of each 16-column block
  // row, in distinct banks; but the 16 rows the 16 row engines process together then read each of the 16
  // banks 8 times, and a bank serves 4 reads a cycle.
  EXPECT_EQ(run(model + "--set sparsity.weights=hp --set sparsity.masks=" + m50.string(), "x", &err), 2);
  EXPECT_EQ(err,
            "tacsim: " + (m50 / "layer0.q_proj.npy").string() +
                ": the mask breaks the HP bank property: rows 0..15 (processed together), cols 0..15: bank 0 "
                "holds 8 of their entries, more than the 4 reads a bank serves in a cycle (ports_per_bank) "
                "(16 block segments break it)\n");
  // With 8 ports it is HP.
  EXPECT_EQ(run(model + "--set sparsity.weights=hp --set act_buffer.ports_per_bank=8 --set sparsity.masks=" +
                    m50.string(),
                "hp50"),
            0);
  EXPECT_FALSE(fs::exists(dir_ / "x" / "stats.json"));
}

TEST_F(ModelRun, TopkAttentionRunsOnItsUnit) {
  // Each head's Q.K^T, softmax and S.V become one operation on the top-k unit; values pass the check.
  ASSERT_EQ(run("--model tinybert-4 --seq-len 64 --set model.topk=16 --check", "k16"), 0);
  const auto s = stats("k16");
  EXPECT_EQ(s["summary"]["check"], "pass");
  EXPECT_GT(s["summary"]["busy_cycles_topk_attention"].get<std::uint64_t>(), 0u);
  EXPECT_FALSE(s["summary"].contains("busy_cycles_softmax"));
  EXPECT_EQ(s["modules"]["accel.engine0.topk_unit"]["heads"], 4 * 12);
  // The unit's work grows with the keys it keeps: S.V MACs are L x kept x d per head.
  EXPECT_EQ(s["modules"]["accel.engine0.topk_unit"]["sv_macs"], 48ull * 64 * 16 * 26);
  ASSERT_EQ(run("--model tinybert-4 --seq-len 64 --set model.topk=48", "k48"), 0);
  EXPECT_GT(stats("k48")["summary"]["busy_cycles_topk_attention"].get<std::uint64_t>(),
            s["summary"]["busy_cycles_topk_attention"].get<std::uint64_t>());
}

TEST_F(ModelRun, TopkAttentionBeatsDenseAt512TokensAndGrowsLinearly) {
  // The default unit (1,280 int8-MAC equivalents) against dense attention on the 4,096-MAC array and the
  // softmax unit, on a BERT-base layer: at 512 tokens top-k attention (k = 32) takes at least 2x fewer
  // cycles, and from 512 to 1,024 tokens it grows about 2x (16 cycles a query), where dense grows over 3x.
  const std::string model = "--model " + bert_base_layer();
  auto attention = [&](const std::string& out) {
    const auto s = stats(out)["summary"];
    if (s.contains("busy_cycles_topk_attention")) return s["busy_cycles_topk_attention"].get<double>();
    return s["busy_cycles_scores"].get<double>() + s["busy_cycles_softmax"].get<double>() +
           s["busy_cycles_context"].get<double>();
  };
  for (int len : {512, 1024}) {
    const std::string l = std::to_string(len);
    ASSERT_EQ(run(model + " --seq-len " + l, "dense" + l), 0);
    ASSERT_EQ(run(model + " --seq-len " + l + " --set model.topk=32", "topk" + l), 0);
  }
  EXPECT_GE(attention("dense512") / attention("topk512"), 2.0);
  EXPECT_LT(stats("topk512")["summary"]["cycles"], stats("dense512")["summary"]["cycles"]);
  const double topk_growth = attention("topk1024") / attention("topk512");
  EXPECT_GT(topk_growth, 1.9);
  EXPECT_LT(topk_growth, 2.1);
  EXPECT_GT(attention("dense1024") / attention("dense512"), 3.0);
}

TEST_F(ModelRun, HpBertLayerFitsTheDefaultBuffersAndBeatsDense) {
  // A BERT-base layer at 128 tokens, 90 % HP weights, default buffers (ffn_down's 3,072-long reduction takes
  // fewer tokens a tile): fewer cycles than dense weights on the array and than unstructured weights of the
  // same density on the HP datapath.
  const std::string model = "--model " + bert_base_layer() + " --seq-len 128 --set sparsity.weights=";
  ASSERT_EQ(run(model + "hp", "hp"), 0);
  ASSERT_EQ(run(model + "dense", "dense"), 0);
  ASSERT_EQ(run(model + "unstructured", "un"), 0);
  const auto h = stats("hp")["summary"];
  EXPECT_EQ(h["bank_conflict_cycles"], 0);
  EXPECT_LT(h["cycles"].get<double>(), 0.6 * stats("dense")["summary"]["cycles"].get<double>());
  EXPECT_LT(h["cycles"], stats("un")["summary"]["cycles"]);
  EXPECT_GT(stats("un")["summary"]["bank_conflict_cycles"].get<std::uint64_t>(), 0u);
}

TEST_F(ModelRun, CausalTopkAttentionPassesTheValueCheck) {
  // GPT-2's prefill on the top-k unit: query i ranks keys 0..i and keeps min(8, i + 1) of them, and every
  // layer's output equals the reference's.
  ASSERT_EQ(run("--model gpt2-small --seq-len 16 --set model.topk=8 --check", "g8"), 0);
  const auto s = stats("g8");
  EXPECT_EQ(s["summary"]["check"], "pass");
  // S.V MACs: sum over the 16 queries of min(8, i + 1) = 36 + 8 x 8 = 100 kept keys, x d 64, x 144 heads.
  EXPECT_EQ(s["modules"]["accel.engine0.topk_unit"]["sv_macs"], 100ull * 64 * 144);
  // LUT products: the visible keys, 1 + 2 + ... + 16 = 136 per head, x d 64, x 144 heads.
  EXPECT_EQ(s["modules"]["accel.engine0.topk_unit"]["lut_products"], 136ull * 64 * 144);
}

TEST_F(ModelRun, BadInput) {
  std::string err;
  EXPECT_EQ(run("--model no-such-model", "x", &err), 2);
  EXPECT_EQ(err.rfind("tacsim: model 'no-such-model': no file ", 0), 0u) << err;
  EXPECT_EQ(run("--model vit-b16 --seq-len 128", "x", &err), 2);
  EXPECT_EQ(err,
            "tacsim: config: model.seq_lens: seq_len: model vit-b16 takes exactly 197 tokens, got 128\n");
  EXPECT_EQ(run("--model tinybert-4 --seq-len 16,x", "x", &err), 2);
  EXPECT_EQ(err,
            "tacsim: config: model.seq_lens: expected positive lengths separated by commas, got '16,x'\n");
  EXPECT_EQ(run("--model tinybert-4 --seq-len 16 --set sparsity.weights=1:16", "x", &err), 2);
  EXPECT_EQ(err.rfind("tacsim: config: sparsity.weights: 1:16 does not fit layer0.q_proj", 0), 0u) << err;
  // A GEMM that cannot be mapped names the operation and the buffer.
  EXPECT_EQ(run("--model tinybert-4 --seq-len 16 --set out_buffer.capacity_kib=1", "x", &err), 2);
  EXPECT_EQ(
      err.rfind(
          "tacsim: model: layer0.head0.qk: out_buffer.capacity_kib: a 16x16 tile of int32 outputs needs", 0),
      0u)
      << err;
  EXPECT_EQ(run("--model tinybert-4 --seq-len 16 --set sparsity.weights=hp --set sim.check=true", "x", &err),
            2);
  EXPECT_EQ(err.rfind("tacsim: config: sim.check: model runs check values with dense and N:M weights", 0), 0u)
      << err;
  EXPECT_FALSE(fs::exists(dir_ / "x" / "stats.json"));
}

}  // namespace
