# Shared by tools/run and tools/test (sourced, not run): install what is missing, configure once, build the
# named targets with progress lines only. Needs nothing beyond bash and apt on Debian 12.
#   BUILD=dir   build folder (default: build)       JOBS=n   parallel compile jobs (default: all cores)

build=${BUILD:-build}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# Runs a command with its output in a log; shows the log only if the command fails.
quietly() {
  local log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "tacsim: '$*' failed (log: $log)" >&2
    return 1
  fi
}

configure() {
  tools/install-deps
  if [ ! -f "$build/CMakeCache.txt" ]; then
    mkdir -p "$build"
    echo "configuring $build/ (cmake, Release)"
    quietly "$build/configure.log" cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
  fi
}

# Builds the targets, printing compile progress and diagnostics, not make's bookkeeping. The callers set
# pipefail, so a failed build fails the pipeline whatever the filter printed.
build_targets() {
  if ! cmake --build "$build" -j "$jobs" --target "$@" -- --no-print-directory 2>&1 |
    { grep --line-buffered -v -E '^\[ *[0-9]+%\] (Built target|Linking CXX static library)|^Consolidate compiler|^Scanning dependencies|^Dependee' || true; }; then
    echo "tacsim: the build failed (see above)" >&2
    return 1
  fi
}
