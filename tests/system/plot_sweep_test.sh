#!/usr/bin/env bash
# tools/plot_sweep.py on a small sweep: it writes a PNG, and its Pareto front is the one `tacsim pareto` prints
# (the same rule in two languages, held together here). Needs Debian's python3-matplotlib for /usr/bin/python3:
# installed with apt when missing and root, else the test is skipped (exit 77) with the reason.
#   plot_sweep_test.sh TACSIM SOURCE_DIR WORK_DIR
set -uo pipefail
tacsim=$1 src=$2 work=$3
skip() { echo "plot_sweep_test: SKIPPED: $*"; exit 77; }
fail() { echo "plot_sweep_test: FAILED: $*" >&2; exit 1; }

if ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  [ "$(id -u)" -eq 0 ] || skip "/usr/bin/python3 has no matplotlib (apt-get install python3-matplotlib)"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-matplotlib; } \
    >"$work.apt.log" 2>&1 || skip "cannot install python3-matplotlib with apt (log: $work.apt.log)"
fi
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1

"$tacsim" sweep --workload gemm --set gemm.m=32 --set gemm.n=64 --set gemm.k=64 --grid pe_array.rows=8,16,32 \
  --grid gemm.sparsity=dense,2:4,1:4 --grid dram.preset=hbm2,ddr4-3200 --metric cycles,pe_utilization,dram_bytes \
  --quiet --out s || fail "the sweep failed"
/usr/bin/python3 "$src/tools/plot_sweep.py" s --x cycles --y pe_utilization --maximize pe_utilization \
  --color gemm.sparsity --out plot.png --print-front >front-py.txt || fail "plot_sweep.py failed"
[ "$(head -c 8 plot.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "plot.png is not a PNG"
[ "$(wc -c <plot.png)" -gt 10000 ] || fail "plot.png is suspiciously small"

"$tacsim" pareto s --x cycles --y pe_utilization --maximize pe_utilization --format csv | tail -n +2 | cut -d, -f1 |
  sort >front-tacsim.txt
sort front-py.txt | diff - front-tacsim.txt || fail "the plot's front differs from tacsim pareto's"
[ -s front-tacsim.txt ] || fail "an empty front"

# A numeric colour and bad input.
/usr/bin/python3 "$src/tools/plot_sweep.py" s --x cycles --y dram_bytes --color pe_array.rows --out numeric.png \
  2>/dev/null || fail "a numeric colour"
/usr/bin/python3 "$src/tools/plot_sweep.py" s --x cycles --y latency 2>err.txt
[ $? -eq 2 ] && grep -q "no column 'latency'" err.txt || fail "an unknown column is not an error naming it"
echo "plot_sweep_test: passed ($(wc -l <front-tacsim.txt) points on the front)"
