#pragma once
// Runs a sweep's points on this machine, each as its own `tacsim run` process (SystemC elaborates once per
// process), at most `jobs` at a time. A point runs into DIR/points/.tmp/, and its folder is renamed to
// DIR/points/<id>/ only after the run succeeded and its config.ini resolved to the point's id, so a point's
// folder is there complete or not at all. Children die with the sweep (PR_SET_PDEATHSIG), even on kill -9.
// SIGINT or SIGTERM stops the sweep: no new points, the running ones stopped and their partial folders
// removed; a second signal exits at once.
#include <cstddef>
#include <string>
#include <vector>

#include "sim/sweep_plan.h"

namespace tacsim::sim {

// An advisory lock on DIR/.lock (flock), held while the object lives. A sweep on this machine holds it
// exclusively; the Slurm tasks of one submission share it. Creates DIR when it does not exist.
class SweepLock {
 public:
  enum class Mode { kExclusive, kShared };
  // Throws InputError when an exclusive lock is wanted and DIR is busy.
  SweepLock(const SweepDir& dir, Mode mode);
  ~SweepLock();
  SweepLock(const SweepLock&) = delete;
  SweepLock& operator=(const SweepLock&) = delete;

 private:
  int fd_ = -1;
};

struct RunnerOptions {
  std::string binary;  // the tacsim executable the points run
  unsigned jobs = 1;
  bool progress = false;  // a progress line on stderr (done/total, rate, ETA)
  bool quiet = false;     // no line per failed point
  // The only runner on DIR: partial folders of earlier, killed sweeps are removed before it starts.
  bool exclusive = true;
};

struct RunOutcome {
  std::size_t done_before = 0;   // points whose folders were already in place
  std::size_t ran = 0;           // points that finished and whose folders are in place
  std::size_t failed = 0;        // points whose run failed (DIR/failed/<id>.txt says why)
  std::size_t check_failed = 0;  // points that ran and whose value check failed (exit 1; results kept)
  int stopped_by = 0;            // SIGINT or SIGTERM when a signal stopped the sweep, else 0
  double wall_s = 0;
};

// Runs the points among `ids` whose folders are not in place yet; the progress line counts all of `ids`.
RunOutcome run_points(const SweepDir& dir, const SweepPlan& plan, const std::vector<std::string>& ids,
                      const RunnerOptions& options);

// The running tacsim binary's path (/proc/self/exe), for the points' processes and Slurm scripts.
std::string self_binary();

}  // namespace tacsim::sim
