# Thin wrapper over CMake. `make demo` and `make test` are the two commands a newcomer runs.
BUILD ?= build
ASAN_BUILD ?= build-asan
SHARED ?= $(abspath ../shared)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local

.PHONY: all deps build demo test asan-test install clean format

all: build

# The Debian packages of scripts/debian-packages.txt that are missing (quick and silent when none).
deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DNPG_SHARED_DIR=$(SHARED) \
	  -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/npugen generate $(SHARED)/models/stories260K -p "Once upon a time" -n 120 --perf

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan-test: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNPG_SANITIZE=ON -DNPG_SHARED_DIR=$(SHARED) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# make install PREFIX=/opt/npugen (DESTDIR=... for staging): binary, libraries, header, npugen.pc,
# CMake package, man page, bash completion.
install: build
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

format:
	clang-format -i include/*.h src/*/*.[ch] tools/*.[ch] tests/*.c bench/*.c examples/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
