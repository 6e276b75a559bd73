#!/usr/bin/env bash
# The VCDs tacsim writes, through GTKWave's own tools: vcd2fst then fst2vcd must give back the same signals
# with the same number of value changes each (vcd_check lists both), for a traced model run on two engines
# and for memtest on HBM2 (two command buses per channel). Needs Debian's gtkwave: installed with apt when
# missing and root, else the test is skipped (exit 77) with the reason.
#   vcd_gtkwave_test.sh TACSIM VCD_CHECK SOURCE_DIR WORK_DIR
set -uo pipefail
tacsim=$1 vcd_check=$2 src=$3 work=$4
skip() { echo "vcd_gtkwave_test: SKIPPED: $*"; exit 77; }
fail() { echo "vcd_gtkwave_test: FAILED: $*" >&2; exit 1; }

if ! command -v vcd2fst >/dev/null || ! command -v fst2vcd >/dev/null; then
  [ "$(id -u)" -eq 0 ] || skip "no vcd2fst/fst2vcd (apt-get install gtkwave)"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gtkwave; } \
    >"$work.apt.log" 2>&1 || skip "cannot install gtkwave with apt (log: $work.apt.log)"
fi
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1

round_trip() {
  local name=$1
  "$vcd_check" "$name.vcd" >"$name.list" || fail "$name.vcd is not a valid VCD"
  vcd2fst "$name.vcd" "$name.fst" >/dev/null 2>"$name.vcd2fst.log" || fail "vcd2fst $name.vcd: $(cat "$name.vcd2fst.log")"
  fst2vcd "$name.fst" >"$name.back.vcd" 2>"$name.fst2vcd.log" || fail "fst2vcd $name.fst: $(cat "$name.fst2vcd.log")"
  # fst2vcd adds a $date and pads vectors; the listing compares names, types, widths and change counts.
  "$vcd_check" "$name.back.vcd" --repeats-ok >"$name.back.list" || fail "fst2vcd's copy of $name.vcd is not valid"
  diff <(grep -v '^total' "$name.list") <(grep -v '^total' "$name.back.list") >"$name.diff" ||
    fail "$name: signals or change counts differ after vcd2fst + fst2vcd: $(head -5 "$name.diff")"
  [ "$(wc -l <"$name.list")" -gt 5 ] || fail "$name: suspiciously few signals"
  echo "  $name: $(tail -1 "$name.list")"
}

printf 'id,arrival_ns,seq_len\n0,0,12\n1,500,20\n2,1000,9\n' >t.csv
"$tacsim" run -q --model bert-tiny --engines 2 --trace t.csv --out r --vcd run.vcd || fail "the traced run failed"
round_trip run
"$tacsim" memtest -q --preset hbm2 --pattern random --bytes 65536 --out m --vcd mem.vcd --vcd-window 0:20us ||
  fail "the traced memtest failed"
round_trip mem
grep -q 'col_cmd' mem.list || fail "HBM2's column bus is not traced"
echo "vcd_gtkwave_test: passed"
