# Shorthands for those who have make; the README's two commands are tools/run and tools/test, which need
# nothing beyond bash and apt. Each installs what is missing, configures and builds what it needs first.
BUILD ?= build
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory
export BUILD JOBS

.PHONY: all deps build run test regression test-sanitize fuzz bench install clean

all: build

deps:
	@tools/install-deps

build:
	@bash -c 'set -euo pipefail; source tools/lib/build.sh; configure; build_targets all'

run:
	@tools/run $(ARGS)

test:
	@tools/test

# The regression suite alone: every case against its committed golden (tools/update-goldens after an
# intended change).
regression:
	@tools/test -L regression

# The same suite under AddressSanitizer and UBSan (CI runs it after `make test`). LeakSanitizer is off: it
# reports objects left on suspended SC_THREAD stacks at exit, which are not leaks.
test-sanitize: deps
	cmake -S . -B $(BUILD)-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTACSIM_SANITIZE=ON
	cmake --build $(BUILD)-sanitize -j $(JOBS)
	cd $(BUILD)-sanitize && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

# Coverage-guided fuzzing of every parser with libFuzzer (clang), FUZZ_SECONDS each (tools/fuzz).
FUZZ_SECONDS ?= 600
fuzz:
	tools/fuzz $(FUZZ_SECONDS)

bench: build
	tools/bench/run $(BUILD)

# Installs the binary, the model zoo and the DRAM presets under PREFIX (default /usr/local).
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(BUILD)-sanitize
