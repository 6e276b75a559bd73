#include "workloads/model.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "modules/common/error.h"
#include "tests/support/errors.h"

namespace tacsim::workloads {
namespace {

using testing_support::error_of;

namespace fs = std::filesystem;

const std::string kModelsDir = std::string(TACSIM_SOURCE_DIR) + "/workloads/models";

// A valid file; tests break one line of it.
std::string valid_text() {
  return "# a test model\n"     // line 1
         "name = tiny\n"        // 2
         "source = made up\n"   // 3
         "layers = 2\n"         // 4
         "hidden = 64\n"        // 5
         "heads = 4\n"          // 6
         "ffn = 256\n"          // 7
         "causal = false\n"     // 8
         "\n"                   // 9
         "max_seq_len = 128\n"  // 10
         "fixed_seq_len = 0\n"  // 11
         "activation = gelu\n"  // 12
         "norm = post\n";       // 13
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

// A fresh directory under the test temp dir, emptied first.
fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::path(testing::TempDir()) / ("tacsim_model_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

TEST(ModelZoo, ListsTheBundledModelsSorted) {
  const std::vector<std::string> expected = {"bert-base",  "bert-large", "bert-tiny", "distilbert",
                                             "gpt2-small", "tinybert-4", "vit-b16"};
  EXPECT_EQ(list_models(kModelsDir), expected);
}

TEST(ModelZoo, EveryBundledModelLoadsAndValidates) {
  const auto names = list_models(kModelsDir);
  ASSERT_FALSE(names.empty());
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    const ModelSpec spec = load_model(name, kModelsDir);
    EXPECT_EQ(spec.name, name);
    EXPECT_EQ(spec.validate(), "");
    EXPECT_FALSE(spec.source.empty());
    EXPECT_EQ(spec.activation, "gelu");
    EXPECT_EQ(spec.file, kModelsDir + "/" + name + ".model");
  }
}

TEST(ModelZoo, BundledShapesAreThePapers) {
  struct Expected {
    std::string name;
    std::uint32_t layers, hidden, heads, ffn, head_dim;
    bool causal;
    std::uint32_t max_seq_len, fixed_seq_len;
    NormPosition norm;
  };
  const std::vector<Expected> table = {
      {"bert-base", 12, 768, 12, 3072, 64, false, 512, 0, NormPosition::kPost},
      {"bert-large", 24, 1024, 16, 4096, 64, false, 512, 0, NormPosition::kPost},
      {"bert-tiny", 2, 128, 2, 512, 64, false, 512, 0, NormPosition::kPost},
      {"tinybert-4", 4, 312, 12, 1200, 26, false, 512, 0, NormPosition::kPost},
      {"distilbert", 6, 768, 12, 3072, 64, false, 512, 0, NormPosition::kPost},
      {"gpt2-small", 12, 768, 12, 3072, 64, true, 1024, 0, NormPosition::kPre},
      // 224^2 / 16^2 = 196 patches + the class token = 197
      {"vit-b16", 12, 768, 12, 3072, 64, false, 197, 197, NormPosition::kPre},
  };
  for (const auto& e : table) {
    SCOPED_TRACE(e.name);
    const ModelSpec s = load_model(e.name, kModelsDir);
    EXPECT_EQ(s.layers, e.layers);
    EXPECT_EQ(s.hidden, e.hidden);
    EXPECT_EQ(s.heads, e.heads);
    EXPECT_EQ(s.ffn, e.ffn);
    EXPECT_EQ(s.head_dim(), e.head_dim);
    EXPECT_EQ(s.causal, e.causal);
    EXPECT_EQ(s.max_seq_len, e.max_seq_len);
    EXPECT_EQ(s.fixed_seq_len, e.fixed_seq_len);
    EXPECT_EQ(s.norm, e.norm);
  }
}

TEST(ModelZoo, LoadsAPathDirectly) {
  const ModelSpec by_path = load_model(kModelsDir + "/distilbert.model", "/nonexistent");
  EXPECT_EQ(by_path.name, "distilbert");
  EXPECT_EQ(by_path.layers, 6u);

  const fs::path dir = scratch_dir("path");
  write_file(dir / "tiny.model", valid_text());
  const ModelSpec tiny = load_model((dir / "tiny.model").string(), kModelsDir);
  EXPECT_EQ(tiny.name, "tiny");
  EXPECT_EQ(tiny.hidden, 64u);
  EXPECT_EQ(tiny.head_dim(), 16u);
  // A user adds a model by adding a file: it then lists and loads by name.
  EXPECT_EQ(list_models(dir.string()), std::vector<std::string>{"tiny"});
  EXPECT_EQ(load_model("tiny", dir.string()).ffn, 256u);
}

TEST(ModelZoo, UnknownNameListsTheKnownOnes) {
  const std::string err = error_of([] { load_model("bert-huge", kModelsDir); });
  EXPECT_NE(err.find("model 'bert-huge': no file " + kModelsDir + "/bert-huge.model"), std::string::npos)
      << err;
  EXPECT_NE(
      err.find("known models: bert-base, bert-large, bert-tiny, distilbert, gpt2-small, tinybert-4, vit-b16"),
      std::string::npos)
      << err;
  EXPECT_EQ(error_of([] { load_model("/nonexistent/x.model", kModelsDir); }),
            "/nonexistent/x.model: cannot open model file");
  EXPECT_EQ(error_of([] { list_models("/nonexistent"); }), "/nonexistent: models directory not found");
}

TEST(ModelFile, ParsesCommentsAndBlankLines) {
  const ModelSpec s =
      parse_model(replace(valid_text(), "ffn = 256\n", "  ffn=256   # inner width\n\n"), "tiny.model");
  EXPECT_EQ(s.ffn, 256u);
  EXPECT_EQ(s.source, "made up");
  EXPECT_EQ(s.norm, NormPosition::kPost);
  EXPECT_EQ(parse_model(replace(valid_text(), "norm = post", "norm = pre"), "tiny.model").norm,
            NormPosition::kPre);
  EXPECT_TRUE(parse_model(replace(valid_text(), "causal = false", "causal = true"), "tiny.model").causal);
}

TEST(ModelFile, UnknownKeyNamesFileLineAndTheAllowedKeys) {
  EXPECT_EQ(error_of([] { parse_model(replace(valid_text(), "ffn = 256", "ffn_dim = 256"), "tiny.model"); }),
            "tiny.model:7: unknown key 'ffn_dim'; expected one of name, source, layers, hidden, heads, ffn, "
            "causal, "
            "max_seq_len, fixed_seq_len, activation, norm");
}

TEST(ModelFile, DuplicateKeyNamesBothLines) {
  EXPECT_EQ(error_of([] { parse_model(valid_text() + "hidden = 128\n", "tiny.model"); }),
            "tiny.model:14: hidden is set twice (first on line 5)");
}

TEST(ModelFile, MissingKeyIsNamed) {
  EXPECT_EQ(error_of([] { parse_model(replace(valid_text(), "heads = 4\n", ""), "tiny.model"); }),
            "tiny.model: missing key 'heads'");
  EXPECT_EQ(error_of([] { parse_model(replace(valid_text(), "source = made up\n", ""), "tiny.model"); }),
            "tiny.model: missing key 'source'");
}

TEST(ModelFile, NonNumericValueNamesLineAndKey) {
  EXPECT_EQ(
      error_of([] { parse_model(replace(valid_text(), "layers = 2", "layers = twelve"), "tiny.model"); }),
      "tiny.model:4: layers: expected a non-negative integer, got 'twelve'");
  EXPECT_EQ(error_of([] { parse_model(replace(valid_text(), "hidden = 64", "hidden = -64"), "tiny.model"); }),
            "tiny.model:5: hidden: expected a non-negative integer, got '-64'");
  EXPECT_EQ(
      error_of([] { parse_model(replace(valid_text(), "hidden = 64", "hidden = 64.0"), "tiny.model"); }),
      "tiny.model:5: hidden: expected a non-negative integer, got '64.0'");
  EXPECT_EQ(
      error_of([] { parse_model(replace(valid_text(), "ffn = 256", "ffn = 99999999999"), "tiny.model"); }),
      "tiny.model:7: ffn: expected a non-negative integer, got '99999999999'");
}

TEST(ModelFile, HiddenNotDivisibleByHeads) {
  EXPECT_EQ(error_of([] { parse_model(replace(valid_text(), "hidden = 64", "hidden = 66"), "tiny.model"); }),
            "tiny.model:5: hidden: must be a multiple of heads = 4, got 66");
}

TEST(ModelFile, OtherBadValues) {
  const auto err = [](const std::string& from, const std::string& to) {
    return error_of([&] { parse_model(replace(valid_text(), from, to), "tiny.model"); });
  };
  EXPECT_EQ(err("layers = 2", "layers = 0"), "tiny.model:4: layers: must be at least 1, got 0");
  EXPECT_EQ(err("ffn = 256", "ffn = 70000"), "tiny.model:7: ffn: must be at most 65536, got 70000");
  EXPECT_EQ(err("causal = false", "causal = yes"), "tiny.model:8: causal: expected true or false, got 'yes'");
  EXPECT_EQ(err("norm = post", "norm = sandwich"),
            "tiny.model:13: norm: expected post or pre, got 'sandwich'");
  EXPECT_EQ(err("activation = gelu", "activation = relu"),
            "tiny.model:12: activation: expected gelu, got 'relu'");
  EXPECT_EQ(err("fixed_seq_len = 0", "fixed_seq_len = 129"),
            "tiny.model:11: fixed_seq_len: must be 0 (any length) or at most max_seq_len = 128, got 129");
  EXPECT_EQ(err("name = tiny", "name = my model"),
            "tiny.model:2: name: expected letters, digits, '.', '_' or '-', got 'my model'");
  EXPECT_EQ(err("name = tiny", "name = other"),
            "tiny.model:2: name: must match the file name 'tiny', got 'other'");
  EXPECT_EQ(err("heads = 4", "heads 4"), "tiny.model:6: expected 'key = value', got 'heads 4'");
  EXPECT_EQ(err("heads = 4", "heads ="), "tiny.model:6: heads: missing value");
  EXPECT_EQ(err("heads = 4", "num heads = 4"),
            "tiny.model:6: expected a key name before '=', got 'num heads = 4'");
}

TEST(ModelFile, BadFileOnDiskIsReportedWithItsPath) {
  const fs::path dir = scratch_dir("bad");
  write_file(dir / "tiny.model", replace(valid_text(), "hidden = 64", "hidden = 66"));
  const std::string path = (dir / "tiny.model").string();
  EXPECT_EQ(error_of([&] { load_model("tiny", dir.string()); }),
            path + ":5: hidden: must be a multiple of heads = 4, got 66");
}

TEST(ModelSpec, SequenceLengths) {
  const ModelSpec vit = load_model("vit-b16", kModelsDir);
  EXPECT_EQ(vit.check_seq_len(197), "");
  EXPECT_EQ(vit.check_seq_len(128), "seq_len: model vit-b16 takes exactly 197 tokens, got 128");
  const ModelSpec bert = load_model("bert-base", kModelsDir);
  EXPECT_EQ(bert.check_seq_len(1), "");
  EXPECT_EQ(bert.check_seq_len(512), "");
  EXPECT_EQ(bert.check_seq_len(513), "seq_len: model bert-base takes at most 512 tokens, got 513");
  EXPECT_EQ(bert.check_seq_len(0), "seq_len: must be at least 1, got 0");
}

}  // namespace
}  // namespace tacsim::workloads
