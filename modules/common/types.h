#pragma once
// Types shared by every engine. Engines never include <systemc>: they count cycles of their own clock.
#include <cstdint>
#include <limits>

namespace tacsim {

using Cycle = std::uint64_t;
inline constexpr Cycle kNever = std::numeric_limits<Cycle>::max();

}  // namespace tacsim
