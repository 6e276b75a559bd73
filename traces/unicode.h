#pragma once
// The character classes and mappings of the BERT tokenizer (wordpiece.h), over all of Unicode 14.0, from
// tables generated out of Python's unicodedata (tools/make-unicode-tables), plus a strict UTF-8 codec.
// Plain C++.
#include <optional>
#include <string>
#include <string_view>

namespace tacsim::traces::unicode {

// Decodes UTF-8; on malformed input (a bad or truncated sequence, an overlong form, a surrogate, a code point
// beyond U+10FFFF) returns nullopt and sets `bad_offset` to the byte where decoding failed.
std::optional<std::u32string> decode_utf8(std::string_view bytes, std::size_t& bad_offset);
void append_utf8(char32_t c, std::string& out);

bool is_whitespace(char32_t c);     // space, \t, \n, \r and category Zs
bool is_control(char32_t c);        // categories Cc, Cf, Co, Cs, except \t, \n, \r (they are whitespace)
bool is_punctuation(char32_t c);    // every printable ASCII non-alphanumeric, and categories P*
bool is_cjk_ideograph(char32_t c);  // the CJK Unified Ideographs blocks (and compatibility ideographs)

// Lowercase as Python's str.lower(), except the final-sigma rule (a final capital sigma becomes σ, not ς).
void append_lower(char32_t c, std::u32string& out);
// Canonical decomposition (NFD) without the nonspacing marks (category Mn): "é" -> "e", "한" -> its jamo.
void append_without_accents(char32_t c, std::u32string& out);

}  // namespace tacsim::traces::unicode
