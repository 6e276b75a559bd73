#pragma once
// What the unit tests ask of an error: its message, and whether a message says something.
#include <string>

#include "modules/common/error.h"

namespace tacsim::testing_support {

// The message of the InputError that f throws; "" when it throws none.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace tacsim::testing_support
