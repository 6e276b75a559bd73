#include "traces/azure_trace.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "traces/request_trace.h"

namespace tacsim::traces {

namespace {

constexpr std::array<std::string_view, 3> kHeader = {"TIMESTAMP", "ContextTokens", "GeneratedTokens"};

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// Days from 1970-01-01 to a date of the proleptic Gregorian calendar, counted in 400-year eras of 146,097
// days from 0000-03-01 (so a leap day ends its year).
std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t year_of_era = y - era * 400;
  const std::int64_t day_of_year = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;  // 719,468 days from 0000-03-01 to 1970-01-01
}

}  // namespace

bool parse_timestamp_ns(std::string_view s, std::int64_t& out) {
  int y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || s[10] != ' ' || !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) ||
      s[16] != ':' || !digits(s, 17, 2, sec))
    return false;
  static constexpr int kMonthDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  // Signed 64-bit nanoseconds from 1970 reach from 1677 to 2262.
  if (y < 1900 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > kMonthDays[mo - 1] || h > 23 || mi > 59 ||
      sec > 60)
    return false;
  std::int64_t fraction_ns = 0;
  if (s.size() > 19) {
    const std::string_view f = s.substr(20);
    if (s[19] != '.' || f.empty() || f.size() > 9) return false;
    for (char c : f) {
      if (c < '0' || c > '9') return false;
      fraction_ns = fraction_ns * 10 + (c - '0');
    }
    for (std::size_t i = f.size(); i < 9; ++i) fraction_ns *= 10;
  }
  const std::int64_t seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
  out = seconds * 1'000'000'000 + fraction_ns;
  return true;
}

AzureTraceReader::AzureTraceReader(const std::string& path)
    : path_(path), in_(text::open_input(path, "Azure trace")) {
  while (std::getline(in_, line_)) {
    ++line_no_;
    const std::string t = text::trim(line_);
    if (t.empty()) continue;
    // The three columns, each once, in any order.
    std::vector<std::string_view> names;
    split_csv_fields(t, names);
    std::array<bool, kHeader.size()> seen{};
    bool ok = names.size() == kHeader.size();
    for (std::size_t i = 0; ok && i < names.size(); ++i) {
      const auto k =
          static_cast<std::size_t>(std::find(kHeader.begin(), kHeader.end(), names[i]) - kHeader.begin());
      ok = k < kHeader.size() && !seen[k];
      if (!ok) break;
      seen[k] = true;
      column_[k] = i;
    }
    if (!ok)
      throw InputError(fmt::format(
          "{}: expected the header TIMESTAMP,ContextTokens,GeneratedTokens, got '{}'", location(), t));
    return;
  }
  throw InputError(
      fmt::format("{}:{}: empty trace: expected the header TIMESTAMP,ContextTokens,GeneratedTokens", path_,
                  line_no_ + 1));
}

std::string AzureTraceReader::location() const {
  return fmt::format("{}:{}", path_, line_no_);
}

bool AzureTraceReader::next(AzureRow& out) {
  while (std::getline(in_, line_)) {
    ++line_no_;
    const std::string t = text::trim(line_);
    if (t.empty()) continue;
    split_csv_fields(t, fields_);
    const auto& fields = fields_;
    const std::string where = location() + ": ";
    if (fields.size() != kHeader.size())
      throw InputError(
          where +
          fmt::format("expected 3 fields (TIMESTAMP,ContextTokens,GeneratedTokens), got {}", fields.size()));
    std::int64_t ns = 0;
    const std::string_view time = fields[column_[0]];
    if (!parse_timestamp_ns(time, ns))
      throw InputError(where +
                       fmt::format("TIMESTAMP: expected 'YYYY-MM-DD HH:MM:SS.fraction', got '{}'", time));
    const auto context = text::to_unsigned(fields[column_[1]], kMaxTraceSeqLen);
    if (!context || *context == 0)
      throw InputError(where +
                       fmt::format("ContextTokens: expected a positive number of tokens up to {}, got '{}'",
                                   kMaxTraceSeqLen, fields[column_[1]]));
    const auto generated = text::to_unsigned(fields[column_[2]], kMaxTraceSeqLen);
    if (!generated)
      throw InputError(where + fmt::format("GeneratedTokens: expected a number of tokens up to {}, got '{}'",
                                           kMaxTraceSeqLen, fields[column_[2]]));
    if (rows_ == 0) first_ns_ = previous_ns_ = ns;
    if (ns < previous_ns_)
      throw InputError(
          where +
          fmt::format("TIMESTAMP {} is before the previous row's (arrivals must not decrease)", time));
    if (static_cast<std::uint64_t>(ns - first_ns_) > kMaxArrivalNs)
      throw InputError(where + fmt::format("TIMESTAMP {} is more than 2^62 ns after the first row's", time));
    previous_ns_ = ns;
    ++rows_;
    out.arrival_ns = static_cast<std::uint64_t>(ns - first_ns_);
    out.context_tokens = static_cast<std::uint32_t>(*context);
    out.generated_tokens = static_cast<std::uint32_t>(*generated);
    return true;
  }
  if (in_.bad()) throw InputError(fmt::format("{}: read error", path_));
  if (rows_ == 0)
    throw InputError(fmt::format("{}:{}: expected request rows after the header, found the end of the file",
                                 path_, line_no_ + 1));
  return false;
}

}  // namespace tacsim::traces
