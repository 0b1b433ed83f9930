# zkpush — the two commands of README.md, and a few more.
#   make          install missing Debian packages, build build/zkpush (g++)
#   make run      the above and the web console (build/console), then serve on :8088 with ./data
#   make test     build with g++ and with clang (ASan+UBSan, libFuzzer), run every test, run the
#                 concurrency tests under TSan, fuzz briefly, test the console in Chromium
#   make bench    release build, load the server on loopback, table in docs/benchmarks.md
#   make fuzz     run every fuzz target for FUZZ_SECONDS each (default 300), growing its corpus, then
#                 the TSan suites 10 times
#   make soak     the long reliability runs (kill -9 x20, 50,000 connections), see docs/reliability.md
#   make deb      the Debian package (binary, console, systemd unit, config) in build/, see docs/operations.md
#   make audit    cppcheck and clang-tidy over src/ (a committed baseline of zero findings), then the
#                 sanitizer runs of `make test` (ASan+UBSan, TSan)
BUILD       ?= build
CLANG_BUILD ?= build-clang
TSAN_BUILD  ?= build-tsan
JOBS        ?= $(shell nproc)
FUZZ_SECONDS ?= 300
SMOKE_SECONDS ?= 5
CMAKE_FLAGS ?=
# CCACHE=1: compile through ccache (CMakeLists.txt, ZKPUSH_CCACHE), for repeated builds of the same
# sources in the same folders; a first build is about 9% slower with it.
CCACHE ?= 0
override CMAKE_FLAGS += -DZKPUSH_CCACHE=$(if $(filter 1,$(CCACHE)),ON,OFF)

# $(call ninja,DIR[,TARGETS]): builds DIR; with QUIET=1 (set by `make test`, which runs a build beside a
# test suite) the build's output goes to DIR/build.log and is shown only when it fails.
ninja = $(if $(QUIET),cmake --build $(1) -j$(JOBS) $(2) >$(1)/build.log 2>&1 || { cat $(1)/build.log; exit 1; },cmake --build $(1) -j$(JOBS) $(2))

.PHONY: all deps build deb clang-build tsan-build test test-gcc test-clang test-tsan test-console console fuzz fuzz-smoke soak generate clean run \
  audit audit-configure audit-cppcheck audit-tidy

all: build

deps:
	@bash scripts/install-deps.sh

# -g1 (line tables and function names): backtraces and perf profiles keep their lines, and the
# build is a third faster than with full debug info; CMAKE_FLAGS can ask for -g when debugging.
# The programs of `make bench` (bench/) are built here too, so a change that breaks them fails
# `make test` rather than the next benchmark run.
build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++ \
	  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" -DZKPUSH_BENCH=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# clang 14 with sanitizers and libFuzzer: the second compiler of the warning-free contract, the
# sanitizer run of the test suite, and the fuzz targets, in one build. -O0 with line tables: the
# suite runs in seconds either way, and -O1 more than doubled this build's compile time.
# FUZZ_O1=ON (set by `make fuzz`): the protocol core, which the fuzz targets exercise, at -O1 for the
# long fuzzing runs (fuzz/CMakeLists.txt).
FUZZ_O1 ?= OFF
clang-build: deps
	@cmake -S . -B $(CLANG_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
	  "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -gline-tables-only" \
	  -DZKPUSH_SANITIZE=ON -DZKPUSH_FUZZ=ON -DZKPUSH_FUZZ_O1=$(FUZZ_O1) $(CMAKE_FLAGS) >/dev/null
	@$(call ninja,$(CLANG_BUILD))

# ThreadSanitizer over the suites where the server's threads meet: the transport's I/O threads, the
# store's writer and readers (and PostgreSQL's change feed), the whole server under concurrent devices and API calls (the sync
# engine's callbacks on the writer thread included), the web console's reload thread, and the
# emulator's client thread against it. Each entry is EXECUTABLE:GTEST_FILTER (tests/CMakeLists.txt:
# one executable per directory of tests/), one process per entry, the suites of one test file each;
# only those executables are built, and an entry that matches no test fails the run (a suite renamed
# or moved to another directory must be followed here). The executables are run directly (ctest
# would list every other, unbuilt, test executable as missing).
TSAN_TESTS ?= server_tests:HttpServer.* server_tests:HttpStream.* server_tests:HttpPipeline.* server_tests:HttpTimeouts.* \
  storage_tests:WriterTest.*:Migrations.*:SqliteErrorTest.* storage_tests:SqliteStoreTest.* \
  server_tests:ServeTest.* server_tests:IngestTest.*:ZoneTest.* server_tests:ApiTest.* \
  server_tests:PendingTest.* server_tests:SyncTest.* service_tests:CommandQueueTest.* emulator_tests:EmulatorE2E.* \
  server_tests:StreamTest.* outbound_tests:WebhookTest.* front_tests:WireTrace.* server_tests:TraceApiTest.* \
  server_tests:ConsoleServeTest.* server_tests:HttpTls.* server_tests:TlsServe.* emulator_tests:EmulatorTls.* \
  storage_tests:PostgresFeed.*:PostgresLead.* service_tests:NodesRefresh.*
# The filters are SUITE.* patterns: the TSan build compiles only the test files defining those suites
# (ZKPUSH_TEST_SUITES, tests/CMakeLists.txt).
TSAN_TARGETS = $(sort $(foreach t,$(TSAN_TESTS),$(firstword $(subst :, ,$(t)))))
TSAN_SUITES = $(subst .*,,$(foreach t,$(TSAN_TESTS),$(wordlist 2,99,$(subst :, ,$(t)))))
empty :=
tsan-build: deps
	@cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
	  "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -gline-tables-only" -DZKPUSH_TSAN=ON \
	  "-DZKPUSH_TEST_SUITES=$(subst $(empty) $(empty),;,$(strip $(TSAN_SUITES)))" $(CMAKE_FLAGS) >/dev/null
	@$(call ninja,$(TSAN_BUILD),--target $(TSAN_TARGETS))

TSAN_REPEAT ?= 1
TSAN_JOBS ?= $(JOBS)
test-tsan: tsan-build
	@for t in $(foreach t,$(TSAN_TESTS),'$(t)'); do echo "$$t"; done | \
	  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 xargs -P $(TSAN_JOBS) -I{} sh -c ' \
	    exe=$${1%%:*}; filter=$${1#*:}; log=$(TSAN_BUILD)/tsan-$$(printf %s "$$1" | tr -c "A-Za-z0-9_" _).log; \
	    if ./$(TSAN_BUILD)/tests/$$exe --gtest_brief=1 --gtest_repeat=$(TSAN_REPEAT) --gtest_filter="$$filter" >$$log 2>&1; then \
	      if grep -q "PASSED  \] 0 tests" $$log; then echo "tsan $$1: matched no test"; exit 255; fi; \
	      echo "tsan $$1: passed"; \
	    else cat $$log; echo "tsan $$1: FAILED"; exit 255; fi' sh {}

# ctest runs three tests per core: most of the suite's time is spent waiting on sockets, timeouts and
# other processes, not computing (g++ build, 636 tests on 2 cores: 44 s at -j4 with 34 s of CPU,
# 31 s at -j8, which is the longest test, the 30 s slowloris one). Tests bind port 0 and use their own
# temporary folders, so they can run side by side.
CTEST_JOBS ?= $(shell echo $$(( $(JOBS) * 3 )))
test-gcc: build
	@ctest --test-dir $(BUILD) --output-on-failure -j$(CTEST_JOBS)

test-clang: clang-build
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(CLANG_BUILD) --output-on-failure -j$(CTEST_JOBS)

fuzz-smoke: clang-build
	@bash scripts/fuzz.sh $(CLANG_BUILD) smoke $(SMOKE_SECONDS)

# The web console (console/, TypeScript built by Vite) goes to $(BUILD)/console, which `zkpush serve`
# finds beside the binary. Only this target uses npm: the C++ build never does. `npm ci` runs when
# the lockfile changed (npm writes node_modules/.package-lock.json), Vite when a source did.
CONSOLE_SOURCES := $(shell find console/src console/public -type f 2>/dev/null) console/index.html \
  console/package.json console/package-lock.json console/tsconfig.json console/vite.config.ts
# Vite needs Node.js 20.19 or later; Debian 12's own nodejs is 18: say so rather than let Vite fail.
NODE_CHECK = node -e 'const [a, b] = process.versions.node.split(".").map(Number); \
  if (a < 20 || (a === 20 && b < 19)) { console.error("make console: Node.js " + process.versions.node + \
  " is too old; the console is built by Vite, which needs Node.js 20.19 or later (e.g. from deb.nodesource.com). " + \
  "The server builds and runs without it."); process.exit(1); }'
console: $(BUILD)/console/index.html
console/node_modules/.package-lock.json: console/package-lock.json | deps
	@$(NODE_CHECK)
	@cd console && npm ci --no-audit --no-fund --loglevel=error
$(BUILD)/console/index.html: $(CONSOLE_SOURCES) console/node_modules/.package-lock.json
	@$(NODE_CHECK)
	@cd console && ZKPUSH_CONSOLE_OUT=$(abspath $(BUILD))/console npm run --silent build

# The console in a real browser (Playwright driving Debian's Chromium, headless) against the real
# server and emulated panels: console/tests/, screenshots in $(BUILD)/console-test/.
test-console: build console
	@cd console && ZKPUSH_BIN=$(abspath $(BUILD))/zkpush ZKPUSH_ARTEFACTS=$(abspath $(BUILD))/console-test \
	  node --test --test-reporter=spec tests/

# Each suite runs beside the next build: the suites spend much of their time waiting on sockets and
# timeouts, which the compiler uses (about a minute less on 2 cores than one after the other).
test: build console
	@$(MAKE) --no-print-directory -j2 QUIET=1 test-gcc clang-build
	@$(MAKE) --no-print-directory -j2 QUIET=1 test-clang tsan-build
	@$(MAKE) --no-print-directory -j2 test-tsan fuzz-smoke
	@$(MAKE) --no-print-directory test-console

# The long run: every fuzz target for FUZZ_SECONDS, then the ThreadSanitizer suites ten times over
# (races show up on some interleavings only).
fuzz:
	@$(MAKE) --no-print-directory clang-build FUZZ_O1=ON
	@bash scripts/fuzz.sh $(CLANG_BUILD) long $(FUZZ_SECONDS)
	@$(MAKE) --no-print-directory test-tsan TSAN_REPEAT=10

# Static analysis of the shipped code, src/ (tests/, fuzz/ and bench/ are not in the baseline), then
# the sanitizer runs. The baseline is zero findings: any finding fails the target. A real finding is
# fixed in the code; a false positive is suppressed where it is, with its reason (cppcheck:
# tools/audit/cppcheck.supp or `// cppcheck-suppress ID ; reason`; clang-tidy: `// NOLINT(check): reason`).
#   cppcheck 2.10  (audit-cppcheck) the warning, performance and portability checks, file by file
#                  from $(AUDIT_BUILD)'s compile database (unity off; src/protocol/generated, tables
#                  written by tools/gen_spec_tables.py, left out). Not `style`: 461 findings on src/
#                  at its introduction (noExplicitConstructor 210, useStlAlgorithm 147,
#                  constParameter 55, then shadowing, unused struct fields and conditions taken for
#                  constant); the 17 outside the first three groups were read: no bug among them.
#   clang-tidy 14  (audit-tidy) the checks of .clang-tidy (each one left out says why), over the unity
#                  batches of $(AUDIT_BUILD)-unity, so that the files of a batch are checked in one
#                  parse of Boost, nlohmann-json and spdlog: file by file cost about 60 s of CPU per
#                  file here (136 files), a batch of eight about 30 s. HeaderFilterRegex reports what is
#                  in src/ (the batches #include the .cpp files, which count as headers).
#   test-clang, test-tsan  the suite under ASan+UBSan and the concurrency suites under TSan.
# The two compile databases are only configured (clang, Debug), never built. Measured on 2 cores shared
# with four other compiling jobs (load 6 to 8): cppcheck 17 s; clang-tidy 23 min 42 s wall for 8 min
# 44 s of CPU (23 batches, -j2), an estimated 5 min on 2 idle cores; the sanitizer runs as in `make test`.
AUDIT_BUILD ?= $(BUILD)-audit
AUDIT_CONFIGURE = -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ -DZKPUSH_TESTS=OFF
audit: deps
	@$(MAKE) --no-print-directory audit-cppcheck audit-tidy
	@$(MAKE) --no-print-directory test-clang
	@$(MAKE) --no-print-directory test-tsan

audit-configure: deps
	@cmake -S . -B $(AUDIT_BUILD) $(AUDIT_CONFIGURE) -DZKPUSH_UNITY=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake -S . -B $(AUDIT_BUILD)-unity $(AUDIT_CONFIGURE) -DZKPUSH_UNITY=ON $(CMAKE_FLAGS) >/dev/null

audit-cppcheck: audit-configure
	@cppcheck --project=$(AUDIT_BUILD)/compile_commands.json -i src/protocol/generated \
	  --enable=warning,performance,portability --inline-suppr --suppress=missingIncludeSystem \
	  --suppressions-list=tools/audit/cppcheck.supp --error-exitcode=1 -j$(JOBS) --quiet \
	  --template='{file}:{line}: {severity}: {message} [{id}]'
	@echo "cppcheck: no findings"

audit-tidy: audit-configure
	@run-clang-tidy -p $(AUDIT_BUILD)-unity -j$(JOBS) -quiet >$(AUDIT_BUILD)/clang-tidy.log 2>&1 || \
	  { grep -v -e '^clang-tidy' -e ' warnings\? generated\.$$' $(AUDIT_BUILD)/clang-tidy.log; \
	    echo "clang-tidy: findings above (all of its output: $(AUDIT_BUILD)/clang-tidy.log)"; exit 1; }
	@echo "clang-tidy: no findings"

# The long reliability runs (docs/reliability.md) on the g++ build: 20 kill -9 rounds of the real
# binary under uploads, and 50,000 connection attempts against a server taking uploads. The test
# binaries are run directly: ctest's 300 s per-test timeout is for the short versions.
SOAK_ROUNDS ?= 20
soak: build
	@ZKPUSH_SOAK_ROUNDS=$(SOAK_ROUNDS) ./$(BUILD)/tests/cli_tests --gtest_filter='ServeKillTest.*'
	@ZKPUSH_SOAK=1 ./$(BUILD)/tests/reliability_tests --gtest_filter='FaultsTest.AStormOfConnectionAttempts*'

# Release build in build-release, the server measured on loopback (devices held, request rates vs
# nginx, durable ingest vs raw SQLite); prints a table and rewrites docs/benchmarks.md. Timings are
# never part of `make test`. BENCH_QUICK=1 for a two-minute smoke.
.PHONY: bench
bench:
	@bash scripts/bench.sh

# The Debian package, from the binary and the console of the normal build (packaging/deb/build-deb.sh:
# dpkg-deb on a staged tree, Depends from dpkg-shlibdeps). The normal build is the one the tests
# check, with -O2 and the hardening flags; the package strips its line tables.
deb: build console
	@bash packaging/deb/build-deb.sh $(BUILD)

# Regenerates src/protocol/generated/ from ../shared/spec (needs python3-yaml).
generate:
	python3 tools/gen_spec_tables.py

clean:
	rm -rf $(BUILD) $(CLANG_BUILD) $(TSAN_BUILD)

# Starts the server on :8088 with its data under ./data, the console at http://localhost:8088/.
# A console that cannot be built (no Node.js 20.19) does not keep the server from starting: `/` then
# says how to build it. `make test` does need it.
run: build
	@$(MAKE) --no-print-directory console || echo "make run: the web console was not built (above); starting the server without it"
	@mkdir -p data && exec ./$(BUILD)/zkpush serve --listen 0.0.0.0:8088 --data ./data
