#pragma once
// SHA-256 (FIPS 180-4), for the content hashes that name a sweep's points. Plain C++.
#include <string>
#include <string_view>

namespace tacsim::sim {

// The digest of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace tacsim::sim
