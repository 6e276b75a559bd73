#include "traces/dram_trace.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

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

}  // namespace

std::vector<DramRequest> read_dram_trace(const std::string& path, std::uint64_t capacity_bytes) {
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot open trace file", path));
  std::vector<DramRequest> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::istringstream fields(line);
    std::string addr, cmd, cyc, extra;
    if (!(fields >> addr) || addr[0] == '#') continue;
    const std::string where = fmt::format("{}:{}: ", path, n);
    if (!(fields >> cmd >> cyc) || (fields >> extra))
      throw InputError(where + fmt::format("expected '0x<hex address> READ|WRITE <cycle>', got '{}'", line));
    DramRequest r;
    if (!parse_hex(addr, r.address))
      throw InputError(where + fmt::format("expected a hex address like 0x1f40, got '{}'", addr));
    if (cmd == "READ")
      r.is_write = false;
    else if (cmd == "WRITE")
      r.is_write = true;
    else
      throw InputError(where + fmt::format("expected READ or WRITE, got '{}'", cmd));
    if (!parse_decimal(cyc, r.cycle)) throw InputError(where + fmt::format("expected a cycle number, got '{}'", cyc));
    if (!out.empty() && r.cycle < out.back().cycle)
      throw InputError(where + fmt::format("cycle {} is before the previous line's {}", r.cycle, out.back().cycle));
    if (r.address >= capacity_bytes)
      throw InputError(where + fmt::format("address {} is beyond the DRAM's capacity of {} bytes", addr,
                                           capacity_bytes));
    out.push_back(r);
  }
  if (in.bad()) throw InputError(fmt::format("{}: read error", path));
  return out;
}

}  // namespace tacsim::traces
