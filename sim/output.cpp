#include "sim/output.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "modules/common/error.h"

namespace tacsim::sim {

namespace fs = std::filesystem;

void prepare_output_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw InputError(fmt::format("{}: cannot create output folder ({})", dir,
                                 ec ? ec.message() : "a file of that name exists"));
  const fs::path probe = fs::path(dir) / ".tacsim-write-test";
  {
    std::ofstream f(probe);
    if (!f) throw InputError(fmt::format("{}: output folder is not writable", dir));
  }
  fs::remove(probe, ec);
}

void write_file_atomic(const std::string& dir, const std::string& name, const std::string& text) {
  const fs::path final_path = fs::path(dir) / name;
  const fs::path tmp = fs::path(dir) / ("." + name + ".tmp");
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.flush();
    if (!f) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw InputError(fmt::format("{}: cannot write", final_path.string()));
    }
  }
  std::error_code ec;
  fs::rename(tmp, final_path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw InputError(fmt::format("{}: cannot write ({})", final_path.string(), ec.message()));
  }
}

StreamedFile::StreamedFile(const std::string& dir, const std::string& name)
    : tmp_((fs::path(dir) / ("." + name + ".tmp")).string()), final_((fs::path(dir) / name).string()) {
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  if (!out_) throw InputError(fmt::format("{}: cannot write", final_));
}

StreamedFile::~StreamedFile() {
  if (committed_) return;
  out_.close();
  std::error_code ec;
  fs::remove(tmp_, ec);
}

void StreamedFile::commit() {
  out_.flush();
  const bool ok = static_cast<bool>(out_);
  out_.close();
  std::error_code ec;
  if (ok) fs::rename(tmp_, final_, ec);
  if (!ok || ec) {
    fs::remove(tmp_, ec);
    throw InputError(fmt::format("{}: cannot write", final_));
  }
  committed_ = true;
}

}  // namespace tacsim::sim
