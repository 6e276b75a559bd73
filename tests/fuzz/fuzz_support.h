#pragma once
// What every parser harness shares. A harness feeds one input to one parser: an InputError is the parser
// doing its job (bad input, one clear message); anything else escaping it, a crash, a sanitizer report or a
// hang is a finding. Built two ways (tests/fuzz/CMakeLists.txt): with clang's libFuzzer (`make fuzz`), and
// as a replay program that runs the seed corpora and the regression inputs in every test run.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include <unistd.h>

#include "modules/common/error.h"

// libsystemc.so's main() calls sc_main, which the linker wants defined; these programs have their own main
// (libFuzzer's or replay_main.cpp's). Weak: one harness file per program defines it.
extern "C" __attribute__((weak)) int sc_main(int, char**) {
  return 0;
}

namespace tacsim::fuzz {

template <class Parse>
int guarded(Parse parse) {
  try {
    parse();
  } catch (const InputError&) {
  }
  return 0;
}

// Parsers that read a path get the input as a file of their own (one per process and harness).
inline std::string as_file(const std::uint8_t* data, std::size_t size, const char* harness, const char* ext) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/tacsim-fuzz-" + harness + "-" +
                           std::to_string(::getpid()) + ext;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return path;
}

}  // namespace tacsim::fuzz
