#include "sim/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace tacsim::sim {

namespace {
// Simulated cycles between looks at the wall clock: a look costs tens of nanoseconds, so even at 5e7
// simulated cycles per second this is well under 0.1 % of a run.
constexpr Cycle kTickCycles = 1 << 16;

// Seconds between refreshes: a quarter second, or $TACSIM_PROGRESS_REFRESH_S (the tests set 0 to see lines
// from short runs).
double refresh_s() {
  const char* env = std::getenv("TACSIM_PROGRESS_REFRESH_S");
  return env != nullptr && *env != '\0' ? std::atof(env) : 0.25;
}
}  // namespace

ProgressLine::ProgressLine(const sc_core::sc_module_name& name, const ClockDomain& clock, std::string unit,
                           std::function<Status()> status)
    : sc_module(name), clock_(clock), unit_(std::move(unit)), status_(std::move(status)) {
  start_ = last_print_ = std::chrono::steady_clock::now();
  refresh_s_ = refresh_s();
  SC_METHOD(tick);
}

ProgressLine::~ProgressLine() {
  if (printed_) std::fputs("\r\033[K", stderr);  // erase the line: the summary follows
}

bool ProgressLine::wanted(bool quiet) {
  const char* term = std::getenv("TERM");
  return !quiet && ::isatty(STDERR_FILENO) && !(term != nullptr && std::strcmp(term, "dumb") == 0);
}

void ProgressLine::tick() {
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_print_).count() >= refresh_s_) {
    last_print_ = now;
    print(status_());
  }
  // Stay only while the simulation has work of its own: a lone progress tick must not keep it running. (At
  // time zero the other processes may not have scheduled anything yet.)
  if (sc_core::sc_time_stamp() == sc_core::SC_ZERO_TIME || sc_core::sc_pending_activity_at_future_time())
    next_trigger(clock_.time_at(clock_.now() + kTickCycles) - sc_core::sc_time_stamp());
}

void ProgressLine::print(const Status& s) {
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const Cycle cycles = clock_.now();
  std::string line = fmt::format("  {} of {} {}, {:.3f} ms simulated, {:.3g} cycles/s", s.done, s.total,
                                 unit_, double(clock_.fs_at(cycles)) * 1e-12, double(cycles) / wall);
  if (s.done > 0 && s.total > s.done)
    line += fmt::format(", about {:.0f} s to go", wall * double(s.total - s.done) / double(s.done));
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  printed_ = true;
}

}  // namespace tacsim::sim
