#pragma once
// A clock domain without sc_clock: modules compute the cycle of their next event and wait once for it.
// Cycle c of a domain at f MHz starts at floor(c * 1e9 / f) femtoseconds, computed exactly in integers so
// that long runs do not drift and two domains with unrelated frequencies stay consistent.
#include <systemc>

#include "modules/common/types.h"

namespace tacsim {

class ClockDomain {
 public:
  explicit ClockDomain(double clock_mhz);

  double clock_mhz() const { return clock_mhz_; }
  double period_ns() const { return 1e3 / clock_mhz_; }

  // Start of cycle c in femtoseconds since time zero (the kernel's resolution is 1 fs, see init_kernel()).
  std::uint64_t fs_at(Cycle c) const;
  // The first cycle that starts at or after t_fs.
  Cycle cycle_at_or_after(std::uint64_t t_fs) const;

  sc_core::sc_time time_at(Cycle c) const;
  // The cycle at or after the current simulation time: where a module that just woke up stands.
  Cycle now() const;
  // Suspends the calling SC_THREAD until cycle c starts (no-op when c is now or past).
  void wait_until(Cycle c) const;

 private:
  double clock_mhz_;
  // The frequency as a rational number of kHz, so cycle <-> time conversions are exact integer arithmetic.
  std::uint64_t khz_;
  // The period in fs when it is a whole number (1 GHz: 1e6 fs), else 0: then plain 64-bit arithmetic is exact
  // and the 128-bit path (a library division per call) is not needed.
  std::uint64_t period_fs_ = 0;
};

// Sets the kernel's time resolution (1 fs) and silences the banner; call once before any module is built.
void init_kernel();

}  // namespace tacsim
