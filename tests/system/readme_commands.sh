#!/usr/bin/env bash
# Every command in the README's ```sh blocks runs, in order, as a user would type it, and exits 0 (or the code
# its comment names: "# exit 1: ..."). So the README cannot drift from the program.
#   readme_commands.sh TACSIM SOURCE_DIR WORK_DIR
# The commands run in WORK_DIR, where build/tacsim is the binary under test and examples/, traces/ and tools/ the
# source tree's (commands read them and write into results/).
# tools/run and tools/test are the set-up commands: tools/check-bare-debian runs those on a bare Debian 12.
set -uo pipefail
tacsim=$1 src=$2 work=$3
rm -rf "$work"
mkdir -p "$work/build"
ln -s "$tacsim" "$work/build/tacsim"
ln -s "$src/examples" "$work/examples"
ln -s "$src/traces" "$work/traces"
ln -s "$src/tools" "$work/tools"
cd "$work" || exit 2

commands=$(awk '/^```sh$/ { on = 1; next } /^```/ { on = 0 } on' "$src/README.md")
[ -n "$commands" ] || { echo "readme_commands: no \`\`\`sh block in $src/README.md" >&2; exit 1; }
failed=0 ran=0
while IFS= read -r line; do
  cmd=$(printf '%s' "$line" | sed -E 's/^[[:space:]]+//')
  [ -z "$cmd" ] && continue
  case "$cmd" in
    tools/run* | tools/test*) echo "-- (set-up, checked by tools/check-bare-debian) $cmd"; continue ;;
    build/tacsim*) ;;
    tools/plot_run.py*)
      if ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
        echo "-- (skipped: /usr/bin/python3 has no matplotlib) $cmd"
        continue
      fi
      ;;
    *) echo "readme_commands: no test runs this README command: $cmd" >&2; failed=1; continue ;;
  esac
  expected=0
  if [[ $cmd =~ \#[[:space:]]*exit[[:space:]]+([0-9]+) ]]; then expected=${BASH_REMATCH[1]}; fi
  start=$(date +%s%N)
  timeout 600 bash -c "$cmd" >"$work/out.txt" 2>&1
  code=$?
  ran=$((ran + 1))
  ms=$((($(date +%s%N) - start) / 1000000))
  printf -- '-- exit %d, %d.%02d s: %s\n' "$code" $((ms / 1000)) $((ms % 1000 / 10)) "$cmd"
  if [ "$code" -ne "$expected" ]; then
    echo "readme_commands: exit $code, expected $expected: $cmd" >&2
    sed 's/^/    /' "$work/out.txt" >&2
    failed=1
  fi
done <<<"$commands"
echo "readme_commands: $ran commands ran"
exit $failed
