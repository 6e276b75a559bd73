#!/usr/bin/env bash
# `cmake --install` puts a tacsim that runs from anywhere: the installed binary finds the installed model zoo
# DRAM presets and bundled traces (not the source tree's), and TACSIM_MODELS_DIR still overrides them.
#   install_test.sh BUILD_DIR WORK_DIR
set -euo pipefail
build=$1 work=$2
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
bin="$work/prefix/bin/tacsim"
share="$work/prefix/share/tacsim"
[ -x "$bin" ] || { echo "install_test: no $bin" >&2; exit 1; }
[ -f "$share/models/bert-base.model" ] || { echo "install_test: no models in $share" >&2; exit 1; }
[ -f "$share/dram-presets/hbm2.ini" ] || { echo "install_test: no presets in $share" >&2; exit 1; }
# A model and a preset that exist only in the installed folders prove which folders the binary reads.
sed 's/^name = bert-tiny/name = installed-only/' "$share/models/bert-tiny.model" >"$share/models/installed-only.model"
cp "$share/dram-presets/hbm2.ini" "$share/dram-presets/installed-hbm2.ini"
cd "$work"
"$bin" run -q --model installed-only --seq-len 16 --set dram.preset=installed-hbm2 --out "$work/r"
grep -q '"model.name": "installed-only"' "$work/r/stats.json"
# The override still wins.
mkdir -p "$work/zoo"
sed 's/^name = bert-tiny/name = mine/' "$share/models/bert-tiny.model" >"$work/zoo/mine.model"
TACSIM_MODELS_DIR="$work/zoo" "$bin" run -q --model mine --seq-len 16 --out "$work/r2"
if TACSIM_MODELS_DIR="$work/zoo" "$bin" run -q --model bert-base --out "$work/r3" 2>"$work/err.txt"; then
  echo "install_test: TACSIM_MODELS_DIR did not replace the installed zoo" >&2
  exit 1
fi
grep -q "known models: mine" "$work/err.txt"
# A bundled trace by name: the installed copy (a trace only there proves it).
[ -f "$share/traces/sst2-dev.csv" ] || { echo "install_test: no traces in $share" >&2; exit 1; }
head -12 "$share/traces/sst2-dev.csv" >"$share/traces/installed-only.csv"
"$bin" run -q --model bert-tiny --trace installed-only --out "$work/r4"
grep -q '"requests": 10' "$work/r4/stats.json"
echo "install_test: passed"
