#include "workloads/model.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/text.h"

namespace tacsim::workloads {
namespace {

namespace fs = std::filesystem;

constexpr const char* kModelSuffix = ".model";

// The keys in the order a message lists them; every one is required.
const std::vector<std::string>& model_keys() {
  static const std::vector<std::string> keys = {"name",          "source",     "layers", "hidden",
                                                "heads",         "ffn",        "causal", "max_seq_len",
                                                "fixed_seq_len", "activation", "norm"};
  return keys;
}

bool valid_name(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

struct Entry {
  std::string value;
  int line = 0;
};

// Sets one field from its text; throws InputError prefixed with where ("file:line: ").
void apply(ModelSpec& spec, const std::string& key, const std::string& value, const std::string& where) {
  const auto u32 = [&](std::uint32_t& field) {
    if (const auto v = text::to_unsigned(value, 0xFFFFFFFFull))
      field = static_cast<std::uint32_t>(*v);
    else
      throw InputError(fmt::format("{}{}: expected a non-negative integer, got '{}'", where, key, value));
  };
  if (key == "name") {
    if (!valid_name(value))
      throw InputError(
          fmt::format("{}name: expected letters, digits, '.', '_' or '-', got '{}'", where, value));
    spec.name = value;
  } else if (key == "source") {
    spec.source = value;
  } else if (key == "layers") {
    u32(spec.layers);
  } else if (key == "hidden") {
    u32(spec.hidden);
  } else if (key == "heads") {
    u32(spec.heads);
  } else if (key == "ffn") {
    u32(spec.ffn);
  } else if (key == "max_seq_len") {
    u32(spec.max_seq_len);
  } else if (key == "fixed_seq_len") {
    u32(spec.fixed_seq_len);
  } else if (key == "causal") {
    if (value == "true") {
      spec.causal = true;
    } else if (value == "false") {
      spec.causal = false;
    } else {
      throw InputError(fmt::format("{}causal: expected true or false, got '{}'", where, value));
    }
  } else if (key == "activation") {
    spec.activation = value;  // validate() says what is allowed
  } else if (key == "norm") {
    if (value == "post") {
      spec.norm = NormPosition::kPost;
    } else if (value == "pre") {
      spec.norm = NormPosition::kPre;
    } else {
      throw InputError(fmt::format("{}norm: expected post or pre, got '{}'", where, value));
    }
  }
}

}  // namespace

std::string ModelSpec::validate() const {
  if (!valid_name(name))
    return fmt::format("name: expected letters, digits, '.', '_' or '-', got '{}'", name);
  if (source.empty()) return "source: must name the paper or model card the figures come from";
  const auto positive = [](const char* field, std::uint32_t v, std::uint32_t max) -> std::string {
    if (v == 0) return fmt::format("{}: must be at least 1, got 0", field);
    if (v > max) return fmt::format("{}: must be at most {}, got {}", field, max, v);
    return "";
  };
  for (const auto& msg :
       {positive("layers", layers, kMaxModelLayers), positive("hidden", hidden, kMaxModelWidth),
        positive("heads", heads, kMaxModelWidth), positive("ffn", ffn, kMaxModelWidth),
        positive("max_seq_len", max_seq_len, kMaxModelSeqLen)})
    if (!msg.empty()) return msg;
  if (hidden % heads != 0)
    return fmt::format("hidden: must be a multiple of heads = {}, got {}", heads, hidden);
  if (fixed_seq_len > max_seq_len)
    return fmt::format("fixed_seq_len: must be 0 (any length) or at most max_seq_len = {}, got {}",
                       max_seq_len, fixed_seq_len);
  if (activation != "gelu") return fmt::format("activation: expected gelu, got '{}'", activation);
  return "";
}

std::string ModelSpec::check_seq_len(std::uint32_t seq_len) const {
  if (seq_len == 0) return "seq_len: must be at least 1, got 0";
  if (fixed_seq_len != 0 && seq_len != fixed_seq_len)
    return fmt::format("seq_len: model {} takes exactly {} tokens, got {}", name, fixed_seq_len, seq_len);
  if (seq_len > max_seq_len)
    return fmt::format("seq_len: model {} takes at most {} tokens, got {}", name, max_seq_len, seq_len);
  return "";
}

ModelSpec parse_model(const std::string& contents, const std::string& file) {
  std::map<std::string, Entry> entries;
  std::istringstream in(contents);
  for (const auto& line : text::parse_key_values(in, file, text::KeyValueSyntax{})) {
    const auto& keys = model_keys();
    if (std::find(keys.begin(), keys.end(), line.key) == keys.end())
      throw InputError(fmt::format("{}:{}: unknown key '{}'; expected one of {}", file, line.line, line.key,
                                   text::join(keys)));
    entries[line.key] = Entry{line.value, line.line};
  }

  ModelSpec spec;
  spec.file = file;
  for (const auto& key : model_keys()) {
    const auto it = entries.find(key);
    if (it == entries.end()) throw InputError(fmt::format("{}: missing key '{}'", file, key));
    apply(spec, key, it->second.value, fmt::format("{}:{}: ", file, it->second.line));
  }
  // validate() starts its message with the field name, which is also the key: point at its line.
  if (const std::string err = spec.validate(); !err.empty()) {
    const auto it = entries.find(err.substr(0, err.find(':')));
    const std::string where = it == entries.end() ? file : fmt::format("{}:{}", file, it->second.line);
    throw InputError(fmt::format("{}: {}", where, err));
  }
  if (text::ends_with(file, kModelSuffix)) {
    const std::string stem = fs::path(file).filename().string();
    const std::string expected = stem.substr(0, stem.size() - std::string(kModelSuffix).size());
    if (spec.name != expected)
      throw InputError(fmt::format("{}:{}: name: must match the file name '{}', got '{}'", file,
                                   entries["name"].line, expected, spec.name));
  }
  return spec;
}

ModelSpec load_model(const std::string& name_or_path, const std::string& models_dir) {
  const bool is_path =
      name_or_path.find('/') != std::string::npos || text::ends_with(name_or_path, kModelSuffix);
  std::string path = name_or_path;
  if (!is_path) {
    if (!valid_name(name_or_path))
      throw InputError(
          fmt::format("model '{}': expected a model name or a path to a .model file", name_or_path));
    path = (fs::path(models_dir) / (name_or_path + kModelSuffix)).string();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      std::string known;
      try {
        known = text::join(list_models(models_dir));
      } catch (const InputError&) {
        known = "none: " + models_dir + " is not a directory";
      }
      throw InputError(fmt::format("model '{}': no file {}; known models: {}", name_or_path, path, known));
    }
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open model file", path));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_model(text.str(), path);
}

std::vector<std::string> list_models(const std::string& models_dir) {
  std::error_code ec;
  if (!fs::is_directory(models_dir, ec))
    throw InputError(fmt::format("{}: models directory not found", models_dir));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(models_dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (entry.is_regular_file() && text::ends_with(file, kModelSuffix) &&
        file.size() > std::string(kModelSuffix).size())
      names.push_back(file.substr(0, file.size() - std::string(kModelSuffix).size()));
  }
  if (ec) throw InputError(fmt::format("{}: cannot list models directory: {}", models_dir, ec.message()));
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace tacsim::workloads
