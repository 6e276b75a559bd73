#pragma once
// A strict reader of the VCDs tacsim writes, for tests: it checks the header (version, timescale, balanced
// scopes, each variable declared once with a unique identifier), the body (times strictly increasing, every
// value change of a declared identifier, of its kind and width) and keeps every change. Throws
// std::runtime_error("<file>:<line>: <what is wrong>") at the first violation.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tacsim::test {

struct VcdChange {
  std::uint64_t time;  // in timescale units
  std::string value;   // as written: "1", "x", "101" (binary, no 'b'), or a string's text
};

struct VcdVariable {
  std::string name;  // hierarchical: scopes and the variable, joined by '.'
  std::string type;  // wire, reg, string, ...
  std::uint32_t width = 0;
  std::vector<VcdChange> changes;

  // The value at `time` ("" before the first change).
  std::string value_at(std::uint64_t time) const;
  // Binary values as numbers (x: ~0).
  static std::uint64_t number(const std::string& value);
};

struct VcdFile {
  std::string timescale;                         // "1ps"
  std::map<std::string, VcdVariable> variables;  // by hierarchical name
  std::vector<std::uint64_t> times;              // every #time, in order
  std::uint64_t value_changes = 0;

  const VcdVariable& at(const std::string& name) const;
};

VcdFile read_vcd(const std::string& path);

}  // namespace tacsim::test
