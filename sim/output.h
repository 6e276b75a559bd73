#pragma once
// Result files are written whole or not at all: to a temporary name in the same folder, then renamed.
#include <string>

namespace tacsim::sim {

// Creates the folder if needed and proves it writable; throws InputError naming it otherwise.
void prepare_output_dir(const std::string& dir);
// Writes `text` to dir/name through dir/.name.tmp and a rename; throws InputError on failure.
void write_file_atomic(const std::string& dir, const std::string& name, const std::string& text);

}  // namespace tacsim::sim
