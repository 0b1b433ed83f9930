# zkpush — the two commands of README.md, and a few more.
#   make          install missing Debian packages, build build/zkpush (g++)
#   make test     build with g++ and with clang (ASan+UBSan, libFuzzer), run every test, fuzz briefly
#   make fuzz     run every fuzz target for FUZZ_SECONDS each (default 300), growing its corpus
BUILD       ?= build
CLANG_BUILD ?= build-clang
JOBS        ?= $(shell nproc)
FUZZ_SECONDS ?= 300
SMOKE_SECONDS ?= 10
CMAKE_FLAGS ?=

.PHONY: all deps build clang-build test test-gcc test-clang fuzz fuzz-smoke generate clean run

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++ $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# clang 14 with sanitizers and libFuzzer: the second compiler of the warning-free contract, the
# sanitizer run of the test suite, and the fuzz targets, in one build. -O0 with line tables: the
# suite runs in seconds either way, and -O1 more than doubled this build's compile time; the
# protocol core, which the fuzz targets exercise, keeps -O1 for their speed (fuzz/CMakeLists.txt).
clang-build: deps
	@cmake -S . -B $(CLANG_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
	  "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -gline-tables-only" \
	  -DZKPUSH_SANITIZE=ON -DZKPUSH_FUZZ=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(CLANG_BUILD) -j$(JOBS)

test-gcc: build
	@ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

test-clang: clang-build
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(CLANG_BUILD) --output-on-failure -j$(JOBS)

fuzz-smoke: clang-build
	@bash scripts/fuzz.sh $(CLANG_BUILD) smoke $(SMOKE_SECONDS)

test: test-gcc test-clang fuzz-smoke

fuzz: clang-build
	@bash scripts/fuzz.sh $(CLANG_BUILD) long $(FUZZ_SECONDS)

# Regenerates src/protocol/generated/ from ../shared/spec (needs python3-yaml).
generate:
	python3 tools/gen_spec_tables.py

clean:
	rm -rf $(BUILD) $(CLANG_BUILD)

# Starts the server on :8088 with its data under ./data (the server arrives with the next issue).
run: build
	@if ./$(BUILD)/zkpush serve --help >/dev/null 2>&1; then \
	  mkdir -p data && exec ./$(BUILD)/zkpush serve --listen 0.0.0.0:8088 --data ./data; \
	else echo "make run: this build has no 'zkpush serve' yet (see README.md)"; exit 1; fi
