#!/usr/bin/env bash
# The Slurm backend against a real single-node Slurm cluster (tools/slurm/test-cluster): a sweep submitted as
# an array job with several points per task, waited for and collected, equals the same sweep run locally;
# a second submission finds nothing to do; a job left to run is gathered by --collect.
#   sweep_slurm_test.sh TACSIM SOURCE_DIR WORK_DIR
# Needs root (slurmd runs the jobs) and Debian's slurm-wlm and munge, which it installs with apt when they are
# missing. Without either it is skipped (exit 77) with the reason. CI runs it as root.
set -uo pipefail
tacsim=$1 src=$2 work=$3
t0=$(date +%s%N)
elapsed() { local ms=$((($(date +%s%N) - $1) / 1000000)); printf '%d.%02d s' $((ms / 1000)) $((ms % 1000 / 10)); }
skip() { echo "sweep_slurm_test: SKIPPED: $*"; exit 77; }
fail() { echo "sweep_slurm_test: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root to run slurmctld and slurmd (CI runs the suite as root)"
missing=()
for p in slurm-wlm munge; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "sweep_slurm_test: installing ${missing[*]}"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
    >"$work.apt.log" 2>&1 || skip "cannot install ${missing[*]} with apt (log: $work.apt.log)"
fi

rm -rf "$work"
mkdir -p "$work"
cluster=$work/cluster
trap '"$src/tools/slurm/test-cluster" stop "$cluster"' EXIT
t1=$(date +%s%N)
"$src/tools/slurm/test-cluster" start "$cluster" || fail "the test cluster did not start"
echo "sweep_slurm_test: cluster ready in $(elapsed "$t1")"
# shellcheck disable=SC1091
source "$cluster/env"
cd "$work" || exit 1

points=(--workload gemm --set gemm.m=32 --set gemm.n=64 --set gemm.k=64 --grid pe_array.rows=8,16,32
        --grid dram.preset=hbm2,ddr4-3200 --metric cycles,dram_bytes)

# 6 points in 2 array tasks (4 + 2), waited for.
t1=$(date +%s%N)
"$tacsim" sweep "${points[@]}" --backend slurm --points-per-task 4 --partition debug --time 0:10:00 --wait \
  --out slurm >out.txt 2>&1 || { cat out.txt; fail "the Slurm sweep failed"; }
echo "sweep_slurm_test: submitted, ran and collected in $(elapsed "$t1")"
grep -q 'Slurm job [0-9]* finished: 6 of 6 points done' out.txt || { cat out.txt; fail "no collection line"; }
[ "$(grep -c ',done,' slurm/results.csv)" -eq 6 ] || { cat slurm/results.csv; fail "results.csv lacks points"; }
grep -q '2 points: 2 ran, 0 failed' slurm/slurm/1/task-1.log || { cat slurm/slurm/1/task-*.log; fail "task 1"; }
[ "$(wc -l <slurm/slurm/1/tasks.txt)" -eq 2 ] || fail "expected 2 array tasks"

# The same sweep here: the same results, byte for byte.
"$tacsim" sweep "${points[@]}" --jobs 2 --quiet --out local || fail "the local sweep failed"
cmp slurm/results.csv local/results.csv || fail "Slurm and local results differ"

# Again: nothing to submit.
"$tacsim" sweep "${points[@]}" --backend slurm --out slurm >again.txt 2>&1 || { cat again.txt; fail "rerun"; }
grep -q 'nothing to submit' again.txt || { cat again.txt; fail "the rerun submitted something"; }
[ ! -d slurm/slurm/2 ] || fail "a second submission was made"

# Submitted without waiting, then collected once squeue no longer lists it.
"$tacsim" sweep "${points[@]}" --backend slurm --points-per-task 1 --out later >later.txt 2>&1 ||
  { cat later.txt; fail "submission"; }
job=$(cat later/slurm/1/job_id)
for _ in $(seq 1 600); do [ -z "$(squeue -h -j "$job" -o %i 2>/dev/null)" ] && break; sleep 0.1; done
"$tacsim" sweep --collect later >collect.txt 2>&1 || { cat collect.txt; fail "--collect"; }
cmp later/results.csv local/results.csv || fail "collected results differ"

echo "sweep_slurm_test: passed in $(elapsed "$t0")"
