#pragma once
// BERT's tokenizer, to turn text into sequence lengths: the basic tokenizer (drop control characters, split
// on whitespace, put CJK ideographs and punctuation in tokens of their own, lowercase and strip accents for
// an uncased vocabulary), then WordPiece (greedy longest match first, "##" marks a continuation; a word with
// no match, or longer than `max_word_chars` characters, is one unknown token). It follows the reference
// implementation (Devlin et al. 2019; Hugging Face's BertTokenizer), with the differences traces/README.md
// lists. Plain C++.
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace tacsim::traces {

// The basic tokenizer alone. Throws InputError("byte N: ...") on malformed UTF-8.
std::vector<std::string> basic_tokenize(std::string_view utf8, bool lower_case);

struct TokenizerParams {
  bool lower_case = true;  // an uncased vocabulary (bert-base-uncased): lowercase and strip accents
  std::string unknown_token = "[UNK]";
  std::size_t max_word_chars = 100;  // longer words are one unknown token
};

class WordPieceTokenizer {
 public:
  // `vocab`: the vocabulary's tokens; continuations spelled "##piece". It must hold the unknown token.
  WordPieceTokenizer(const std::vector<std::string>& vocab, const TokenizerParams& params = {});
  // A vocab.txt (one token per line); an unreadable file, an empty line or no unknown token is an InputError
  // naming the file (and line).
  static WordPieceTokenizer from_file(const std::string& path, const TokenizerParams& params = {});

  std::vector<std::string> tokenize(std::string_view utf8) const;
  // The model's sequence length for this text: its tokens plus [CLS] and [SEP].
  std::size_t sequence_length(std::string_view utf8) const { return tokenize(utf8).size() + 2; }

 private:
  void word_pieces(const std::string& word, std::vector<std::string>& out) const;

  TokenizerParams params_;
  std::unordered_set<std::string> vocab_;
};

}  // namespace tacsim::traces
