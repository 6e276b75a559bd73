#pragma once
// The one text layer for every input file and command-line value: trimming, lists, numbers with the key or
// file:line that holds them in the message, and line-oriented `key = value` files (configs, DRAM presets,
// model files, override lists). Errors are InputError (exit 2) with one line that says where and what was
// expected. Plain C++: no SystemC.
#include <cstdint>
#include <fstream>
#include <istream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tacsim::text {

std::string trim(std::string_view s);  // strips spaces, tabs, CR and LF at both ends
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);
std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");
// "a, b or c": the choices a message offers.
std::string one_of(const std::vector<std::string>& items);

// Decimal digits only, no sign or spaces, at most `max`; nullopt otherwise (overflow included).
std::optional<std::uint64_t> to_unsigned(std::string_view s,
                                         std::uint64_t max = std::numeric_limits<std::uint64_t>::max());
// A finite number in the whole of `s`; nullopt otherwise.
std::optional<double> to_double(std::string_view s);
// true/false, 1/0, yes/no, on/off.
std::optional<bool> to_bool(std::string_view s);

// The same, throwing InputError("<what>: expected ..., got '<s>'"); `what` names the key or file:line.
std::uint64_t parse_unsigned(std::string_view s, std::string_view what,
                             std::uint64_t max = std::numeric_limits<std::uint64_t>::max());
double parse_double(std::string_view s, std::string_view what);
bool parse_bool(std::string_view s, std::string_view what);

// "a, b,c" -> {"a", "b", "c"}, each item trimmed. An empty item (a trailing comma, ",,", or an empty
// string) is an error naming `what`: a list someone typed with a hole in it is a typo, not a default.
std::vector<std::string> split_list(std::string_view s, char sep, std::string_view what);

// One `key = value` line of a file, after comments and blank lines are gone.
struct KeyValueLine {
  int line = 0;
  std::string key;  // "section.name" when the file has [section] headers, else the name as written
  std::string value;
};

struct KeyValueSyntax {
  bool sections = false;                    // [section] headers qualify the keys after them
  std::string_view comments = "#";          // characters that start a comment anywhere on a line
  bool empty_values = false;                // `key =` with nothing after it is allowed
  bool duplicates = false;                  // a key may appear twice (the caller decides what that means)
  std::string_view form = "'key = value'";  // what a message says a line should look like
};

// Reads `key = value` lines. Throws InputError "<source>:<line>: ..." for a line that is not one (or a bad
// section header, or a key set twice unless allowed). `source` names the input in messages.
std::vector<KeyValueLine> parse_key_values(std::istream& in, const std::string& source,
                                           const KeyValueSyntax& syntax);
// The same from a file; a missing, unreadable or non-regular file (a folder) is an InputError naming it
// ("<path>: cannot open <what> (...)").
std::vector<KeyValueLine> read_key_values(const std::string& path, const KeyValueSyntax& syntax,
                                          std::string_view what = "file");

// Opens a regular file for reading; a missing, unreadable or non-regular file (a folder) is an InputError
// "<path>: cannot open <what> (...)".
std::ifstream open_input(const std::string& path, std::string_view what = "file");

// The closest candidate within a small edit distance, for "did you mean" hints; nullopt when none is close.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace tacsim::text
