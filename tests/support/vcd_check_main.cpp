// vcd_check FILE [--repeats-ok]: checks a VCD with the tests' strict reader (vcd_reader.h) and prints, per
// variable, its name, type, width and number of value changes, sorted by name, then the total. A change that
// repeats the variable's value is an error unless --repeats-ok (tacsim writes a value only when it changes).
// Exit 0 when the file is valid, 1 with the first problem on stderr otherwise. The GTKWave round trip
// compares the listings of the original and of vcd2fst + fst2vcd's copy.
#include <cstring>
#include <iostream>
#include <string>

#include "tests/support/vcd_reader.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3 || (argc == 3 && std::strcmp(argv[2], "--repeats-ok") != 0)) {
    std::cerr << "usage: vcd_check FILE [--repeats-ok]\n";
    return 2;
  }
  try {
    const auto f = tacsim::test::read_vcd(argv[1]);
    for (const auto& [name, v] : f.variables) {
      if (argc == 2)
        for (std::size_t i = 1; i < v.changes.size(); ++i)
          if (v.changes[i].value == v.changes[i - 1].value)
            throw std::runtime_error(std::string(argv[1]) + ": " + name + " repeats its value " +
                                     v.changes[i].value + " at time " + std::to_string(v.changes[i].time));
      // A string's declared size means nothing (tacsim writes 1, fst2vcd 0).
      std::cout << name << ' ' << v.type << ' '
                << (v.type == "string" ? std::string("-") : std::to_string(v.width)) << ' '
                << v.changes.size() << '\n';
    }
    std::cout << "total " << f.variables.size() << " variables " << f.value_changes << " changes "
              << f.times.size() << " times, timescale " << f.timescale << '\n';
  } catch (const std::exception& e) {
    std::cerr << "vcd_check: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
