// DRAMsim3-format traces (traces/dram_trace.h), read in blocks from a file as memtest reads them.
#include "tests/fuzz/fuzz_support.h"
#include "traces/dram_trace.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = tacsim::fuzz::as_file(data, size, "dram-trace", ".trace");
  return tacsim::fuzz::guarded([&] {
    tacsim::traces::DramTraceReader reader(path, std::uint64_t{1} << 32);
    tacsim::traces::DramRequest r;
    while (reader.next(r)) {
    }
  });
}
