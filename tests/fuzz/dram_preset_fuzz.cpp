// DRAM presets (modules/dram/dram_params.h): device and [controller] fields, then validate().
#include "modules/dram/dram_params.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = tacsim::fuzz::as_file(data, size, "dram-preset", ".ini");
  return tacsim::fuzz::guarded([&] { tacsim::dram::load_preset_file(path); });
}
