#include "modules/common/data_files.h"

#include <cstdlib>
#include <filesystem>

namespace tacsim {

std::string data_dir(const char* env_var, const std::string& installed_name, const std::string& source_dir) {
  if (const char* env = std::getenv(env_var); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed = exe.parent_path().parent_path() / "share" / "tacsim" / installed_name;
    if (std::filesystem::is_directory(installed, ec)) return installed.string();
  }
  return source_dir;
}

}  // namespace tacsim
