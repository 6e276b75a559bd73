#pragma once
// The Azure LLM inference trace format (Azure Public Dataset, 2023; traces/README.md): a CSV with the header
// TIMESTAMP,ContextTokens,GeneratedTokens and one request per row, e.g.
//   2023-11-16 18:15:46.6805900,374,44
// timestamps in UTC with up to 9 decimals, never decreasing. Streams, one row at a time. Plain C++.
#include <array>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace tacsim::traces {

struct AzureRow {
  std::uint64_t arrival_ns = 0;  // since the first row's timestamp
  std::uint32_t context_tokens = 0;
  std::uint32_t generated_tokens = 0;
};

class AzureTraceReader {
 public:
  explicit AzureTraceReader(const std::string& path);
  // The next row; false at the end. A file without rows, a bad field or a timestamp before the previous
  // row's is an InputError naming the file and line.
  bool next(AzureRow& out);
  std::string location() const;  // "<path>:<line>" of the row last read
  std::uint64_t line() const { return line_no_; }

 private:
  std::string path_;
  std::ifstream in_;
  std::string line_;
  std::vector<std::string_view> fields_;
  std::uint64_t line_no_ = 0, rows_ = 0;
  std::array<std::size_t, 3> column_ = {0, 1, 2};  // fields of TIMESTAMP, ContextTokens, GeneratedTokens
  std::int64_t first_ns_ = 0, previous_ns_ = 0;
};

// "YYYY-MM-DD HH:MM:SS[.fraction]" (years 1900 to 2200) as nanoseconds since 1970-01-01 00:00:00; false
// when malformed.
bool parse_timestamp_ns(std::string_view s, std::int64_t& out);

}  // namespace tacsim::traces
