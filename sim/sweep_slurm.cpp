#include "sim/sweep_slurm.h"

#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "sim/output.h"
#include "sim/sweep_runner.h"

extern char** environ;

namespace tacsim::sim {

namespace fs = std::filesystem;

namespace {

struct Captured {
  bool started = false;  // false: the program was not found
  int status = 0;
  std::string output;  // stdout and stderr together
};

// Runs a program found on PATH and collects what it prints.
Captured capture(const std::vector<std::string>& argv_s) {
  Captured c;
  int fds[2];
  if (::pipe(fds) != 0) return c;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  std::vector<std::string> copy = argv_s;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (err == 0) {
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      c.output.append(buf, static_cast<std::size_t>(n));
    }
    while (::waitpid(pid, &c.status, 0) < 0 && errno == EINTR) {
    }
    // posix_spawnp reports a missing program as exit 127 of the child on glibc.
    c.started = !(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 127);
  }
  ::close(fds[0]);
  return c;
}

bool succeeded(const Captured& c) {
  return c.started && WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0;
}

// 'text' for a POSIX shell.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// #SBATCH lines are split on white space by sbatch, and % starts a pattern in --output: such paths cannot be
// written into the script safely.
void check_script_path(const fs::path& p, const std::string& what) {
  if (p.string().find_first_of(" \t\n'\"%") != std::string::npos)
    throw InputError(
        fmt::format("{} '{}': the Slurm backend needs a path without spaces, quotes or %", what, p.string()));
}

std::size_t max_array_size() {
  const Captured c = capture({"scontrol", "show", "config"});
  std::istringstream in(c.output);
  for (std::string line; std::getline(in, line);)
    if (text::starts_with(line, "MaxArraySize")) {
      const auto eq = line.find('=');
      if (const auto v = text::to_unsigned(text::trim(line.substr(eq + 1)))) return *v;
    }
  return 1001;  // Slurm's default
}

std::vector<fs::path> submissions(const SweepDir& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir.slurm(), ec))
    if (e.is_directory() && text::to_unsigned(e.path().filename().string())) out.push_back(e.path());
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
    return *text::to_unsigned(a.filename().string()) < *text::to_unsigned(b.filename().string());
  });
  return out;
}

std::string read_line(const fs::path& p) {
  std::ifstream f(p);
  std::string line;
  std::getline(f, line);
  return text::trim(line);
}

}  // namespace

std::string slurm_task_lines(const std::vector<std::string>& ids, std::size_t points_per_task) {
  std::string out;
  for (std::size_t i = 0; i < ids.size(); ++i)
    out += ids[i] + ((i + 1) % points_per_task == 0 || i + 1 == ids.size() ? "\n" : " ");
  return out;
}

std::string slurm_array_script(const fs::path& submission, std::size_t tasks, const SlurmOptions& o) {
  std::string s = "#!/bin/bash\n";
  s += fmt::format(
      "# A tacsim sweep's points in {} array tasks of up to {} points (their ids: tasks.txt, one task a\n"
      "# line), written by `tacsim sweep --backend slurm`; `sbatch {}` submits it again.\n",
      tasks, o.points_per_task, (submission / "array.sh").string());
  s += "#SBATCH --job-name=tacsim-sweep\n";
  s += fmt::format("#SBATCH --array=0-{}\n", tasks - 1);
  s += fmt::format("#SBATCH --output={}\n", (submission / "task-%a.log").string());
  s += "#SBATCH --ntasks=1\n";
  if (!o.partition.empty()) s += "#SBATCH --partition=" + o.partition + "\n";
  if (!o.time.empty()) s += "#SBATCH --time=" + o.time + "\n";
  for (const auto& a : o.sbatch_args) s += "#SBATCH " + a + "\n";
  s += fmt::format("cd {} || exit 2\n", shell_quote(o.workdir.string()));
  s += fmt::format("exec {} sweep --slurm-task \"$SLURM_ARRAY_TASK_ID\" --submission {}\n",
                   shell_quote(o.binary), shell_quote(submission.string()));
  return s;
}

bool slurm_job_active(const std::string& job_id) {
  const Captured c = capture({"squeue", "-h", "-j", job_id, "-o", "%i"});
  return succeeded(c) && !text::trim(c.output).empty();
}

void check_no_active_submission(const SweepDir& dir) {
  for (const auto& sub : submissions(dir)) {
    const std::string job = read_line(sub / "job_id");
    if (!job.empty() && slurm_job_active(job))
      throw InputError(
          fmt::format("{}: Slurm job {} of this sweep is still queued or running; wait for it (or "
                      "scancel {}), then run again. `tacsim sweep --collect {}` shows what is done",
                      dir.root.string(), job, job, dir.root.string()));
  }
}

SlurmSubmission submit_slurm(const SweepDir& dir, const std::vector<std::string>& ids,
                             const SlurmOptions& options) {
  SlurmSubmission sub;
  sub.points = ids.size();
  if (ids.empty()) return sub;
  if (options.points_per_task == 0) throw InputError("--points-per-task: must be at least 1");
  sub.tasks = (ids.size() + options.points_per_task - 1) / options.points_per_task;
  const std::size_t max_tasks = max_array_size() - 1;  // indexes run from 0 to MaxArraySize - 1
  if (sub.tasks > max_tasks)
    throw InputError(fmt::format(
        "--points-per-task {}: {} points make {} array tasks, more than this cluster's "
        "MaxArraySize allows ({}); use --points-per-task {} or more",
        options.points_per_task, ids.size(), sub.tasks, max_tasks, (ids.size() + max_tasks - 1) / max_tasks));
  const auto previous = submissions(dir);
  const std::size_t n = previous.empty() ? 1 : *text::to_unsigned(previous.back().filename().string()) + 1;
  sub.folder = fs::absolute(dir.slurm() / std::to_string(n)).lexically_normal();
  check_script_path(sub.folder, "--out");
  check_script_path(options.workdir, "the working folder");
  prepare_output_dir(sub.folder.string());
  write_file_atomic(sub.folder.string(), "tasks.txt", slurm_task_lines(ids, options.points_per_task));
  write_file_atomic(sub.folder.string(), "array.sh", slurm_array_script(sub.folder, sub.tasks, options));

  const std::string script = (sub.folder / "array.sh").string();
  const Captured c = capture({"sbatch", "--parsable", script});
  if (!c.started)
    throw InputError(
        fmt::format("sbatch: not found (is this a Slurm login node?); the job script is {}", script));
  if (!succeeded(c)) throw InputError(fmt::format("sbatch refused {}: {}", script, text::trim(c.output)));
  // --parsable prints "jobid" or "jobid;cluster" as its last line; warnings may come before it.
  std::istringstream in(c.output);
  for (std::string line; std::getline(in, line);)
    if (const auto id = text::to_unsigned(text::trim(line.substr(0, line.find(';')))))
      sub.job_id = std::to_string(*id);
  if (sub.job_id.empty())
    throw InputError(fmt::format("sbatch {}: no job id in its output: {}", script, c.output));
  write_file_atomic(sub.folder.string(), "job_id", sub.job_id + "\n");
  return sub;
}

int run_slurm_task(const fs::path& submission, std::size_t task) {
  const SweepDir dir{submission.parent_path().parent_path()};
  const SweepPlan plan = read_manifest(dir);
  std::ifstream tasks(submission / "tasks.txt");
  if (!tasks) throw InputError(fmt::format("{}: cannot read", (submission / "tasks.txt").string()));
  std::string line;
  for (std::size_t i = 0; i <= task; ++i)
    if (!std::getline(tasks, line))
      throw InputError(fmt::format("{}: no task {}", (submission / "tasks.txt").string(), task));
  std::vector<std::string> ids;
  std::istringstream words(line);
  for (std::string id; words >> id;) ids.push_back(id);

  SweepLock lock(dir, SweepLock::Mode::kShared);
  RunnerOptions o;
  o.binary = self_binary();
  o.exclusive = false;
  const char* cpus = std::getenv("SLURM_CPUS_PER_TASK");
  o.jobs =
      cpus ? static_cast<unsigned>(std::max<std::uint64_t>(1, text::to_unsigned(cpus, 1024).value_or(1))) : 1;
  const RunOutcome r = run_points(dir, plan, ids, o);
  std::cout << fmt::format(
      "tacsim sweep task {}: {} points: {} ran, {} failed, {} done before, in {:.1f} s\n", task, ids.size(),
      r.ran, r.failed, r.done_before, r.wall_s);
  if (r.stopped_by) return 128 + r.stopped_by;
  return r.failed || r.check_failed ? 1 : 0;
}

}  // namespace tacsim::sim
