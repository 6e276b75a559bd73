// Request traces (traces/request_trace.h): comments, directive, header, rows, under each length policy.
#include <memory>
#include <sstream>
#include <string>

#include "tests/fuzz/fuzz_support.h"
#include "traces/request_trace.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tacsim::traces;
  if (size == 0) return 0;
  // The first byte picks the length limit, so that truncate and drop are fuzzed too.
  LengthLimit limit;
  limit.max_len = data[0] % 4 == 0 ? 0 : 1u << (data[0] % 11);
  limit.policy = data[0] % 3 == 0 ? OverMax::kError : data[0] % 3 == 1 ? OverMax::kTruncate : OverMax::kDrop;
  return tacsim::fuzz::guarded([&] {
    RequestTraceReader reader(
        std::make_unique<std::istringstream>(std::string(reinterpret_cast<const char*>(data + 1), size - 1)),
        "fuzz.csv", limit);
    Request r;
    while (reader.next(r)) {
    }
  });
}
