#!/usr/bin/env bash
# A result folder is all or nothing (sim/result_set.h): a reused --out never mixes two runs; a failed, stopped
# (SIGINT, SIGTERM), killed (kill -9) or disk-full run leaves the previous complete set; a stop exits 130/143
# with one line; the next run removes what a killed run left beside --out. A VCD written beside the set (--vcd)
# follows the same rules.
#   result_set_test.sh TACSIM WORK_DIR
set -uo pipefail
tacsim=$1 work=$2
rm -rf "$work"
mkdir -p "$work"
cd "$work"
fail() { echo "result_set_test: $*" >&2; exit 1; }
leftovers() { find "$work" -maxdepth 1 -name '.out.partial.*' | wc -l; }

# A model run, then a GEMM run into the same folder: the GEMM's set replaces the model's whole.
"$tacsim" run -q --model bert-tiny --seq-len 16 --out out || fail "first run failed"
[ -f out/ops.csv ] || fail "a model run writes ops.csv"
"$tacsim" run -q --workload gemm --set gemm.m=64 --out out || fail "second run failed"
[ -f out/ops.csv ] && fail "the GEMM run's set still holds the model run's ops.csv"
grep -q '"sim.workload": "gemm"' out/stats.json || fail "stats.json is not the GEMM run's"
previous=$(cat out/stats.json)

# A run that fails after it started (HP's ffn_down: one token's 3,072 activations do not fit half of a 2 KiB
# buffer) leaves the set.
if "$tacsim" run -q --model bert-base --set sparsity.weights=hp --set act_buffer.capacity_kib=2 --out out 2>err.txt; then
  fail "a run that cannot fit its operands succeeded"
fi
[ "$(cat out/stats.json)" = "$previous" ] || fail "a failed run changed the previous results"
[ "$(leftovers)" = 0 ] || fail "a failed run left its staging folder"

# A folder that holds something else is refused, untouched.
mkdir -p notes && echo keep >notes/mine.txt
"$tacsim" run -q --workload gemm --out notes 2>err.txt && fail "a run replaced a folder of other files"
grep -q "notes: holds files but no tacsim result" err.txt || fail "unexpected message: $(cat err.txt)"
[ "$(cat notes/mine.txt)" = keep ] || fail "the refused folder changed"

# SIGINT and SIGTERM mid-run: 130 and 143, one line, the previous set intact, nothing left beside it.
stop_mid_run() {
  local sig=$1 want=$2
  "$tacsim" run -q --model bert-base --seq-len 256 --out out 2>err.txt &
  local pid=$!
  for _ in $(seq 1 500); do [ "$(leftovers)" = 1 ] && break; sleep 0.02; done
  [ "$(leftovers)" = 1 ] || fail "the run never staged its results"
  sleep 0.2
  kill -s "$sig" "$pid"
  wait "$pid"
  local code=$?
  [ "$code" = "$want" ] || fail "SIG$sig: exit $code, expected $want"
  grep -q "^tacsim: stopped, no results written (out left as it was) by SIG$sig$" err.txt ||
    fail "SIG$sig: unexpected message: $(cat err.txt)"
  [ "$(grep -c . err.txt)" = 1 ] || fail "SIG$sig: more than one line: $(cat err.txt)"
  [ "$(cat out/stats.json)" = "$previous" ] || fail "SIG$sig changed the previous results"
  [ "$(leftovers)" = 0 ] || fail "SIG$sig left the staging folder"
}
stop_mid_run INT 130
stop_mid_run TERM 143

# A VCD at the user's path follows the set (ResultSet::stage_file): a stopped run leaves the previous waves and
# nothing staged beside them; what kill -9 left, the next traced run removes.
"$tacsim" run -q --workload gemm --set gemm.m=32 --out out --vcd w.vcd || fail "a traced run failed"
[ -s w.vcd ] && [ -s w.gtkw ] || fail "a traced run wrote no w.vcd and w.gtkw"
waves=$(cksum <w.vcd)
previous=$(cat out/stats.json)
staged_waves() { find "$work" -maxdepth 1 -name '.w.*.partial.*' | wc -l; }
for sig in INT KILL; do
  "$tacsim" run -q --model bert-base --seq-len 256 --out out --vcd w.vcd 2>/dev/null &
  pid=$!
  for _ in $(seq 1 500); do [ "$(staged_waves)" = 2 ] && break; sleep 0.02; done
  [ "$(staged_waves)" = 2 ] || fail "the traced run never staged its VCD and save file"
  sleep 0.2
  kill -s "$sig" "$pid"
  wait "$pid" 2>/dev/null
  [ "$(cksum <w.vcd)" = "$waves" ] || fail "SIG$sig changed the previous waves"
  [ "$(cat out/stats.json)" = "$previous" ] || fail "SIG$sig changed the previous results"
  [ "$sig" = KILL ] || [ "$(staged_waves)" = 0 ] || fail "SIG$sig left the staged waves"
done
[ "$(staged_waves)" = 2 ] || fail "kill -9 should leave the staged waves for the next run to remove"
"$tacsim" run -q --workload gemm --set gemm.m=32 --out out --vcd w.vcd || fail "the traced run after kill -9 failed"
[ "$(staged_waves)" = 0 ] || fail "the next traced run did not remove what kill -9 left"
[ "$(leftovers)" = 0 ] || fail "staging folders left"
previous=$(cat out/stats.json)

# kill -9 leaves the previous set and a staging folder, which the next run beside it removes.
"$tacsim" run -q --model bert-base --seq-len 256 --out out 2>/dev/null &
pid=$!
for _ in $(seq 1 500); do [ "$(leftovers)" = 1 ] && break; sleep 0.02; done
sleep 0.2
kill -9 "$pid"
wait "$pid" 2>/dev/null
[ "$(cat out/stats.json)" = "$previous" ] || fail "kill -9 changed the previous results"
"$tacsim" run -q --workload gemm --set gemm.m=32 --out out || fail "the run after kill -9 failed"
[ "$(leftovers)" = 0 ] || fail "the next run did not remove the killed run's staging folder"
grep -q '"gemm.m": "32"' out/stats.json || fail "the run after kill -9 did not put its results"
previous=$(cat out/stats.json)

# A full disk (here: a file-size limit, its signal ignored so writes fail as on a full disk): an input error
# naming the file, the previous set intact.
if (trap '' XFSZ; ulimit -f 1; exec "$tacsim" run -q --workload gemm --set gemm.m=64 --out out 2>err.txt); then
  fail "a run that could not write its results succeeded"
fi
grep -q "cannot write" err.txt || fail "disk full: unexpected message: $(cat err.txt)"
[ "$(cat out/stats.json)" = "$previous" ] || fail "a run that could not write changed the previous results"
[ "$(leftovers)" = 0 ] || fail "a run that could not write left its staging folder"
echo "result_set_test: passed"
