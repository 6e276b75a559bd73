#include "sim/result_set.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "modules/common/error.h"

namespace tacsim::sim {

namespace fs = std::filesystem;

namespace {

// What the signal handler needs, prepared before the run: it may only make async-signal-safe calls.
char g_staging[4096];
// Files staged beside the set (ResultSet::stage_file), removed with it.
constexpr std::size_t kMaxSideFiles = 4;
char g_side_files[kMaxSideFiles][4096];
std::size_t g_side_file_count = 0;
char g_stop_message[4096 + 128];
std::size_t g_stop_message_len = 0;
struct sigaction g_old_int, g_old_term;

// Removes the staging folder's files (the set is flat) and the folder, with system calls alone.
void remove_staging_now() {
  const int fd = ::open(g_staging, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    alignas(8) char buf[4096];
    for (;;) {
      const ssize_t n = ::getdents64(fd, buf, sizeof buf);
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        const auto* e = reinterpret_cast<const struct dirent64*>(buf + off);
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
          ::unlinkat(fd, e->d_name, 0);
        off += e->d_reclen;
      }
    }
    ::close(fd);
  }
  ::rmdir(g_staging);
}

void on_stop_signal(int sig) {
  remove_staging_now();
  for (std::size_t i = 0; i < g_side_file_count; ++i) ::unlink(g_side_files[i]);
  ssize_t ignored = ::write(STDERR_FILENO, g_stop_message, g_stop_message_len);
  (void)ignored;
  const char* name = sig == SIGINT ? "SIGINT\n" : "SIGTERM\n";
  ignored = ::write(STDERR_FILENO, name, std::strlen(name));
  ::_exit(128 + sig);
}

void take_signals(const std::string& staging, const std::string& out) {
  if (staging.size() >= sizeof g_staging)
    throw InputError(fmt::format("{}: output path too long ({} characters)", out, staging.size()));
  std::memcpy(g_staging, staging.c_str(), staging.size() + 1);
  const std::string msg = fmt::format("\ntacsim: stopped, no results written ({} left as it was) by ", out);
  g_stop_message_len = std::min(msg.size(), sizeof g_stop_message);
  std::memcpy(g_stop_message, msg.data(), g_stop_message_len);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &g_old_int);
  ::sigaction(SIGTERM, &sa, &g_old_term);
}

void give_back_signals() {
  ::sigaction(SIGINT, &g_old_int, nullptr);
  ::sigaction(SIGTERM, &g_old_term, nullptr);
}

// A staging folder whose run no longer exists: left by kill -9 or a power cut.
bool is_stale_staging(const std::string& entry, const std::string& prefix) {
  if (entry.rfind(prefix, 0) != 0) return false;
  const std::string pid_text = entry.substr(prefix.size());
  if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos ||
      pid_text.size() > 9)
    return false;
  const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
  return pid != ::getpid() && ::kill(pid, 0) == -1 && errno == ESRCH;
}

}  // namespace

ResultSet::ResultSet(const std::string& out_dir) : out_(out_dir) {
  fs::path out = fs::path(out_dir).lexically_normal();
  if (out.has_filename() == false) out = out.parent_path();  // "results/latest/" names the folder too
  if (out.empty() || out == "." || out == ".." || out == out.root_path())
    throw InputError(
        fmt::format("{}: give a folder of its own for the results (it is replaced whole)", out_dir));
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec))
      throw InputError(fmt::format("{}: cannot write results there: a file of that name exists", out_dir));
    const bool empty = fs::is_empty(out, ec);
    if (!ec && !empty && !fs::exists(out / "stats.json", ec))
      throw InputError(
          fmt::format("{}: holds files but no tacsim result (no stats.json); results replace their folder "
                      "whole, so give a "
                      "new or empty folder",
                      out_dir));
  }
  const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec || !fs::is_directory(parent))
    throw InputError(fmt::format("{}: cannot create output folder ({})", out_dir,
                                 ec ? ec.message() : parent.string() + " is a file"));

  const std::string prefix = "." + out.filename().string() + ".partial.";
  for (const fs::directory_entry& e : fs::directory_iterator(parent, ec))
    if (is_stale_staging(e.path().filename().string(), prefix)) fs::remove_all(e.path(), ec);

  const fs::path staging = parent / (prefix + std::to_string(::getpid()));
  staging_ = staging.string();
  // The handler is in place before the folder exists: a stop at any moment (a sweep stopping a point that is
  // just starting) leaves no staging folder behind.
  take_signals(staging_, out_dir);
  fs::remove_all(staging, ec);
  if (!fs::create_directory(staging, ec) || ec) {
    give_back_signals();
    throw InputError(fmt::format("{}: cannot write results beside it ({})", out_dir,
                                 ec ? ec.message() : "cannot create " + staging.string()));
  }
  out_ = out.string();
}

ResultSet::~ResultSet() {
  if (committed_) return;
  give_back_signals();
  std::error_code ec;
  fs::remove_all(staging_, ec);
  for (const auto& [staged, final_path] : side_files_) fs::remove(staged, ec);
  g_side_file_count = 0;
}

std::string ResultSet::stage_file(const std::string& path, const std::string& option) {
  const fs::path p = fs::path(path).lexically_normal();
  std::error_code ec;
  if (!p.has_filename() || fs::is_directory(p, ec))
    throw InputError(fmt::format("{}: {}: give a file name, not a folder", option, path));
  const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const fs::path out_abs = fs::absolute(out_, ec).lexically_normal();
  const fs::path parent_abs = fs::absolute(parent, ec).lexically_normal();
  if (parent_abs == out_abs) return (fs::path(staging_) / p.filename()).string();  // part of the set
  const auto rel = parent_abs.lexically_relative(out_abs);
  if (!rel.empty() && *rel.begin() != "..")
    throw InputError(fmt::format("{}: {}: a result folder is flat: put the file directly in {} or outside it",
                                 option, path, out_));
  fs::create_directories(parent, ec);
  if (ec || !fs::is_directory(parent))
    throw InputError(fmt::format("{}: {}: cannot create its folder ({})", option, path,
                                 ec ? ec.message() : parent.string() + " is a file"));
  const std::string prefix = "." + p.filename().string() + ".partial.";
  for (const fs::directory_entry& e : fs::directory_iterator(parent, ec))
    if (is_stale_staging(e.path().filename().string(), prefix)) fs::remove(e.path(), ec);
  const std::string staged = (parent / (prefix + std::to_string(::getpid()))).string();
  if (g_side_file_count == kMaxSideFiles || staged.size() >= sizeof g_side_files[0])
    throw InputError(fmt::format("{}: {}: path too long", option, path));
  std::memcpy(g_side_files[g_side_file_count], staged.c_str(), staged.size() + 1);
  ++g_side_file_count;
  side_files_.emplace_back(staged, p.string());
  return staged;
}

void ResultSet::commit() {
  // Exchange when a previous set exists, so --out never stops holding a complete set; the old one then sits
  // at the staging name and is removed.
  std::error_code ec;
  bool exchanged = false;
  if (fs::exists(out_, ec)) {
    if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, out_.c_str(), RENAME_EXCHANGE) == 0) {
      exchanged = true;
    } else if (errno == EINVAL || errno == ENOSYS) {
      // A file system without the exchange: the old set is renamed aside first (a moment without --out).
      const std::string aside = staging_ + ".old";
      if (::rename(out_.c_str(), aside.c_str()) != 0)
        throw InputError(
            fmt::format("{}: cannot replace the previous results ({})", out_, std::strerror(errno)));
      if (::rename(staging_.c_str(), out_.c_str()) != 0) {
        const int err = errno;
        ::rename(aside.c_str(), out_.c_str());
        throw InputError(fmt::format("{}: cannot put the results in place ({})", out_, std::strerror(err)));
      }
      fs::remove_all(aside, ec);
    } else {
      throw InputError(
          fmt::format("{}: cannot replace the previous results ({})", out_, std::strerror(errno)));
    }
  } else if (::rename(staging_.c_str(), out_.c_str()) != 0) {
    throw InputError(fmt::format("{}: cannot put the results in place ({})", out_, std::strerror(errno)));
  }
  committed_ = true;
  give_back_signals();
  if (exchanged) fs::remove_all(staging_, ec);  // the previous set
  for (const auto& [staged, final_path] : side_files_)
    if (::rename(staged.c_str(), final_path.c_str()) != 0) {
      const int err = errno;
      fs::remove(staged, ec);
      throw InputError(fmt::format("{}: cannot put the file in place ({})", final_path, std::strerror(err)));
    }
  g_side_file_count = 0;
}

}  // namespace tacsim::sim
