#pragma once
// A progress line for runs that may take more than a couple of seconds: what is done of what, simulated
// time, simulated cycles per wall second and an ETA, on stderr, refreshed a few times a second and erased
// at the end. It exists only when stderr is a terminal (and the run is not --quiet), so it cannot change what
// a run writes; it only reads the simulation, never drives it.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <systemc>

#include "modules/common/clock.h"

namespace tacsim::sim {

class ProgressLine : public sc_core::sc_module {
 public:
  struct Status {
    std::uint64_t done = 0, total = 0;  // in `unit`s, e.g. operations or requests
  };
  SC_HAS_PROCESS(ProgressLine);
  ProgressLine(const sc_core::sc_module_name& name, const ClockDomain& clock, std::string unit,
               std::function<Status()> status);
  ~ProgressLine() override;
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Whether a run should show one: stderr is a terminal, TERM is not "dumb", and the run is not quiet.
  static bool wanted(bool quiet);

 private:
  void tick();
  void print(const Status& s);

  const ClockDomain& clock_;
  std::string unit_;
  std::function<Status()> status_;
  std::chrono::steady_clock::time_point start_, last_print_;
  double refresh_s_ = 0.25;
  bool printed_ = false;
};

}  // namespace tacsim::sim
