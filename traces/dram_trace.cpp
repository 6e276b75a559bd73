#include "traces/dram_trace.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "modules/common/error.h"

namespace tacsim::traces {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_hex(std::string_view s, std::uint64_t& out) {
  if (s.size() < 3 || s.size() > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
  out = 0;
  for (std::size_t i = 2; i < s.size(); ++i) {
    const int d = hex_digit(s[i]);
    if (d < 0) return false;
    out = out << 4 | static_cast<std::uint64_t>(d);
  }
  return true;
}

bool parse_decimal(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (out > (UINT64_MAX - d) / 10) return false;  // out of range
    out = out * 10 + d;
  }
  return true;
}

// The blank-separated fields of a line, up to four (a fourth one is an error). No copies: every line of a
// long trace passes here.
int split(std::string_view line, std::string_view (&fields)[4]) {
  int n = 0;
  std::size_t i = 0;
  while (n < 4) {
    while (i < line.size() && is_blank(line[i])) ++i;
    if (i == line.size()) break;
    const std::size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    fields[n++] = line.substr(start, i - start);
  }
  return n;
}

// Hex digit values, and 16 for any other character: one load per character instead of three range tests.
constexpr auto kHexValue = [] {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = 16;
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<std::uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<std::uint8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<std::uint8_t>(c - 'A' + 10);
  return t;
}();

bool is_space_or_tab(char c) {
  return c == ' ' || c == '\t';
}

// The line every trace is made of, "0x<hex> READ|WRITE <decimal>", in one pass without splitting it first:
// about half the general path's work per line. Anything else (a comment, a blank line, a field out of
// range, an error) returns false and goes the general way, which accepts or names it. `address_text`: the
// address as written.
bool parse_common_line(std::string_view line, DramRequest& r, std::string_view& address_text) {
  const char* p = line.data();
  const char* const end = p + line.size();
  if (end - p < 3 || p[0] != '0' || (p[1] != 'x' && p[1] != 'X')) return false;
  p += 2;
  std::uint64_t address = 0;
  const char* const digits = p;
  for (unsigned d; p < end && (d = kHexValue[static_cast<unsigned char>(*p)]) < 16; ++p)
    address = address << 4 | d;
  if (p == digits || p - digits > 16 || p == end || !is_space_or_tab(*p)) return false;
  const std::string_view text = line.substr(0, static_cast<std::size_t>(p - line.data()));
  while (p < end && is_space_or_tab(*p)) ++p;
  bool is_write;
  if (end - p >= 5 && std::memcmp(p, "READ", 4) == 0 && is_space_or_tab(p[4])) {
    is_write = false;
    p += 4;
  } else if (end - p >= 6 && std::memcmp(p, "WRITE", 5) == 0 && is_space_or_tab(p[5])) {
    is_write = true;
    p += 5;
  } else {
    return false;
  }
  while (p < end && is_space_or_tab(*p)) ++p;
  std::uint64_t cycle = 0;
  const char* const decimals = p;
  for (; p < end && *p >= '0' && *p <= '9'; ++p) cycle = cycle * 10 + static_cast<std::uint64_t>(*p - '0');
  if (p == decimals || p - decimals > 19) return false;  // 19 digits cannot overflow 64 bits
  while (p < end && (is_space_or_tab(*p) || *p == '\r')) ++p;
  if (p != end) return false;
  r.address = address;
  r.is_write = is_write;
  r.cycle = cycle;
  address_text = text;
  return true;
}

}  // namespace

DramTraceReader::DramTraceReader(const std::string& path, std::uint64_t capacity_bytes)
    : path_(path), capacity_(capacity_bytes), in_(path, std::ios::binary), buffer_(std::size_t{1} << 16) {
  if (!in_) throw InputError(fmt::format("{}: cannot open trace file", path));
}

bool DramTraceReader::next_line(std::string_view& line) {
  for (;;) {
    const char* start = buffer_.data() + begin_;
    if (const void* nl = std::memchr(start, '\n', end_ - begin_)) {
      const auto len = static_cast<std::size_t>(static_cast<const char*>(nl) - start);
      line = std::string_view(start, len);
      begin_ += len + 1;
      return true;
    }
    if (eof_) {  // a last line without a newline
      if (begin_ == end_) return false;
      line = std::string_view(start, end_ - begin_);
      begin_ = end_;
      return true;
    }
    // Keep the partial line, make room for a block after it, and read.
    std::memmove(buffer_.data(), start, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    if (buffer_.size() - end_ < buffer_.size() / 2) buffer_.resize(buffer_.size() * 2);  // a very long line
    in_.read(buffer_.data() + end_, static_cast<std::streamsize>(buffer_.size() - end_));
    end_ += static_cast<std::size_t>(in_.gcount());
    if (in_.bad()) throw InputError(fmt::format("{}: read error", path_));
    if (!in_) eof_ = true;
  }
}

bool DramTraceReader::next(DramRequest& r) {
  std::string_view f[4];
  std::string_view line;
  while (next_line(line)) {
    ++line_number_;
    auto fail = [&](const std::string& what) {
      return InputError(fmt::format("{}:{}: {}", path_, line_number_, what));
    };
    std::string_view address;  // as written
    if (!parse_common_line(line, r, address)) {
      const int n = split(line, f);
      if (n == 0 || f[0][0] == '#') continue;
      if (n != 3) {
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        throw fail(fmt::format("expected '0x<hex address> READ|WRITE <cycle>', got '{}'", line));
      }
      if (!parse_hex(f[0], r.address))
        throw fail(fmt::format("expected a hex address like 0x1f40, got '{}'", f[0]));
      if (f[1] == "READ")
        r.is_write = false;
      else if (f[1] == "WRITE")
        r.is_write = true;
      else
        throw fail(fmt::format("expected READ or WRITE, got '{}'", f[1]));
      if (!parse_decimal(f[2], r.cycle)) throw fail(fmt::format("expected a cycle number, got '{}'", f[2]));
      address = f[0];
    }
    // An idle DRAM still refreshes every few thousand cycles, so a far-off arrival is minutes of simulation
    // of nothing: 1e10 cycles (10 s at 1 GHz) bounds it.
    if (r.cycle > kMaxTraceCycle)
      throw fail(fmt::format("cycle {} is beyond the last a trace may use ({}, 10 s at 1 GHz)", r.cycle,
                             kMaxTraceCycle));
    if (requests_ > 0 && r.cycle < last_cycle_)
      throw fail(fmt::format("cycle {} is before the previous line's {}", r.cycle, last_cycle_));
    if (r.address >= capacity_)
      throw fail(fmt::format("address {} is beyond the DRAM's capacity of {} bytes", address, capacity_));
    last_cycle_ = r.cycle;
    ++requests_;
    return true;
  }
  return false;
}

std::vector<DramRequest> read_dram_trace(const std::string& path, std::uint64_t capacity_bytes) {
  DramTraceReader reader(path, capacity_bytes);
  std::vector<DramRequest> out;
  DramRequest r;
  while (reader.next(r)) out.push_back(r);
  return out;
}

}  // namespace tacsim::traces
