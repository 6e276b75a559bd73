# The README's two commands: `make run` and `make test`. Both install what is missing (Debian packages),
# configure and build first.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build run test regression test-sanitize bench clean

all: build

deps:
	@tools/install-deps

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/tacsim run $(ARGS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

# The regression suite alone: every case against its committed golden (tools/update-goldens after an
# intended change).
regression: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L regression

# The same suite under AddressSanitizer and UBSan (CI runs it after `make test`). LeakSanitizer is off: it
# reports objects left on suspended SC_THREAD stacks at exit, which are not leaks.
test-sanitize: deps
	cmake -S . -B $(BUILD)-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTACSIM_SANITIZE=ON
	cmake --build $(BUILD)-sanitize -j $(JOBS)
	cd $(BUILD)-sanitize && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 600

bench: build
	tools/bench/run $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD)-sanitize
