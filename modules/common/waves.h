#pragma once
// Waveform probes: what a module needs to show its state in a VCD (`tacsim run --vcd`). A module declares its
// signals once, named `<its SystemC name>.<signal>`, and keeps a Signal handle per signal; at each state
// change it calls set(time, value) with the time of the change itself, which may lie before or after the
// kernel's current time (engines resolve cycles in batches). With tracing off, or a signal filtered out, the
// handle is empty and set() is one test of a null pointer.
//
// Times are in femtoseconds since time zero (ClockDomain::fs_at), so every clock domain's edges are exact.
// Plain C++: no SystemC.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tacsim::waves {

// An integer signal's value that is unknown or not applicable (no request served, no initiator granted): 'x'.
inline constexpr std::uint64_t kUnknown = ~std::uint64_t{0};

class Signal;

// kOnRequest: a signal there are many of (a DRAM bank's open row), traced only when --vcd-signals names it,
// not by default.
enum class Selection { kDefault, kOnRequest };

// Takes the declarations and value changes (sim/vcd_recorder.h writes them as a VCD).
class Recorder {
 public:
  virtual ~Recorder() = default;
  // An integer signal `width` bits wide (1..64); x until first set.
  virtual Signal integer(const std::string& name, std::uint32_t width, const std::string& description,
                         Selection selection = Selection::kDefault) = 0;
  // An enumerated signal, shown by name: its values are indices into `labels` (no spaces in a label).
  virtual Signal enumerated(const std::string& name, const std::vector<std::string>& labels,
                            const std::string& description) = 0;
  // A signal whose values are free text (an operation's name), interned as they come.
  virtual Signal text(const std::string& name, const std::string& description) = 0;

  virtual void change(std::uint32_t signal, std::uint64_t t_fs, std::uint64_t value) = 0;
  virtual void change_text(std::uint32_t signal, std::uint64_t t_fs, std::string_view value) = 0;
};

// A probe's handle on one signal: empty (inert) unless tracing is on and the signal was selected.
class Signal {
 public:
  Signal() = default;
  Signal(Recorder* recorder, std::uint32_t id) : recorder_(recorder), id_(id) {}

  explicit operator bool() const { return recorder_ != nullptr; }
  // The value from t_fs on: an integer, or an enumerated signal's label index.
  void set(std::uint64_t t_fs, std::uint64_t value) const {
    if (recorder_) recorder_->change(id_, t_fs, value);
  }
  void set_text(std::uint64_t t_fs, std::string_view value) const {
    if (recorder_) recorder_->change_text(id_, t_fs, value);
  }

 private:
  Recorder* recorder_ = nullptr;
  std::uint32_t id_ = 0;
};

}  // namespace tacsim::waves
