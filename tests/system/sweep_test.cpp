// `tacsim sweep`, `pareto` and `select` end to end on tiny GEMM points: every point runs once into its own
// folder, results.csv is the same whatever the parallelism, a sweep killed with kill -9 or stopped with
// Ctrl-C resumes with every point exactly once, bad specs fail before anything runs, and the Slurm backend's
// script, task packing and collection work (against stand-ins for sbatch and squeue; the real Slurm test is
// tests/system/sweep_slurm_test.sh).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "tests/support/system_test.h"

namespace {

using namespace tacsim::testing_support;
using namespace std::chrono_literals;

std::vector<std::vector<std::string>> read_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells(1);
    for (char c : line) {
      if (c == ',')
        cells.emplace_back();
      else
        cells.back() += c;
    }
    rows.push_back(cells);
  }
  return rows;
}

class SweepTest : public SystemTest {
 protected:
  // About 20 ms a point.
  const std::string tiny = "--workload gemm --set gemm.m=32 --set gemm.n=64 --set gemm.k=64 ";
  // About 0.1 s a point: long enough to be caught running.
  const std::string slow = "--workload gemm --set gemm.m=128 ";

  std::string out(const std::string& name) const { return (dir_ / name).string(); }
  std::vector<std::vector<std::string>> results(const std::string& name) {
    return read_csv(slurp(dir_ / name / "results.csv"));
  }
  // Point folders in place (not the temporary area).
  std::set<std::string> points(const std::string& name) {
    std::set<std::string> ids;
    for (const auto& e : fs::directory_iterator(dir_ / name / "points"))
      if (e.path().filename().string()[0] != '.') ids.insert(e.path().filename().string());
    return ids;
  }
  // How often the log says each point finished.
  std::map<std::string, int> done_lines(const std::string& name) {
    std::map<std::string, int> n;
    std::istringstream in(slurp(dir_ / name / "sweep.log"));
    for (std::string t, event, id; in >> t >> event >> id; in.ignore(1 << 20, '\n'))
      if (event == "done") ++n[id];
    return n;
  }
  // Starts `tacsim ARGS` without waiting for it.
  pid_t start(const std::string& args) {
    const pid_t pid = fork();
    if (pid == 0) {
      const std::string cmd = "exec " + std::string(TACSIM_BINARY) + " " + args + " >" +
                              (dir_ / "bg.out").string() + " 2>" + (dir_ / "bg.err").string();
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    return pid;
  }
  int wait_exit(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  void wait_for_done(const std::string& name, int n) {
    for (int i = 0; i < 6000; ++i) {  // a minute: sanitizer builds on a busy machine are slow
      int total = 0;
      if (fs::exists(dir_ / name / "sweep.log"))
        for (const auto& [id, k] : done_lines(name)) total += k;
      if (total >= n) return;
      std::this_thread::sleep_for(10ms);
    }
    FAIL() << "the sweep did not finish " << n << " points in time";
  }
  // Processes whose command line names `path`: the points a sweep left running.
  int processes_using(const std::string& path) {
    int n = 0;
    for (const auto& e : fs::directory_iterator("/proc")) {
      const std::string name = e.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos || name == std::to_string(getpid()))
        continue;
      std::string cmdline = slurp(e.path() / "cmdline");
      for (char& c : cmdline) c = c == '\0' ? ' ' : c;
      n += cmdline.find(path) != std::string::npos && cmdline.find(" run ") != std::string::npos;
    }
    return n;
  }
  void expect_no_points_left_running(const std::string& name) {
    for (int i = 0; i < 500 && processes_using(out(name)) > 0; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_EQ(processes_using(out(name)), 0);
  }
};

TEST_F(SweepTest, EveryPointRunsOnceIntoItsOwnFolder) {
  const std::string cmd =
      "sweep " + tiny +
      "--grid pe_array.rows=16,32 --grid dram.preset=ddr4-3200,hbm2 --metric cycles,dram_bytes "
      "--jobs 2 --out " +
      out("s");
  const Result r = tacsim(cmd);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("4 of 4 points done"), std::string::npos) << r.out;
  const auto rows = results("s");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"point", "status", "pe_array.rows", "dram.preset", "cycles",
                                               "dram_bytes"}));
  // The first grid key varies slowest.
  EXPECT_EQ(rows[1][2] + " " + rows[1][3], "16 ddr4-3200");
  EXPECT_EQ(rows[2][2] + " " + rows[2][3], "16 hbm2");
  EXPECT_EQ(rows[4][2] + " " + rows[4][3], "32 hbm2");
  for (std::size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][1], "done");
    const auto s = stats("s/points/" + rows[i][0]);
    EXPECT_EQ(std::to_string(s["summary"]["cycles"].get<long>()), rows[i][4]);
    // DRAM bytes are whole bursts, so they depend on the device and the tiles: each row has its point's.
    EXPECT_EQ(std::to_string(s["summary"]["dram_bytes"].get<long>()), rows[i][5]);
    EXPECT_EQ(s["config"]["pe_array.rows"], rows[i][2]);
  }
  EXPECT_EQ(points("s").size(), 4u);

  // Again: nothing runs, the same results.
  const std::string before = slurp(dir_ / "s" / "results.csv");
  const Result again = tacsim(cmd);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(slurp(dir_ / "s" / "results.csv"), before);
  for (const auto& [id, n] : done_lines("s")) EXPECT_EQ(n, 1) << id;
}

TEST_F(SweepTest, ResultsDoNotDependOnTheParallelism) {
  const std::string grid =
      "sweep " + tiny + "--grid pe_array.rows=8,16,32 --zip sim.seed=1,2 --zip gemm.sparsity=dense,2:4 ";
  ASSERT_EQ(tacsim(grid + "--jobs 1 --out " + out("a")).code, 0);
  ASSERT_EQ(tacsim(grid + "--jobs 4 --out " + out("b")).code, 0);
  const std::string a = slurp(dir_ / "a" / "results.csv");
  EXPECT_EQ(a, slurp(dir_ / "b" / "results.csv"));
  EXPECT_EQ(results("a").size(), 7u);
}

TEST_F(SweepTest, BadSpecsFailBeforeAnythingRuns) {
  const std::pair<std::string, std::string> cases[] = {
      {"--grid pe_array.rowz=16,32",
       "--grid pe_array.rowz: unknown config key (did you mean pe_array.rows?)"},
      {"--grid pe_array.rows=", "--grid pe_array.rows: no values"},
      {"--grid pe_array.rows=16,x", "(pe_array.rows=x): --set pe_array.rows: expected an unsigned integer"},
      {"--grid pe_array.rows=16,0", "(pe_array.rows=0): config: pe_array.rows: must be at least 1"},
      {"--grid pe_array.rows", "--grid 'pe_array.rows': expected KEY=V1,V2"},
      {"--zip pe_array.rows=8,16 --zip pe_array.cols=8", "zipped lists must have one length"},
      {"--random 'accel.clock_mhz=uniform(500,1500)'", "random keys need a number of samples"},
      {"--grid pe_array.rows=16 --metric cylces", "--metric cylces: tacsim writes no summary figure"},
      {"--grid pe_array.rows=16 --metric config.pe_array.rowz", "did you mean config.pe_array.rows?"},
      {"--grid pe_array.rows=16 --jobs 0", "--jobs: must be at least 1"},
      {"", "nothing to sweep"},
  };
  for (const auto& [args, message] : cases) {
    const Result r = tacsim("sweep " + tiny + args + " --out " + out("bad"));
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "bad")) << args;
  }
}

TEST_F(SweepTest, AFolderKeepsItsSweep) {
  ASSERT_EQ(tacsim("sweep " + tiny + "--grid pe_array.rows=16,32 --out " + out("s")).code, 0);
  const Result other = tacsim("sweep " + tiny + "--grid pe_array.rows=16,64 --out " + out("s"));
  EXPECT_EQ(other.code, 2);
  EXPECT_NE(other.err.find("holds another sweep (2 points over pe_array.rows)"), std::string::npos)
      << other.err;
  // Another metric is the same sweep: results.csv is rewritten, nothing runs.
  const Result metrics =
      tacsim("sweep " + tiny + "--grid pe_array.rows=16,32 --metric macs --out " + out("s"));
  EXPECT_EQ(metrics.code, 0) << metrics.err;
  EXPECT_EQ(results("s")[0].back(), "macs");
  EXPECT_EQ(done_lines("s").size(), 2u);
  // A run's result folder is not a sweep folder.
  ASSERT_EQ(tacsim("run -q " + tiny + "--out " + out("run")).code, 0);
  const Result r = tacsim("sweep " + tiny + "--grid pe_array.rows=16 --out " + out("run"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("is not a sweep folder"), std::string::npos) << r.err;
}

TEST_F(SweepTest, KillDashNineThenResumeRunsEveryPointExactlyOnce) {
  const std::string cmd =
      "sweep " + slow + "--grid pe_array.rows=16,32 --grid sim.seed=1,2,3,4 --jobs 2 --out " + out("k");
  const pid_t pid = start(cmd);
  wait_for_done("k", 2);
  kill(pid, SIGKILL);
  EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);
  // The points it was running die with it.
  expect_no_points_left_running("k");
  const auto before = points("k");
  EXPECT_GE(before.size(), 2u);
  EXPECT_LT(before.size(), 8u) << "killed too late to test anything";

  const Result r = tacsim(cmd);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(points("k").size(), 8u);
  const auto rows = results("k");
  ASSERT_EQ(rows.size(), 9u);
  std::set<std::string> ids;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][1], "done");
    ids.insert(rows[i][0]);
  }
  EXPECT_EQ(ids, points("k"));
  // Nothing finished twice: the points done before the kill did not run again. (A point the kill caught
  // between its rename and its log line is done without a line.)
  const auto done = done_lines("k");
  EXPECT_GE(done.size(), 7u);
  for (const auto& [id, n] : done) EXPECT_EQ(n, 1) << id;
  EXPECT_TRUE(fs::is_empty(dir_ / "k" / "points" / ".tmp"));
}

TEST_F(SweepTest, CtrlCStopsCleanlyAndTheSameCommandResumes) {
  const std::string cmd =
      "sweep " + slow + "--grid pe_array.rows=16,32,64 --grid sim.seed=1,2,3 --jobs 2 --out " + out("c");
  const pid_t pid = start(cmd);
  wait_for_done("c", 2);
  kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 130);
  const std::string err = slurp(dir_ / "bg.err");
  EXPECT_NE(err.find("tacsim sweep: stopped by Ctrl-C: "), std::string::npos) << err;
  EXPECT_NE(err.find("the same command resumes"), std::string::npos) << err;
  expect_no_points_left_running("c");
  EXPECT_TRUE(fs::is_empty(dir_ / "c" / "points" / ".tmp")) << "partial folders are removed";
  // results.csv holds what is done, and the rest as pending.
  const auto partial = results("c");
  ASSERT_EQ(partial.size(), 10u);
  std::size_t pending = 0;
  for (std::size_t i = 1; i < partial.size(); ++i) pending += partial[i][1] == "pending";
  EXPECT_EQ(pending, 9 - points("c").size());

  ASSERT_EQ(tacsim(cmd).code, 0);
  EXPECT_EQ(points("c").size(), 9u);
  for (const auto& [id, n] : done_lines("c")) EXPECT_EQ(n, 1) << id;
}

TEST_F(SweepTest, AFailedPointIsReportedKeptOutAndRetried) {
  // HP weights need the row engines to divide an HP block's rows (their reads are kept apart within one
  // block row); 2:4 weights run on the PE array, whatever the HP datapath's engines.
  const std::string cmd =
      "sweep --model bert-tiny --seq-len 32 --set hp_datapath.row_engines=3 "
      "--grid sparsity.weights=2:4,hp --jobs 2 --out " +
      out("f");
  const Result r = tacsim(cmd);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("(sparsity.weights=hp) failed: exit 2: model: layer0.q_proj: hp_datapath.row_engines"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("1 of 2 points done, 1 failed"), std::string::npos) << r.err;
  const auto rows = results("f");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1][1], "done");
  EXPECT_EQ(rows[2][1], "failed");
  EXPECT_EQ(rows[2][3], "");
  EXPECT_NE(
      slurp(dir_ / "f" / "failed" / (rows[2][0] + ".txt")).find("command: tacsim run --model bert-tiny"),
      std::string::npos);
  EXPECT_EQ(tacsim(cmd).code, 1);  // tried again
  EXPECT_EQ(done_lines("f").size(), 1u);
}

TEST_F(SweepTest, AMisspeltFigureIsNamedAfterTheRun) {
  const Result r =
      tacsim("sweep " + tiny + "--grid pe_array.rows=16 --metric modules.accel.engine0.pe_aray.macs --out " +
             out("m"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no finished point has the figure modules.accel.engine0.pe_aray.macs (did you mean "
                       "modules.accel.engine0.pe_array.macs?)"),
            std::string::npos)
      << r.err;
  // The points are kept: with the name right, nothing runs again.
  const Result fixed =
      tacsim("sweep --collect " + out("m") + " --metric modules.accel.engine0.pe_array.macs");
  EXPECT_EQ(fixed.code, 0) << fixed.err;
  EXPECT_EQ(results("m")[0].back(), "modules.accel.engine0.pe_array.macs");
}

TEST_F(SweepTest, RandomSamplesAndSweepFiles) {
  const fs::path spec = dir_ / "space.ini";
  std::ofstream(spec)
      << "[sweep]\nmetrics = cycles\nsamples = 3\nseed = 11\n"
         "[base]\ngemm.m = 32\ngemm.n = 64\ngemm.k = 64\n"
         "[grid]\ndram.preset = hbm2, ddr4-3200\n"
         "[random]\npe_array.rows = choice(8, 16, 32)\naccel.clock_mhz = uniform(500, 1500)\n";
  const Result plan = tacsim("sweep --workload gemm --spec " + spec.string() + " --dry-run");
  ASSERT_EQ(plan.code, 0) << plan.err;
  EXPECT_EQ(plan.out, tacsim("sweep --workload gemm --spec " + spec.string() + " --dry-run").out);
  EXPECT_NE(plan.out.find("sweep: 6 points over dram.preset, pe_array.rows, accel.clock_mhz"),
            std::string::npos)
      << plan.out;
  EXPECT_FALSE(fs::exists(dir_ / "results")) << "a dry run writes nothing";
  ASSERT_EQ(tacsim("sweep --workload gemm --spec " + spec.string() + " --out " + out("r")).code, 0);
  EXPECT_EQ(results("r").size(), 7u);
}

// The shipped sweep files resolve every point (a dry run resolves each point's configuration).
TEST_F(SweepTest, TheExampleSweepsResolve) {
  const fs::path examples = fs::path(TACSIM_SOURCE_DIR) / "examples" / "sweep";
  const Result space = tacsim("sweep --spec " + (examples / "design-space-100.ini").string() + " --dry-run");
  ASSERT_EQ(space.code, 0) << space.err;
  EXPECT_NE(space.out.find(
                "sweep: 100 points over sparsity.weights, pe_array.rows, pe_array.cols, act_buffer.banks, "
                "dram.preset, scheduler.policy"),
            std::string::npos)
      << space.out;
  const Result bert = tacsim("sweep --model bert-base --seq-len 32 --spec " +
                             (examples / "bert-base.ini").string() + " --dry-run");
  ASSERT_EQ(bert.code, 0) << bert.err;
}

TEST_F(SweepTest, ParetoFrontAndSelection) {
  ASSERT_EQ(tacsim("sweep " + tiny +
                   "--grid pe_array.rows=8,16,32 --grid gemm.sparsity=dense,2:4,1:4 --metric cycles --out " +
                   out("p"))
                .code,
            0);
  // Cost: the array's rows; latency: cycles. Every point of the front beats or ties every other in one.
  const Result all = tacsim("pareto " + out("p") + " --x cycles --y config.pe_array.rows --all --format csv");
  ASSERT_EQ(all.code, 0) << all.err;
  const auto rows = read_csv(all.out);
  ASSERT_EQ(rows.size(), 10u);
  ASSERT_EQ(rows[0].back(), "pareto");
  for (std::size_t i = 1; i < rows.size(); ++i) {
    bool dominated = false;
    const double ci = std::stod(rows[i][3]), ri = std::stod(rows[i][4]);
    for (std::size_t j = 1; j < rows.size(); ++j) {
      const double cj = std::stod(rows[j][3]), rj = std::stod(rows[j][4]);
      dominated |= cj <= ci && rj <= ri && (cj < ci || rj < ri);
    }
    EXPECT_EQ(rows[i][5], dominated ? "no" : "yes") << rows[i][0];
  }
  const Result table = tacsim("pareto " + out("p") + " --x cycles --y config.pe_array.rows");
  EXPECT_NE(table.out.find("Pareto front of " + out("p") + " (min cycles, min config.pe_array.rows)"),
            std::string::npos)
      << table.out;
  EXPECT_EQ(tacsim("pareto " + out("p") + " --x cycles --y macs --maximize nonsense").code, 2);

  // Accuracy by GEMM sparsity (a table with no model applies to GEMMs).
  const fs::path acc = dir_ / "acc.csv";
  std::ofstream(acc) << "model,task,weights,pruned_fraction,accuracy,method,source\n"
                        ",toy,dense,,0.90,none,test\n,toy,2:4,,0.85,any,test\n,toy,1:4,,0.70,any,test\n";
  const Result pick = tacsim("select " + out("p") + " --max-latency 1s --min-accuracy 0.8 --accuracy-table " +
                             acc.string() + " --cost config.pe_array.rows");
  ASSERT_EQ(pick.code, 0) << pick.err;
  // The 8-row array is cheapest; of its two accurate enough settings, 2:4 is faster.
  EXPECT_NE(pick.out.find("6 of 9 finished designs meet sim_time_ns <= 1s and accuracy >= 0.8 (toy)"),
            std::string::npos)
      << pick.out;
  std::istringstream lines(pick.out);
  std::string line, id, rows_value, sparsity;
  for (int i = 0; i < 3; ++i) std::getline(lines, line);  // the summary, the header, the cheapest
  std::istringstream(line) >> id >> rows_value >> sparsity;
  EXPECT_EQ(rows_value + " " + sparsity, "8 2:4") << pick.out;
  EXPECT_NE(pick.out.find("accuracy of 2:4 (toy, any): test"), std::string::npos) << pick.out;

  const Result none = tacsim("select " + out("p") + " --min-accuracy 95% --accuracy-table " + acc.string() +
                             " --cost config.pe_array.rows");
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.out.find("sparsity settings of this sweep that reach the accuracy: none"), std::string::npos)
      << none.out;
  EXPECT_EQ(tacsim("select " + out("p") + " --min-accuracy 0.9 --cost cycles").code, 2);  // no table
}

// Stand-ins for Slurm's commands: sbatch starts the array's tasks one after another in the background and
// answers at once, as Slurm does; squeue lists the job while they run (or while $FAKE_SLURM_ACTIVE is set).
class SweepSlurmScriptTest : public SweepTest {
 protected:
  void SetUp() override {
    SweepTest::SetUp();
    fs::create_directories(dir_ / "bin");
    std::ofstream(dir_ / "bin" / "sbatch")
        << "#!/bin/bash\n"
           "echo \"$@\" >>\"$FAKE_SLURM_LOG\"\n"
           "script=${@: -1}\n"
           "last=$(sed -n 's/^#SBATCH --array=0-//p' \"$script\")\n"
           "(for i in $(seq 0 \"$last\"); do\n"
           "  SLURM_ARRAY_TASK_ID=$i bash \"$script\" >\"$(dirname \"$script\")/task-$i.log\" 2>&1\n"
           "done) </dev/null >/dev/null 2>&1 &\n"
           "echo $! >\"$FAKE_SLURM_LOG.pid\"\n"
           "echo 4242\n";
    std::ofstream(dir_ / "bin" / "squeue") << "#!/bin/bash\n"
                                              "[ -n \"$FAKE_SLURM_ACTIVE\" ] && { echo 4242; exit 0; }\n"
                                              "pid=$(cat \"$FAKE_SLURM_LOG.pid\" 2>/dev/null)\n"
                                              "[ -n \"$pid\" ] && kill -0 \"$pid\" 2>/dev/null && echo 4242\n"
                                              "exit 0\n";
    fs::permissions(dir_ / "bin" / "sbatch", fs::perms::owner_all);
    fs::permissions(dir_ / "bin" / "squeue", fs::perms::owner_all);
  }
  // Runs tacsim with the stand-ins first on PATH (the environment passes to the commands it starts).
  Result slurm(const std::string& args, bool job_listed = false) {
    const std::string path = (dir_ / "bin").string() + ":" + std::getenv("PATH");
    setenv("PATH", path.c_str(), 1);
    setenv("FAKE_SLURM_LOG", (dir_ / "sbatch.log").c_str(), 1);
    if (job_listed) setenv("FAKE_SLURM_ACTIVE", "1", 1);
    const Result r = tacsim(args);
    unsetenv("FAKE_SLURM_ACTIVE");
    setenv("PATH", path.substr(path.find(':') + 1).c_str(), 1);
    return r;
  }
};

TEST_F(SweepSlurmScriptTest, PointsArePackedIntoArrayTasksAndCollected) {
  const std::string cmd =
      "sweep " + tiny +
      "--grid pe_array.rows=8,16,32 --grid sim.seed=1,2 --backend slurm --points-per-task 4 "
      "--partition debug --time 0:10:00 --sbatch=--account=arch --wait --out " +
      out("s");
  const Result r = slurm(cmd);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("submitted Slurm job 4242: 6 points in 2 array tasks"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("Slurm job 4242 finished: 6 of 6 points done"), std::string::npos) << r.out;
  const fs::path sub = dir_ / "s" / "slurm" / "1";
  const std::string script = slurp(sub / "array.sh");
  for (const char* line :
       {"#SBATCH --array=0-1\n", "#SBATCH --partition=debug\n", "#SBATCH --time=0:10:00\n",
        "#SBATCH --account=arch\n", "sweep --slurm-task \"$SLURM_ARRAY_TASK_ID\" --submission"})
    EXPECT_NE(script.find(line), std::string::npos) << line << "\n" << script;
  const auto tasks = read_csv(slurp(sub / "tasks.txt"));
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(std::count(tasks[0][0].begin(), tasks[0][0].end(), ' '), 3) << "4 points in the first task";
  EXPECT_NE(slurp(sub / "task-1.log").find("tacsim sweep task 1: 2 points: 2 ran, 0 failed"),
            std::string::npos);
  EXPECT_EQ(points("s").size(), 6u);
  EXPECT_EQ(slurp(sub / "job_id"), "4242\n");

  // Everything is done: nothing to submit.
  const Result again = slurm(cmd);
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("nothing to submit: 6 of 6 points done"), std::string::npos) << again.out;
  const std::string submitted = slurp(dir_ / "sbatch.log");
  EXPECT_EQ(std::count(submitted.begin(), submitted.end(), '\n'), 1) << submitted;
}

TEST_F(SweepSlurmScriptTest, ASubmissionStillRunningIsNotSubmittedTwice) {
  const std::string cmd =
      "sweep " + tiny + "--grid pe_array.rows=8,16 --backend slurm --wait --out " + out("s2");
  ASSERT_EQ(slurm(cmd).code, 0);
  const Result r = slurm(cmd, true);
  // All points are done, but the job is still listed: refuse rather than guess.
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("Slurm job 4242 of this sweep is still queued or running"), std::string::npos)
      << r.err;
}

TEST_F(SweepSlurmScriptTest, CollectShowsWhatIsPending) {
  const std::string sweep = "sweep " + tiny + "--grid pe_array.rows=8,16,32 --out " + out("p");
  ASSERT_EQ(tacsim(sweep).code, 0);
  fs::remove_all(dir_ / "p" / "points" / results("p")[2][0]);  // as if that point had not run yet
  const Result r = tacsim("sweep --collect " + out("p"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("2 of 3 points done, 1 pending"), std::string::npos) << r.err;
  EXPECT_EQ(results("p")[2][1], "pending");
  EXPECT_EQ(tacsim("sweep --collect " + out("nothing")).code, 2);
}

}  // namespace
