#pragma once
// The message of the InputError a call throws, or "no error": tests compare a whole message with what the
// user should read.
#include <functional>
#include <string>

#include "modules/common/error.h"

namespace tacsim::testing_support {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace tacsim::testing_support
