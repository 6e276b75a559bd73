#include "traces/dram_trace.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "modules/common/error.h"

namespace tacsim::traces {

namespace {

bool parse_hex(const std::string& s, std::uint64_t& out) {
  if (s.size() < 3 || s.size() > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
  if (s.find_first_not_of("0123456789abcdefABCDEF", 2) != std::string::npos) return false;
  out = std::strtoull(s.c_str() + 2, nullptr, 16);
  return true;
}

bool parse_decimal(const std::string& s, std::uint64_t& out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return false;
  errno = 0;
  out = std::strtoull(s.c_str(), nullptr, 10);
  return errno != ERANGE;
}

// The blank-separated fields of a line, up to four (a fourth one is an error).
int split(const std::string& line, std::string (&fields)[4]) {
  int n = 0;
  std::size_t i = 0;
  while (n < 4) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i == line.size()) break;
    const std::size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    fields[n++].assign(line, start, i - start);
  }
  return n;
}

}  // namespace

DramTraceReader::DramTraceReader(const std::string& path, std::uint64_t capacity_bytes)
    : path_(path), capacity_(capacity_bytes), in_(path) {
  if (!in_) throw InputError(fmt::format("{}: cannot open trace file", path));
}

bool DramTraceReader::next(DramRequest& r) {
  std::string f[4];
  while (std::getline(in_, line_)) {
    ++line_number_;
    const int n = split(line_, f);
    if (n == 0 || f[0][0] == '#') continue;
    const std::string where = fmt::format("{}:{}: ", path_, line_number_);
    if (n != 3) throw InputError(where + fmt::format("expected '0x<hex address> READ|WRITE <cycle>', got '{}'", line_));
    if (!parse_hex(f[0], r.address))
      throw InputError(where + fmt::format("expected a hex address like 0x1f40, got '{}'", f[0]));
    if (f[1] == "READ")
      r.is_write = false;
    else if (f[1] == "WRITE")
      r.is_write = true;
    else
      throw InputError(where + fmt::format("expected READ or WRITE, got '{}'", f[1]));
    if (!parse_decimal(f[2], r.cycle)) throw InputError(where + fmt::format("expected a cycle number, got '{}'", f[2]));
    if (requests_ > 0 && r.cycle < last_cycle_)
      throw InputError(where + fmt::format("cycle {} is before the previous line's {}", r.cycle, last_cycle_));
    if (r.address >= capacity_)
      throw InputError(where + fmt::format("address {} is beyond the DRAM's capacity of {} bytes", f[0], capacity_));
    last_cycle_ = r.cycle;
    ++requests_;
    return true;
  }
  if (in_.bad()) throw InputError(fmt::format("{}: read error", path_));
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
