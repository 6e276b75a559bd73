#pragma once
// The model zoo: a Transformer's shape, read from a `<name>.model` file in workloads/models/.
//
// File format: one `key = value` per line; `#` starts a comment anywhere on a line; blank lines are ignored.
// Every key below must appear exactly once; any other key is an error. Integers are decimal. A model is
// added by adding a file: its `name` must equal the file name without `.model`.
//   name           [A-Za-z0-9._-]+
//   source         free text: the paper (and table) or model card the figures come from
//   layers         encoder (or decoder) layers
//   hidden         model width; a multiple of heads
//   heads          attention heads; head_dim = hidden / heads
//   ffn            feed-forward inner width
//   causal         true | false: decoder self-attention (query i sees keys 0..i), lowered as a prefill
//   max_seq_len    longest sequence (position embeddings)
//   fixed_seq_len  0: any length 1..max_seq_len; else the only length (ViT: patches + class token)
//   activation     gelu (the SFU's only activation)
//   norm           post: x = LN(x + f(x)) (BERT); pre: x = x + f(LN(x)) (GPT-2, ViT)
#include <cstdint>
#include <string>
#include <vector>

namespace tacsim::workloads {

enum class NormPosition : std::uint8_t { kPost, kPre };

struct ModelSpec {
  std::string name;
  std::string source;
  std::uint32_t layers = 0;
  std::uint32_t hidden = 0;
  std::uint32_t heads = 0;
  std::uint32_t ffn = 0;
  bool causal = false;
  std::uint32_t max_seq_len = 0;
  std::uint32_t fixed_seq_len = 0;
  std::string activation = "gelu";
  NormPosition norm = NormPosition::kPost;
  std::string file;  // where it was read from, for messages; "" when built in code

  std::uint32_t head_dim() const { return heads == 0 ? 0 : hidden / heads; }
  // "" when valid, else a one-line message starting with the offending field's name.
  std::string validate() const;
  // "" when the model takes sequences of seq_len tokens, else why not (starts with "seq_len: ").
  std::string check_seq_len(std::uint32_t seq_len) const;
};

// Upper bounds that keep every MAC and byte count of a lowered model well inside 64 bits.
inline constexpr std::uint32_t kMaxModelWidth = 65536;  // hidden, ffn
inline constexpr std::uint32_t kMaxModelLayers = 4096;
inline constexpr std::uint32_t kMaxModelSeqLen = 1u << 20;

// A bare name ("bert-base") reads <models_dir>/<name>.model; anything containing '/' or ending in ".model"
// is a path, read as given. Throws InputError naming the file and line (or the file and the key) and what
// was expected: unreadable file, unknown model, malformed line, unknown or duplicate key, missing key, bad
// value, a spec that fails validate().
ModelSpec load_model(const std::string& name_or_path, const std::string& models_dir);
// The same parser on text already in memory; `file` names it in messages and is checked against `name`
// when it ends in ".model".
ModelSpec parse_model(const std::string& text, const std::string& file);
// Names of the `*.model` files in models_dir, sorted. Throws InputError when it is not a directory.
std::vector<std::string> list_models(const std::string& models_dir);

}  // namespace tacsim::workloads
