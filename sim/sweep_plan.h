#pragma once
// A sweep's plan: every point resolved to its configuration before anything runs, each named by a content
// hash of that configuration, and the folder that holds the sweep:
//   DIR/sweep.json          the plan (the manifest): base `tacsim run` arguments, swept keys, points, metrics
//   DIR/points/<id>/        a finished point's result folder (renamed into place when complete)
//   DIR/points/.tmp/        points being run; anything left there by a killed sweep is removed and rerun
//   DIR/failed/<id>.txt     why a point failed (its exit status and error); it is retried on the next start
//   DIR/sweep.log           one line per point started, finished or failed, appended
//   DIR/results.csv         one row per point: its parameters and metrics (sweep_results.h)
//   DIR/slurm/<n>/          the n-th Slurm submission: array script, task lists, logs (sweep_slurm.h)
//   DIR/.lock               held (flock) by whatever runs the sweep's points (sweep_runner.h)
// A second start with the same plan runs only the points without a result folder; another plan in the same
// folder is an error.
#include <filesystem>
#include <string>
#include <vector>

#include "sim/sweep_spec.h"

namespace tacsim::sim {

struct SweepPoint {
  std::string id;                   // kIdDigits hex digits of the SHA-256 of the point's identity text
  std::vector<std::string> values;  // in SweepPlan::parameters order
};

constexpr std::size_t kIdDigits = 16;

struct SweepPlan {
  std::vector<std::string> run_args;    // `tacsim run` arguments every point shares (the base)
  std::vector<std::string> parameters;  // the swept keys
  std::vector<SweepPoint> points;       // distinct configurations, in the spec's order
  std::vector<std::string> metrics;
  std::size_t merged = 0;  // spec points whose configuration an earlier point already has

  // `tacsim run` arguments of one point: the base, then --set KEY=VALUE per swept key.
  std::vector<std::string> point_args(const SweepPoint& p) const;
  const SweepPoint* find(const std::string& id) const;
  // "pe_array.rows=16 dram.preset=hbm2": a point as a reader knows it.
  std::string describe(const SweepPoint& p) const;
};

struct SweepDir {
  std::filesystem::path root;

  std::filesystem::path manifest() const { return root / "sweep.json"; }
  std::filesystem::path points() const { return root / "points"; }
  std::filesystem::path point(const std::string& id) const { return points() / id; }
  std::filesystem::path tmp() const { return points() / ".tmp"; }
  std::filesystem::path failed(const std::string& id) const { return root / "failed" / (id + ".txt"); }
  std::filesystem::path log() const { return root / "sweep.log"; }
  std::filesystem::path results() const { return root / "results.csv"; }
  std::filesystem::path slurm() const { return root / "slurm"; }
  std::filesystem::path lock() const { return root / ".lock"; }

  bool done(const std::string& id) const;  // its result folder is in place
  bool failed_before(const std::string& id) const;
};

// The identity of `tacsim run ARGS`: the resolved configuration, every key and value (so a preset's timings
// and a model's derived lengths count, and the spelling of the command line does not), plus any run option
// that is not configuration. Resolving is what `tacsim run` does first, so a bad value throws InputError
// here.
std::string point_identity(const std::vector<std::string>& run_args);
std::string point_id(const std::vector<std::string>& run_args);
// The identity a finished point's folder records: its config.ini resolved again, and the same extra options.
std::string result_id(const std::filesystem::path& result_dir, const std::vector<std::string>& run_args);

// Resolves every point of `spec` on top of `run_args` (which the spec's [base] keys join, before them).
// Throws InputError on the first point that does not resolve, naming the point and the key.
SweepPlan plan_sweep(const SweepSpec& spec, const std::vector<std::string>& run_args);

// The manifest (DIR/sweep.json), written atomically; reading throws InputError naming the file.
void write_manifest(const SweepDir& dir, const SweepPlan& plan);
SweepPlan read_manifest(const SweepDir& dir);

// Takes DIR for `plan`: creates it, or checks that the sweep in it is this one (same points), and writes the
// manifest. Throws InputError when DIR holds something else.
void claim_sweep_dir(const SweepDir& dir, const SweepPlan& plan);

}  // namespace tacsim::sim
