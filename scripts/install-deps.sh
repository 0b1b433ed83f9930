#!/usr/bin/env bash
# Installs the Debian 12 packages zkpush needs to build and test. Idempotent: it asks apt only for
# what is missing, so `make` stays quiet on a machine that already has everything.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git python3
  lld                                 # the linker (CMakeLists.txt, ZKPUSH_LLD): a quarter of GNU ld's time
  ccache                              # rebuilds of unchanged files (CMakeLists.txt, ZKPUSH_CCACHE)
  clang libclang-rt-14-dev            # second compiler, libFuzzer and sanitizer runtimes
  libboost-dev libboost-system-dev    # Asio and Beast (header-only in 1.74) for the server
  libsqlite3-dev sqlite3
  libssl-dev
  nlohmann-json3-dev libfmt-dev libspdlog-dev libcli11-dev
  libarchive-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libyaml-cpp-dev                     # the tests read ../shared/spec/*.yaml
  libmosquitto-dev mosquitto          # MQTT publishing; the tests start a real broker on loopback
  cppcheck clang-tidy                 # make audit: the static analysers (Makefile)
  chromium fonts-dejavu-core          # the console's browser tests (Playwright drives Debian's Chromium)
  lintian systemd                     # tests/packaging lints the package of `make deb`, verifies its unit
)
# Node.js and npm build the web console (console/, Vite needs Node.js 20.19 or later). Debian 12's
# own nodejs is 18: a machine without Node.js gets it, and the console build then says what is wrong.
if ! command -v node >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi
# `install-deps.sh build`: only what building the zkpush binary needs (-DZKPUSH_TESTS=OFF), without the
# test tools, the second compiler, the browser or Node.js: the build stage of
# packaging/container/Containerfile.
if [ "${1:-}" = "build" ]; then
  build_only=()
  for p in "${PACKAGES[@]}"; do
    case "$p" in
      git|ccache|clang|libclang-rt-14-dev|libgtest-dev|libgmock-dev|libbenchmark-dev|libyaml-cpp-dev|mosquitto|\
      chromium|fonts-dejavu-core|lintian|systemd|nodejs|npm|postgresql) ;;
      *) build_only+=("$p") ;;
    esac
  done
  PACKAGES=("${build_only[@]}")
fi
# `install-deps.sh bench` (make bench): the load generator and the ceiling server it compares with.
if [ "${1:-}" = "bench" ]; then
  PACKAGES+=(wrk nginx-light valgrind)  # valgrind: bench/instructions.sh (callgrind)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
