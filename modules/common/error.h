#pragma once
// Bad input (config, trace, weight file) is reported by throwing InputError with a message that names the
// file and line or the config key and says what was expected; sim/ prints it on one line and exits 2.
#include <stdexcept>
#include <string>

namespace tacsim {

class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace tacsim
