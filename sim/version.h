#pragma once

namespace tacsim {
inline constexpr const char* kVersion = "0.1.0";
}
