#pragma once
// The clocks a ClockDomain can keep exactly: it counts in whole kHz (clock.cpp), so a rate must be a whole
// number of kHz, from 1 kHz (0.001 MHz) to 100 GHz. Plain C++ so that every Params::validate() can use it.
#include <cmath>
#include <string>

#include <fmt/format.h>

namespace tacsim {

// "" when `mhz` is a rate a ClockDomain keeps exactly; otherwise what is wrong, for a validate() message.
inline std::string clock_mhz_error(double mhz) {
  if (!std::isfinite(mhz) || mhz < 0.001 || mhz > 1e5)
    return fmt::format("must be from 0.001 to 100000 MHz, got {}", mhz);
  const double khz = mhz * 1e3;
  if (std::fabs(khz - std::round(khz)) > 1e-3)  // 1 Hz: room for the rounding of mhz * 1e3
    return fmt::format("must be a whole number of kHz (the clock counts in kHz), got {} MHz", mhz);
  return "";
}

}  // namespace tacsim
