#pragma once
// The key table: every config key a user can set, declared once with its unit and meaning and bound to one
// field of a module's Params (sim/config.h). Parsing a value only checks its form (a number, a name from a
// list); ranges and cross-key rules belong to each Params::validate(), run when the configuration resolves.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/config.h"

namespace tacsim::sim {

// The commands a key means something to; --help of each command lists only its keys.
enum class KeyScope { kRun, kMemtest, kBoth };

struct ConfigKey {
  std::string key;  // "section.name"
  std::string unit;
  std::string description;
  // Sets the field from text; throws InputError("<where><key>: expected ...") naming what was expected.
  std::function<void(const std::string& value, const std::string& where)> parse;
  std::function<std::string()> show;
  KeyScope scope = KeyScope::kRun;
  // For a field a preset supplies (dram.<field>): the name of the preset key whose value it defaults to.
  std::string preset_key;
};

// The keys of a config, bound to its fields, in the order they are documented and written.
std::vector<ConfigKey> config_keys(SimConfig& cfg);

// Keys that were renamed: the old name and the new one, so an old config gets a message naming the new key.
std::optional<std::string> renamed_key(const std::string& old_key);

}  // namespace tacsim::sim
