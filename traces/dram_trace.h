#pragma once
// The plain DRAM trace format DRAMsim3 reads, so one trace can be replayed in both simulators:
//   0x<hex address> READ|WRITE <cycle>
// one request per line, fields separated by blanks, cycles in DRAM clock cycles and never decreasing. Blank
// lines and lines starting with '#' are skipped. Each request moves one burst.
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace tacsim::traces {

inline constexpr std::uint64_t kMaxTraceCycle = 10'000'000'000;

struct DramRequest {
  std::uint64_t address = 0;
  bool is_write = false;
  std::uint64_t cycle = 0;  // at most kMaxTraceCycle
};

// Reads a trace one request at a time, so that memory does not grow with the trace. Throws InputError naming
// the file and line: unreadable file, bad hex, unknown command, missing or extra fields, a cycle smaller than
// the previous line's, an address at or beyond `capacity_bytes`.
class DramTraceReader {
 public:
  DramTraceReader(const std::string& path, std::uint64_t capacity_bytes);
  // The next request into `r`; false at the end of the trace.
  bool next(DramRequest& r);
  std::uint64_t requests() const { return requests_; }  // returned so far

 private:
  bool next_line(std::string_view& line);  // false at the end of the file

  std::string path_;
  std::uint64_t capacity_;
  std::ifstream in_;
  std::vector<char> buffer_;  // read in large blocks; lines are views into it
  std::size_t begin_ = 0;     // the unread part is buffer_[begin_, end_)
  std::size_t end_ = 0;
  bool eof_ = false;
  int line_number_ = 0;
  std::uint64_t requests_ = 0;
  std::uint64_t last_cycle_ = 0;
};

// The whole trace at once (for small traces and tests).
std::vector<DramRequest> read_dram_trace(const std::string& path, std::uint64_t capacity_bytes);

}  // namespace tacsim::traces
