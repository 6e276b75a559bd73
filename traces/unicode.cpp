#include "traces/unicode.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace tacsim::traces::unicode {

namespace {

struct Range {
  char32_t first, last;
};
struct LowercaseRun {
  char32_t first, last;
  std::uint32_t stride;
  std::int32_t delta;
};
struct Stripped {
  char32_t from;
  char32_t to[3];  // 0 ends a shorter result
};

#include "traces/unicode_tables.inc"

template <std::size_t N>
bool in(const Range (&table)[N], char32_t c) {
  // The first range that ends at or after c holds it, if any does.
  const Range* r = std::lower_bound(std::begin(table), std::end(table), c,
                                    [](const Range& x, char32_t v) { return x.last < v; });
  return r != std::end(table) && r->first <= c;
}

// A UTF-8 lead byte: the length of its sequence, its payload bits and the smallest code point that needs
// that length; length 0 for a byte that cannot start a character.
struct Lead {
  std::size_t length;
  char32_t bits, min;
};

Lead lead_of(unsigned char b) {
  if (b < 0x80) return {1, b, 0};
  if ((b & 0xE0) == 0xC0) return {2, b & 0x1Fu, 0x80};
  if ((b & 0xF0) == 0xE0) return {3, b & 0x0Fu, 0x800};
  if ((b & 0xF8) == 0xF0) return {4, b & 0x07u, 0x10000};
  return {0, 0, 0};
}

// Hangul syllables decompose by formula (Unicode 14.0, section 3.12): initial, medial and optional final
// jamo.
constexpr char32_t kHangulFirst = 0xAC00, kHangulLast = 0xD7A3;
constexpr char32_t kLeadFirst = 0x1100, kVowelFirst = 0x1161, kTrailBase = 0x11A7;
constexpr std::uint32_t kVowels = 21, kTrails = 28;

}  // namespace

std::optional<std::u32string> decode_utf8(std::string_view bytes, std::size_t& bad_offset) {
  std::u32string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    const Lead lead = lead_of(static_cast<unsigned char>(bytes[i]));
    bool ok = lead.length > 0 && i + lead.length <= bytes.size();
    char32_t c = lead.bits;
    for (std::size_t k = 1; ok && k < lead.length; ++k) {
      const auto b = static_cast<unsigned char>(bytes[i + k]);
      ok = (b & 0xC0) == 0x80;
      c = (c << 6) | (b & 0x3F);
    }
    // Overlong forms, surrogates and code points beyond Unicode's are malformed too.
    ok = ok && c >= lead.min && c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF);
    if (!ok) {
      bad_offset = i;
      return std::nullopt;
    }
    out.push_back(c);
    i += lead.length;
  }
  return out;
}

void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

bool is_whitespace(char32_t c) {
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return true;
  return c >= 0x80 && in(kSpaceSeparators, c);
}

bool is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return in(kControls, c);
}

bool is_punctuation(char32_t c) {
  // BERT counts every ASCII symbol ($, +, ^, ...) as punctuation, though Unicode files some under S*.
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
    return true;
  return c >= 0x80 && in(kPunctuation, c);
}

bool is_cjk_ideograph(char32_t c) {
  // The blocks the reference BERT tokenizer splits character by character (Korean and Japanese kana are not
  // among them).
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void append_lower(char32_t c, std::u32string& out) {
  if (c < 0x80) {
    out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  if (c == 0x130) {  // İ: the one lowercase of two characters, i and a combining dot above
    out.push_back('i');
    out.push_back(0x307);
    return;
  }
  const LowercaseRun* r = std::lower_bound(std::begin(kLowercase), std::end(kLowercase), c,
                                           [](const LowercaseRun& x, char32_t v) { return x.last < v; });
  if (r != std::end(kLowercase) && r->first <= c && (c - r->first) % r->stride == 0)
    out.push_back(static_cast<char32_t>(static_cast<std::int64_t>(c) + r->delta));
  else
    out.push_back(c);
}

void append_without_accents(char32_t c, std::u32string& out) {
  if (c < 0xC0) {  // nothing below À decomposes or is a mark
    out.push_back(c);
    return;
  }
  if (c >= kHangulFirst && c <= kHangulLast) {
    const std::uint32_t s = c - kHangulFirst;
    out.push_back(kLeadFirst + s / (kVowels * kTrails));
    out.push_back(kVowelFirst + (s % (kVowels * kTrails)) / kTrails);
    if (s % kTrails != 0) out.push_back(kTrailBase + s % kTrails);
    return;
  }
  if (in(kNonspacingMarks, c)) return;
  const Stripped* s = std::lower_bound(std::begin(kStripped), std::end(kStripped), c,
                                       [](const Stripped& x, char32_t v) { return x.from < v; });
  if (s == std::end(kStripped) || s->from != c) {
    out.push_back(c);
    return;
  }
  for (char32_t t : s->to)
    if (t != 0) out.push_back(t);
}

}  // namespace tacsim::traces::unicode
