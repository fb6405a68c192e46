# Thin wrapper over CMake. `make demo` and `make test` are the two commands a newcomer runs.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
TSAN_BUILD ?= build-tsan
FUZZ_SECONDS ?= 15
SHARED ?= $(abspath ../shared)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local

.PHONY: all deps node-deps build demo test asan-test install fuzz fuzz-run tsan-test clean format

all: build

# The Debian packages of scripts/debian-packages.txt that are missing (quick and silent when none).
deps:
	@scripts/install-deps.sh

# The npm packages of the `npugen serve` tests (tests/node: openai, puppeteer-core), when missing.
node-deps:
	@scripts/node-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DNPG_SHARED_DIR=$(SHARED) \
	  -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/npugen generate $(SHARED)/models/stories260K -p "Once upon a time" -n 120 --perf

test: build node-deps
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan-test: deps node-deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNPG_SANITIZE=ON -DNPG_SHARED_DIR=$(SHARED) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# make install PREFIX=/opt/npugen (DESTDIR=... for staging): binary, libraries, header, npugen.pc,
# CMake package, man page, bash completion.
install: build
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# libFuzzer targets (clang, ASan+UBSan) in $(FUZZ_BUILD)/fuzz/, seed corpora from ../shared in
# $(FUZZ_BUILD)/corpus/; `make fuzz-run FUZZ_SECONDS=N` runs each target N seconds. See docs/reliability.md.
fuzz:
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-O1 -DNPG_FUZZ=ON \
	  -DNPG_SHARED_DIR=$(SHARED) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target npg_fuzzers
	@scripts/fuzz-seeds.sh $(FUZZ_BUILD) $(SHARED)

fuzz-run: fuzz
	@scripts/fuzz-run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# ThreadSanitizer build; runs the concurrency tests (ctest label "tsan").
tsan-test:
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNPG_TSAN=ON -DNPG_SHARED_DIR=$(SHARED) >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target npugen test_concurrency test_scheduler test_decode_team
	@cd $(TSAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L tsan

format:
	clang-format -i include/*.h src/*/*.[ch] tools/*.[ch] tests/*.c bench/*.c examples/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(TSAN_BUILD)
