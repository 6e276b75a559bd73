#pragma once
// Result files are written whole or not at all: to a temporary name in the same folder, then renamed.
#include <fstream>
#include <string>
#include <string_view>

namespace tacsim::sim {

// Creates the folder if needed and proves it writable; throws InputError naming it otherwise.
void prepare_output_dir(const std::string& dir);
// Writes `text` to dir/name through dir/.name.tmp and a rename; throws InputError on failure.
void write_file_atomic(const std::string& dir, const std::string& name, const std::string& text);

// A result file written as the run goes (a trace's requests.csv may be large): into dir/.name.tmp, renamed to
// dir/name by commit(). One never committed is removed when destroyed, so a failed run leaves the previous
// result in place.
class StreamedFile {
 public:
  StreamedFile(const std::string& dir, const std::string& name);  // throws InputError when it cannot
  ~StreamedFile();
  StreamedFile(const StreamedFile&) = delete;
  StreamedFile& operator=(const StreamedFile&) = delete;

  void write(std::string_view text) { out_.write(text.data(), static_cast<std::streamsize>(text.size())); }
  void commit();  // throws InputError when the file could not be written

 private:
  std::string tmp_, final_;
  std::ofstream out_;
  bool committed_ = false;
};

}  // namespace tacsim::sim
