#pragma once
// VcdRecorder: the waves::Recorder behind `--vcd`. It selects signals by glob, keeps the changes that fall in
// the time window, and writes them as a VCD (timescale 1 ps) in time order.
//
// Why not sc_signal + sc_trace: the engines resolve cycles in batches (the DRAM engine issues the commands of
// many cycles in one advance_to; the PE array knows a chunk's stall and busy cycles when it issues it), so a
// change often belongs to a time before or after the kernel's present. Changes therefore carry their own
// time and arrive in any order; the recorder sorts them. With tracing off no recorder exists and a probe is
// one null test (waves.h), where an sc_signal would cost a kernel update per write.
//
// Memory is bounded: changes are held in a buffer of `buffer_changes` (24 bytes each); a full buffer is
// sorted and appended as a run to a spill file, and write() merges the runs. Only changes inside the window
// are kept; for those before it, each signal's latest value is, to start the window with.
//
// Output rules: one `#t` per time with a change, times strictly increasing; a signal appears at a time only
// if its value differs from the one written before (of several changes at one time the last one made counts);
// every selected signal gets a value in $dumpvars at the window's start. Enumerated and text signals are
// GTKWave string signals (`$var string`, values `s<label>`), so viewers show names without a filter file.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "modules/common/types.h"
#include "modules/common/waves.h"

namespace tacsim::sim {

struct VcdOptions {
  std::uint64_t start_fs = 0;  // the window: changes at start_fs <= t < end_fs
  std::uint64_t end_fs = kNever;
  std::vector<std::string> patterns;  // globs over hierarchical names (a scope's name selects what is below
                                      // it); empty: every signal
  std::size_t buffer_changes = std::size_t{1} << 21;  // held in memory before a run is spilled (48 MiB)
  std::string
      spill_path;  // the spill file, made when first needed (required when more changes than a buffer)
};

class VcdRecorder : public waves::Recorder {
 public:
  enum class Kind : std::uint8_t { kInteger, kEnumerated, kText };
  struct Declared {
    std::string name;
    Kind kind;
    std::uint32_t width;  // integers: bits; enumerated: labels
    std::string description;
    bool selected;
    bool on_request;  // traced only when a pattern selects it (waves::Selection::kOnRequest)
  };

  explicit VcdRecorder(VcdOptions options);
  ~VcdRecorder() override;
  VcdRecorder(const VcdRecorder&) = delete;
  VcdRecorder& operator=(const VcdRecorder&) = delete;

  waves::Signal integer(const std::string& name, std::uint32_t width, const std::string& description,
                        waves::Selection selection = waves::Selection::kDefault) override;
  waves::Signal enumerated(const std::string& name, const std::vector<std::string>& labels,
                           const std::string& description) override;
  waves::Signal text(const std::string& name, const std::string& description) override;
  void change(std::uint32_t signal, std::uint64_t t_fs, std::uint64_t value) override;
  void change_text(std::uint32_t signal, std::uint64_t t_fs, std::string_view value) override;

  // Every signal declared, selected or not, in declaration order (--vcd-list).
  const std::vector<Declared>& declared() const { return declared_; }
  std::size_t selected() const { return signals_.size(); }
  // The patterns that selected no signal.
  std::vector<std::string> unmatched_patterns() const;
  // Changes kept so far (in the window, before collapsing repeats).
  std::uint64_t kept_changes() const { return kept_; }

  // Writes the VCD to `path` and removes the spill file; returns the changes written (the initial values
  // included). Call once. Throws InputError naming the file when it cannot be written.
  std::uint64_t write(const std::string& path, const std::string& comment);

 private:
  struct Record {
    std::uint64_t t_ps;
    std::uint64_t value;  // an integer, or a string's index in strings_
    std::uint32_t signal;
  };
  struct SignalState {
    std::string name;
    Kind kind;
    std::uint32_t width;          // integers: bits; enumerated: labels
    std::uint64_t initial;        // its value until first set: x, the first label, or "-"
    std::uint64_t before_fs = 0;  // the latest change before the window, if any
    bool has_before = false;
    std::uint64_t before = 0;
    std::uint32_t labels_base = 0;  // enumerated: label i is strings_[labels_base + i]
  };

  waves::Signal add(const std::string& name, Kind kind, std::uint32_t width, std::uint64_t initial,
                    bool on_request, const std::string& description);
  std::uint32_t intern(std::string_view s);
  void spill();

  VcdOptions options_;
  std::vector<Declared> declared_;
  std::vector<bool> pattern_used_;
  std::vector<SignalState> signals_;  // the selected ones; a handle's id indexes this
  std::vector<std::string> strings_;  // labels and texts
  std::unordered_map<std::string, std::uint32_t> string_index_;
  std::unordered_map<std::string, std::uint32_t> enum_base_;  // a label list's first string
  std::vector<Record> buffer_;
  struct Run {
    std::uint64_t offset, count;  // in records
  };
  std::vector<Run> runs_;
  std::FILE* spill_ = nullptr;
  std::uint64_t spilled_ = 0;
  std::uint64_t kept_ = 0;
};

}  // namespace tacsim::sim
