#include "traces/wordpiece.h"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "traces/unicode.h"

namespace tacsim::traces {

namespace {

// The reference's _clean_text and _tokenize_chinese_chars: drop NUL, U+FFFD and control characters, turn
// whitespace into spaces, surround CJK ideographs with spaces.
std::u32string clean(const std::u32string& in) {
  std::u32string out;
  out.reserve(in.size());
  for (char32_t c : in) {
    if (c == 0 || c == 0xFFFD || unicode::is_control(c)) continue;
    if (unicode::is_whitespace(c)) {
      out.push_back(' ');
    } else if (unicode::is_cjk_ideograph(c)) {
      out.push_back(' ');
      out.push_back(c);
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string utf8(std::u32string_view s) {
  std::string out;
  for (char32_t c : s) unicode::append_utf8(c, out);
  return out;
}

// One whitespace-separated word: lowercased and stripped of accents, then cut at each punctuation character.
void split_word(std::u32string_view word, bool lower_case, std::vector<std::string>& out) {
  std::u32string w(word);
  if (lower_case) {
    std::u32string lower, plain;
    for (char32_t c : w) unicode::append_lower(c, lower);
    for (char32_t c : lower) unicode::append_without_accents(c, plain);
    w = std::move(plain);
  }
  std::size_t start = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (!unicode::is_punctuation(w[i])) continue;
    if (i > start) out.push_back(utf8(std::u32string_view(w).substr(start, i - start)));
    out.push_back(utf8(std::u32string_view(w).substr(i, 1)));
    start = i + 1;
  }
  if (start < w.size()) out.push_back(utf8(std::u32string_view(w).substr(start)));
}

}  // namespace

std::vector<std::string> basic_tokenize(std::string_view bytes, bool lower_case) {
  std::size_t bad = 0;
  const auto decoded = unicode::decode_utf8(bytes, bad);
  if (!decoded) throw InputError(fmt::format("byte {}: expected UTF-8 text", bad + 1));
  const std::u32string s = clean(*decoded);
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    const std::size_t end = std::min(s.find(U' ', start), s.size());
    if (end > start) split_word(std::u32string_view(s).substr(start, end - start), lower_case, out);
    start = end + 1;
  }
  return out;
}

WordPieceTokenizer::WordPieceTokenizer(const std::vector<std::string>& vocab, const TokenizerParams& params)
    : params_(params), vocab_(vocab.begin(), vocab.end()) {
  if (!vocab_.count(params_.unknown_token))
    throw InputError(fmt::format("vocabulary: has no unknown token '{}'", params_.unknown_token));
}

WordPieceTokenizer WordPieceTokenizer::from_file(const std::string& path, const TokenizerParams& params) {
  std::ifstream in = text::open_input(path, "vocabulary");
  std::vector<std::string> vocab;
  std::string line;
  for (std::uint64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) throw InputError(fmt::format("{}:{}: expected a token, got an empty line", path, n));
    vocab.push_back(line);
  }
  if (in.bad()) throw InputError(fmt::format("{}: read error", path));
  try {
    return WordPieceTokenizer(vocab, params);
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", path, e.what()));
  }
}

std::vector<std::string> WordPieceTokenizer::tokenize(std::string_view bytes) const {
  std::vector<std::string> out;
  for (const std::string& word : basic_tokenize(bytes, params_.lower_case)) word_pieces(word, out);
  return out;
}

void WordPieceTokenizer::word_pieces(const std::string& word, std::vector<std::string>& out) const {
  // Byte offset of each character, so a piece of characters [a, b) is word.substr(at[a], at[b] - at[a]).
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < word.size(); ++i)
    if ((static_cast<unsigned char>(word[i]) & 0xC0) != 0x80) at.push_back(i);
  const std::size_t chars = at.size();
  at.push_back(word.size());
  if (chars > params_.max_word_chars) {
    out.push_back(params_.unknown_token);
    return;
  }
  const std::size_t first = out.size();
  std::string piece;
  for (std::size_t start = 0; start < chars;) {
    std::size_t end = chars;
    for (; end > start; --end) {
      piece = start > 0 ? "##" : "";
      piece.append(word, at[start], at[end] - at[start]);
      if (vocab_.count(piece)) break;
    }
    if (end == start) {  // no piece matches: the whole word is unknown
      out.resize(first);
      out.push_back(params_.unknown_token);
      return;
    }
    out.push_back(piece);
    start = end;
  }
}

}  // namespace tacsim::traces
