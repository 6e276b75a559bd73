#pragma once
// The Slurm backend: the points not yet done are packed into the tasks of one sbatch array job, written as
// DIR/slurm/<n>/array.sh (readable, and submittable again by hand), with DIR/slurm/<n>/tasks.txt listing
// each task's point ids, one task per line. Each array task runs
//   tacsim sweep --slurm-task $SLURM_ARRAY_TASK_ID --submission DIR/slurm/<n>
// which runs its points exactly as the local backend does (the same temporary folders, renames and
// checks), $SLURM_CPUS_PER_TASK at a time. `tacsim sweep --collect DIR` then gathers results.csv. The
// cluster must share DIR, the working folder and the tacsim binary between the nodes, as Slurm sites do.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "sim/sweep_plan.h"

namespace tacsim::sim {

struct SlurmOptions {
  std::size_t points_per_task = 16;
  std::string partition;                 // --partition, when given
  std::string time;                      // --time, when given
  std::vector<std::string> sbatch_args;  // further sbatch options, each an #SBATCH line
  std::string binary;                    // the tacsim binary the tasks run
  std::filesystem::path workdir;         // where the tasks run (relative paths in the run options)
};

// The array script for `tasks` tasks of submission folder `submission` (absolute paths).
std::string slurm_array_script(const std::filesystem::path& submission, std::size_t tasks,
                               const SlurmOptions& options);
// Packs `ids` into tasks of options.points_per_task: tasks.txt's text.
std::string slurm_task_lines(const std::vector<std::string>& ids, std::size_t points_per_task);

struct SlurmSubmission {
  std::filesystem::path folder;
  std::string job_id;
  std::size_t tasks = 0, points = 0;
};

// Refuses (InputError) while an earlier submission of this sweep is queued or running: its points would run
// twice. Otherwise nothing is in flight, and partial folders of killed tasks can go.
void check_no_active_submission(const SweepDir& dir);
// Writes DIR/slurm/<n>/ for `ids` (the points not done) and submits it with sbatch. Throws InputError when
// sbatch is missing or refuses the job (the script stays for a look).
SlurmSubmission submit_slurm(const SweepDir& dir, const std::vector<std::string>& ids,
                             const SlurmOptions& options);
// Whether Slurm still lists the job (squeue).
bool slurm_job_active(const std::string& job_id);

// One array task: runs the points of line `task` of the submission's tasks.txt. Returns the exit code.
int run_slurm_task(const std::filesystem::path& submission, std::size_t task);

}  // namespace tacsim::sim
