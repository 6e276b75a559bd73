// The run configuration (sim/config.h): an INI file, or --set overrides one per line (the first byte picks),
// resolved as `tacsim run` resolves them: keys, values, renames, presets, the model and cross-key rules.
#include <sstream>
#include <string>
#include <vector>

#include "sim/config.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  return tacsim::fuzz::guarded([&] {
    if (data[0] % 2 == 0) {
      tacsim::sim::resolve_config(tacsim::fuzz::as_file(data + 1, size - 1, "config", ".ini"), {});
    } else {
      std::vector<std::string> overrides;
      std::istringstream in(text);
      for (std::string line; std::getline(in, line);) overrides.push_back(line);
      tacsim::sim::resolve_config("", overrides);
    }
  });
}
