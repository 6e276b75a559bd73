#include "sim/sweep_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "sim/output.h"

namespace tacsim::sim {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
int g_wake_fd = -1;  // the write end of the self-pipe that wakes the loop

void wake() {
  const char c = 0;
  [[maybe_unused]] const auto n = ::write(g_wake_fd, &c, 1);
}

extern "C" void on_stop_signal(int sig) {
  // A second Ctrl-C means now: the children die with this process (PR_SET_PDEATHSIG).
  if (g_stop_signal != 0) ::_exit(128 + sig);
  g_stop_signal = sig;
  wake();
}

extern "C" void on_child_exit(int) {
  wake();
}

// Installs the handlers and the self-pipe for one run_points call and restores the defaults after it.
class SignalScope {
 public:
  SignalScope() {
    if (::pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0)
      throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
    g_wake_fd = fds_[1];
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
    sa.sa_handler = on_child_exit;
    sa.sa_flags = SA_NOCLDSTOP;
    ::sigaction(SIGCHLD, &sa, &old_chld_);
  }
  ~SignalScope() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    ::sigaction(SIGCHLD, &old_chld_, nullptr);
    g_wake_fd = -1;
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

  // Sleeps until a child exits, a signal arrives or `timeout_ms` passes.
  void wait(int timeout_ms) {
    pollfd p{fds_[0], POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) > 0) {
      char buf[64];
      while (::read(fds_[0], buf, sizeof buf) > 0) {
      }
    }
  }

 private:
  int fds_[2] = {-1, -1};
  struct sigaction old_int_ {
  }, old_term_{}, old_chld_{};
};

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// "40 s", "12 min", "3.5 h": an ETA as a reader wants it.
std::string duration_text(double s) {
  if (s < 90) return fmt::format("{:.0f} s", std::max(1.0, s));
  if (s < 90 * 60) return fmt::format("{:.0f} min", s / 60);
  return fmt::format("{:.1f} h", s / 3600);
}

std::string first_line(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    line = text::trim(line);
    if (text::starts_with(line, "tacsim: ")) line = line.substr(8);
    if (!line.empty()) return line;
  }
  return "(no message)";
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
  return "stopped";
}

// The sweep's log: one line per event, each written with one append so that a kill never splits a line.
class SweepLog {
 public:
  explicit SweepLog(const fs::path& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {}
  ~SweepLog() {
    if (fd_ >= 0) ::close(fd_);
  }
  SweepLog(const SweepLog&) = delete;
  SweepLog& operator=(const SweepLog&) = delete;
  void line(const std::string& text) {
    if (fd_ < 0) return;
    const std::string l = utc_now() + " " + text + "\n";
    [[maybe_unused]] const auto n = ::write(fd_, l.data(), l.size());
  }

 private:
  int fd_;
};

struct Running {
  const SweepPoint* point;
  fs::path out, err;
  Clock::time_point start;
};

// fork + exec of `binary args...`, stdout to /dev/null, stderr to `err`. The child dies with this process.
pid_t spawn(const std::string& binary, const std::vector<std::string>& args, const fs::path& err) {
  std::vector<std::string> argv_s = {binary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string err_path = err.string();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGCHLD, SIG_DFL);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);  // the sweep died before prctl
    const int null_fd = ::open("/dev/null", O_RDWR);
    const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (null_fd < 0 || err_fd < 0) ::_exit(126);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    ::execv(binary.c_str(), argv.data());
    const std::string msg = "cannot run " + binary + ": " + std::strerror(errno) + "\n";
    [[maybe_unused]] const auto n = ::write(STDERR_FILENO, msg.data(), msg.size());
    ::_exit(127);
  }
  return pid;
}

std::string host_tag() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return fmt::format("{}-{}", host, ::getpid());
}

}  // namespace

SweepLock::SweepLock(const SweepDir& dir, Mode mode) {
  std::error_code ec;
  fs::create_directories(dir.root, ec);
  fd_ = ::open(dir.lock().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw InputError(
        fmt::format("{}: cannot create the sweep's lock ({})", dir.lock().string(), std::strerror(errno)));
  const bool exclusive = mode == Mode::kExclusive;
  if (::flock(fd_, exclusive ? LOCK_EX | LOCK_NB : LOCK_SH) != 0) {
    ::close(fd_);
    throw InputError(
        fmt::format("{}: another tacsim sweep is running in this folder (or its Slurm tasks are); "
                    "wait for it, or use another --out",
                    dir.root.string()));
  }
}

SweepLock::~SweepLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::string self_binary() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    throw std::runtime_error(fmt::format("cannot find the tacsim binary (/proc/self/exe: {})", ec.message()));
  return p.string();
}

RunOutcome run_points(const SweepDir& dir, const SweepPlan& plan, const std::vector<std::string>& ids,
                      const RunnerOptions& options) {
  std::error_code ec;
  if (options.exclusive) fs::remove_all(dir.tmp(), ec);  // what killed sweeps left half-written
  fs::create_directories(dir.tmp(), ec);
  if (ec) throw InputError(fmt::format("{}: cannot create ({})", dir.tmp().string(), ec.message()));

  std::deque<const SweepPoint*> pending;
  for (const auto& id : ids) {
    const SweepPoint* p = plan.find(id);
    if (!p) throw InputError(fmt::format("{}: point {} is not in the sweep", dir.manifest().string(), id));
    if (!dir.done(id)) pending.push_back(p);
  }
  const std::size_t total = ids.size(), done_before = total - pending.size();

  RunOutcome outcome;
  outcome.done_before = done_before;
  SweepLog log(dir.log());
  SignalScope signals;
  std::map<pid_t, Running> running;
  const std::string tag = host_tag();
  const auto start = Clock::now();
  auto last_print = start - std::chrono::seconds(1);
  bool printed = false;

  auto progress = [&](bool force) {
    if (!options.progress) return;
    const auto now = Clock::now();
    if (!force && now - last_print < std::chrono::milliseconds(500)) return;
    last_print = now;
    const double wall = std::chrono::duration<double>(now - start).count();
    const std::size_t finished = outcome.ran + outcome.failed;
    std::string line = fmt::format("  sweep: {} of {} points done, {} running", done_before + outcome.ran,
                                   total, running.size());
    if (outcome.failed) line += fmt::format(", {} failed", outcome.failed);
    if (finished > 0 && wall > 0) {
      const double rate = double(finished) / wall;
      line += fmt::format(", {:.2g} points/s", rate);
      const std::size_t left = pending.size() + running.size();
      if (left > 0) line += ", about " + duration_text(double(left) / rate) + " to go";
    }
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
    printed = true;
  };
  auto say = [&](const std::string& line) {  // a line above the progress line
    if (printed) std::fputs("\r\033[K", stderr);
    std::fprintf(stderr, "%s\n", line.c_str());
    printed = false;
  };

  auto fail = [&](const Running& r, const std::string& why, const std::string& details) {
    ++outcome.failed;
    const std::string args = text::join(plan.point_args(*r.point), " ");
    std::error_code e;
    fs::create_directories(dir.failed(r.point->id).parent_path(), e);
    write_file_atomic(dir.failed(r.point->id).parent_path().string(), r.point->id + ".txt",
                      fmt::format("point {} ({})\nfailed: {}\ncommand: tacsim run {}\n\n{}", r.point->id,
                                  plan.describe(*r.point), why, args, details));
    log.line(fmt::format("failed {} {}", r.point->id, why));
    if (!options.quiet)
      say(fmt::format("tacsim sweep: point {} ({}) failed: {} (see {})", r.point->id, plan.describe(*r.point),
                      why, dir.failed(r.point->id).string()));
  };

  auto finish = [&](const Running& r, int status) {
    std::error_code e;
    const std::string err_text = read_text(r.err);
    const bool ran = WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 1);
    if (!ran) {
      // A point stopped with the sweep leaves nothing; one that finished before the stop is kept below.
      if (g_stop_signal == 0) fail(r, describe_status(status) + ": " + first_line(err_text), err_text);
    } else if (!fs::exists(r.out / "stats.json", e)) {
      fail(r, "it finished without writing stats.json", err_text);
    } else {
      std::string got;
      try {
        got = result_id(r.out, plan.run_args);
      } catch (const InputError& ex) {
        got = std::string("unreadable: ") + ex.what();
      }
      if (got != r.point->id) {
        fail(r,
             fmt::format(
                 "its config.ini resolves to {}, not {}: did an input file change while the sweep ran?", got,
                 r.point->id),
             err_text);
      } else {
        fs::rename(r.out, dir.point(r.point->id), e);
        if (e && !dir.done(r.point->id)) {
          fail(r, fmt::format("cannot move its results into place ({})", e.message()), err_text);
        } else {
          ++outcome.ran;
          if (WEXITSTATUS(status) == 1) ++outcome.check_failed;
          fs::remove(dir.failed(r.point->id), e);
          log.line(fmt::format("done {} {:.3f} s", r.point->id,
                               std::chrono::duration<double>(Clock::now() - r.start).count()));
        }
      }
    }
    fs::remove_all(r.out, e);
    fs::remove(r.err, e);
  };

  bool stopping = false, changed = true;
  while ((!pending.empty() && g_stop_signal == 0) || !running.empty()) {
    while (g_stop_signal == 0 && running.size() < options.jobs && !pending.empty()) {
      const SweepPoint* p = pending.front();
      pending.pop_front();
      Running r{p, dir.tmp() / (p->id + "." + tag), dir.tmp() / (p->id + "." + tag + ".stderr"),
                Clock::now()};
      fs::remove_all(r.out, ec);
      auto args = plan.point_args(*p);
      args.insert(args.begin(), "run");
      for (const char* a : {"--out", r.out.c_str(), "--quiet"}) args.push_back(a);
      log.line("start " + p->id);
      running.emplace(spawn(options.binary, args, r.err), r);
    }
    progress(changed);
    changed = false;
    signals.wait(options.progress ? 250 : 1000);
    int status = 0;
    for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
      const auto it = running.find(pid);
      if (it == running.end()) continue;
      const Running r = it->second;
      running.erase(it);
      finish(r, status);
      changed = true;
    }
    if (g_stop_signal != 0 && !stopping) {
      stopping = true;
      for (const auto& [pid, r] : running) ::kill(pid, SIGTERM);
    }
  }
  if (printed) std::fputs("\r\033[K", stderr);
  outcome.stopped_by = g_stop_signal;
  if (outcome.stopped_by) log.line(fmt::format("stopped by signal {}", int(outcome.stopped_by)));
  outcome.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  return outcome;
}

}  // namespace tacsim::sim
