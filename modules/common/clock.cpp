#include "modules/common/clock.h"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace tacsim {

namespace {
__extension__ typedef unsigned __int128 Wide;  // c * 1e12 overflows 64 bits after ~5 hours at 1 GHz
constexpr std::uint64_t kFsPerMs = 1'000'000'000'000ull;  // cycles at f kHz: t_fs = c * 1e12 / f_khz
}  // namespace

ClockDomain::ClockDomain(double clock_mhz)
    : clock_mhz_(clock_mhz), khz_(static_cast<std::uint64_t>(std::llround(clock_mhz * 1e3))) {
  if (!(clock_mhz > 0) || khz_ == 0) throw std::invalid_argument("ClockDomain: clock_mhz must be positive");
  if (kFsPerMs % khz_ == 0) period_fs_ = kFsPerMs / khz_;
}

std::uint64_t ClockDomain::fs_at(Cycle c) const {
  if (period_fs_ != 0) return c * period_fs_;
  return static_cast<std::uint64_t>(static_cast<Wide>(c) * kFsPerMs / khz_);
}

Cycle ClockDomain::cycle_at_or_after(std::uint64_t t_fs) const {
  if (period_fs_ != 0) return (t_fs + period_fs_ - 1) / period_fs_;
  const Wide num = static_cast<Wide>(t_fs) * khz_;
  Cycle c = static_cast<Cycle>(num / kFsPerMs);
  // floor(c * 1e12 / f) may still be below t_fs when the division above truncated: step to the first start >=
  // t.
  while (fs_at(c) < t_fs) ++c;
  return c;
}

sc_core::sc_time ClockDomain::time_at(Cycle c) const {
  return sc_core::sc_time::from_value(fs_at(c));
}

Cycle ClockDomain::now() const {
  return cycle_at_or_after(sc_core::sc_time_stamp().value());
}

void ClockDomain::wait_until(Cycle c) const {
  const sc_core::sc_time target = time_at(c);
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  if (target > now) sc_core::wait(target - now);
}

void init_kernel() {
  static bool done = false;
  if (done) return;
  done = true;
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  sc_core::sc_set_time_resolution(1, sc_core::SC_FS);
  // sc_stop() is how every run ends; its info message is noise on the console.
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
}

}  // namespace tacsim
