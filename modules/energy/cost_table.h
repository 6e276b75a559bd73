#pragma once
// A technology node's prices, read from a data file (modules/energy/tables/<name>.ini): the energy of one
// action in pJ ([energy]), the area of one unit in um^2 ([area]), and the DRAM devices' currents and
// voltages ([dram.<preset>]). Each line carries its source in its comment. Plain C++: no SystemC.
#include <map>
#include <string>
#include <vector>

namespace tacsim::energy {

class CostTable {
 public:
  // Throws InputError naming the file and line for a line that is not `key = number`.
  static CostTable load(const std::string& path);
  // The same from text; `source` names it in messages (tests).
  static CostTable parse(const std::string& text, const std::string& source);

  // The value of "section.name"; a missing one is an InputError naming the action and the table:
  // "<source>: no figure for 'energy.int8_mult' (the price of pe_array.multiply)".
  double at(const std::string& key, const std::string& action) const;
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  // The keys under "prefix." whose remainder is the whole key after it, in file order.
  std::vector<std::string> keys_under(const std::string& prefix) const;
  const std::string& source() const { return source_; }

 private:
  std::map<std::string, double> values_;
  std::vector<std::string> order_;
  std::string source_;
};

// SRAM energy per 64-bit access of a bank of `bank_kib`, from the table's points "<prefix>.<size>kib"
// (e.g. energy.sram_read_64b.8kib): log-linear in the size between points, the nearest point's figure outside
// them. No point at all is an InputError naming `action`.
double sram_access_pj(const CostTable& table, const std::string& prefix, double bank_kib,
                      const std::string& action);

}  // namespace tacsim::energy
