#include "tests/support/vcd_reader.h"

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

namespace tacsim::test {

std::string VcdVariable::value_at(std::uint64_t time) const {
  std::string v;
  for (const auto& c : changes) {
    if (c.time > time) break;
    v = c.value;
  }
  return v;
}

std::uint64_t VcdVariable::number(const std::string& value) {
  if (value.find_first_not_of("01") != std::string::npos || value.empty()) return ~std::uint64_t{0};
  return std::stoull(value, nullptr, 2);
}

const VcdVariable& VcdFile::at(const std::string& name) const {
  const auto it = variables.find(name);
  if (it == variables.end()) throw std::runtime_error("no variable " + name + " in the VCD");
  return it->second;
}

namespace {

class Tokens {
 public:
  Tokens(const std::string& path) : path_(path), in_(path) {
    if (!in_) throw std::runtime_error(path + ": cannot open");
  }
  // The next whitespace-separated token; false at the end.
  bool next(std::string& t) {
    while (!(ls_ >> t)) {
      std::string line;
      if (!std::getline(in_, line)) return false;
      ++line_;
      ls_.clear();
      ls_.str(line);
    }
    return true;
  }
  std::string expect() {
    std::string t;
    if (!next(t)) fail("unexpected end of file");
    return t;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(path_ + ":" + std::to_string(line_) + ": " + what);
  }

 private:
  std::string path_;
  std::ifstream in_;
  std::istringstream ls_;
  int line_ = 0;
};

}  // namespace

VcdFile read_vcd(const std::string& path) {
  Tokens tk(path);
  VcdFile f;
  std::vector<std::string> scopes;
  std::unordered_map<std::string, std::string> by_id;  // identifier -> variable name
  bool version = false;
  std::string t;
  // Header.
  for (;;) {
    t = tk.expect();
    if (t == "$enddefinitions") {
      if (tk.expect() != "$end") tk.fail("$enddefinitions without $end");
      break;
    }
    if (t == "$version" || t == "$date" || t == "$comment" || t == "$timescale") {
      std::string body;
      for (std::string w; (w = tk.expect()) != "$end";) body += w;
      if (t == "$version") version = true;
      if (t == "$timescale") {
        if (!std::regex_match(body, std::regex("(1|10|100)(s|ms|us|ns|ps|fs)")))
          tk.fail("bad timescale " + body);
        f.timescale = body;
      }
    } else if (t == "$scope") {
      tk.expect();  // module, task, ...
      scopes.push_back(tk.expect());
      if (tk.expect() != "$end") tk.fail("$scope without $end");
    } else if (t == "$upscope") {
      if (scopes.empty()) tk.fail("$upscope without an open scope");
      scopes.pop_back();
      if (tk.expect() != "$end") tk.fail("$upscope without $end");
    } else if (t == "$var") {
      VcdVariable v;
      v.type = tk.expect();
      const std::string size = tk.expect();
      if (size.empty() || size.find_first_not_of("0123456789") != std::string::npos)
        tk.fail("bad size " + size);
      v.width = static_cast<std::uint32_t>(std::stoul(size));
      const std::string id = tk.expect();
      std::string name = tk.expect();
      std::string w = tk.expect();
      if (w != "$end") {  // a bit range
        name += w;
        if (tk.expect() != "$end") tk.fail("$var without $end");
      }
      if (scopes.empty()) tk.fail("$var outside a scope");
      std::string full;
      for (const auto& s : scopes) full += s + ".";
      full += name;
      if (v.type != "string" && v.width == 0) tk.fail(full + ": width 0");
      if (!by_id.emplace(id, full).second) tk.fail("identifier " + id + " declared twice");
      v.name = full;
      if (!f.variables.emplace(full, v).second) tk.fail(full + " declared twice");
    } else {
      tk.fail("unexpected " + t + " in the header");
    }
  }
  if (!scopes.empty()) tk.fail("scopes left open at $enddefinitions");
  if (!version) tk.fail("no $version");
  if (f.timescale.empty()) tk.fail("no $timescale");
  if (f.variables.empty()) tk.fail("no variables");

  // Body.
  bool have_time = false;
  std::uint64_t now = 0;
  const auto variable = [&](const std::string& id) -> VcdVariable& {
    const auto it = by_id.find(id);
    if (it == by_id.end()) tk.fail("value change of undeclared identifier " + id);
    return f.variables.at(it->second);
  };
  const auto record = [&](VcdVariable& v, std::string value) {
    if (!have_time) tk.fail("a value change before the first time");
    v.changes.push_back({now, std::move(value)});
    ++f.value_changes;
  };
  while (tk.next(t)) {
    if (t[0] == '#') {
      const std::string n = t.substr(1);
      if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) tk.fail("bad time " + t);
      const std::uint64_t time = std::stoull(n);
      if (have_time && time <= now) tk.fail("time " + n + " does not increase");
      have_time = true;
      now = time;
      f.times.push_back(time);
    } else if (t == "$dumpvars" || t == "$end" || t == "$dumpall" || t == "$dumpon" || t == "$dumpoff") {
    } else if (t[0] == 'b' || t[0] == 'B') {
      const std::string bits = t.substr(1);
      VcdVariable& v = variable(tk.expect());
      if (bits.empty() || bits.find_first_not_of("01xXzZ") != std::string::npos)
        tk.fail("bad vector value " + t);
      if (v.type == "string") tk.fail(v.name + ": a vector value for a string");
      if (bits.size() > v.width)
        tk.fail(v.name + ": " + std::to_string(bits.size()) + " bits, declared " + std::to_string(v.width));
      // Normalise: no leading zeros, lower case, so files that pad (fst2vcd) compare equal.
      std::string norm = bits;
      for (char& c : norm) c = static_cast<char>(std::tolower(c));
      const auto first = norm.find_first_not_of('0');
      norm = first == std::string::npos ? "0" : norm.substr(first);
      record(v, norm);
    } else if (t[0] == 's' || t[0] == 'S') {
      VcdVariable& v = variable(tk.expect());
      if (v.type != "string") tk.fail(v.name + ": a string value for a " + v.type);
      record(v, t.substr(1));
    } else if (t[0] == 'r' || t[0] == 'R') {
      record(variable(tk.expect()), t.substr(1));
    } else if (std::string("01xXzZ").find(t[0]) != std::string::npos) {
      VcdVariable& v = variable(t.substr(1));
      if (v.width != 1) tk.fail(v.name + ": a scalar value for " + std::to_string(v.width) + " bits");
      record(v, std::string(1, static_cast<char>(std::tolower(t[0]))));
    } else {
      tk.fail("unexpected " + t);
    }
  }
  return f;
}

}  // namespace tacsim::test
