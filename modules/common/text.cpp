#include "modules/common/text.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "modules/common/error.h"

namespace tacsim::text {

namespace {
constexpr std::string_view kSpace = " \t\r\n";
}  // namespace

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(kSpace);
  return std::string(s.substr(b, e - b + 1));
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string one_of(const std::vector<std::string>& items) {
  if (items.size() < 2) return join(items);
  return join(std::vector<std::string>(items.begin(), items.end() - 1)) + " or " + items.back();
}

std::optional<std::uint64_t> to_unsigned(std::string_view s, std::uint64_t max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (v > max) return std::nullopt;
  return v;
}

std::optional<double> to_double(std::string_view s) {
  const std::string t(s);
  if (t.empty() || std::isspace(static_cast<unsigned char>(t.front()))) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || !std::isfinite(v) || errno == ERANGE) return std::nullopt;
  return v;
}

std::optional<bool> to_bool(std::string_view s) {
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  return std::nullopt;
}

std::uint64_t parse_unsigned(std::string_view s, std::string_view what, std::uint64_t max) {
  if (const auto v = to_unsigned(s, max)) return *v;
  throw InputError(fmt::format("{}: expected an unsigned integer up to {}, got '{}'", what, max, s));
}

double parse_double(std::string_view s, std::string_view what) {
  if (const auto v = to_double(s)) return *v;
  throw InputError(fmt::format("{}: expected a number, got '{}'", what, s));
}

bool parse_bool(std::string_view s, std::string_view what) {
  if (const auto v = to_bool(s)) return *v;
  throw InputError(fmt::format("{}: expected true or false, got '{}'", what, s));
}

std::vector<std::string> split_list(std::string_view s, char sep, std::string_view what) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto end = s.find(sep, start);
    std::string item =
        trim(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (item.empty())
      throw InputError(
          fmt::format("{}: empty item in the list '{}' (items are separated by '{}', without a "
                      "trailing one)",
                      what, s, sep));
    out.push_back(std::move(item));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

std::vector<KeyValueLine> parse_key_values(std::istream& in, const std::string& source,
                                           const KeyValueSyntax& syntax) {
  std::vector<KeyValueLine> out;
  std::map<std::string, int> first_line;
  std::string raw, section;
  for (int n = 1; std::getline(in, raw); ++n) {
    const std::string where = fmt::format("{}:{}: ", source, n);
    const auto comment = raw.find_first_of(syntax.comments);
    const std::string t = trim(std::string_view(raw).substr(0, comment));
    if (t.empty()) continue;
    if (syntax.sections && t.front() == '[') {
      if (t.back() != ']' || t.size() < 3 || t.find_first_of(" \t=[]", 1) != t.size() - 1)
        throw InputError(where + fmt::format("expected a section header like [pe_array], got '{}'", t));
      section = t.substr(1, t.size() - 2);
      continue;
    }
    const auto eq = t.find('=');
    if (eq == std::string::npos)
      throw InputError(where + fmt::format("expected {}{}, got '{}'", syntax.form,
                                           syntax.sections ? " or '[section]'" : "", t));
    const std::string name = trim(std::string_view(t).substr(0, eq));
    std::string value = trim(std::string_view(t).substr(eq + 1));
    if (name.empty() || name.find_first_of(" \t") != std::string::npos)
      throw InputError(where + fmt::format("expected a key name before '=', got '{}'", t));
    if (value.empty() && !syntax.empty_values)
      throw InputError(where + fmt::format("{}: missing value", name));
    const std::string key = section.empty() ? name : section + "." + name;
    if (!syntax.duplicates) {
      if (const auto it = first_line.find(key); it != first_line.end())
        throw InputError(where + fmt::format("{} is set twice (first on line {})", key, it->second));
      first_line[key] = n;
    }
    out.push_back({n, key, std::move(value)});
  }
  return out;
}

std::ifstream open_input(const std::string& path, std::string_view what) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    throw InputError(fmt::format("{}: cannot open {} (no such file)", path, what));
  if (!std::filesystem::is_regular_file(status))
    throw InputError(fmt::format("{}: cannot open {} (not a regular file)", path, what));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open {} (not readable)", path, what));
  return in;
}

std::vector<KeyValueLine> read_key_values(const std::string& path, const KeyValueSyntax& syntax,
                                          std::string_view what) {
  std::ifstream in = open_input(path, what);
  return parse_key_values(in, path, syntax);
}

std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates) {
  // Levenshtein distance; a candidate within a third of the word's length (at least 2 edits) is close.
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diag = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        const std::size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diag = up;
      }
    }
    return row[b.size()];
  };
  std::optional<std::string> best;
  std::size_t best_d = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

}  // namespace tacsim::text
