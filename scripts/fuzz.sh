#!/usr/bin/env bash
# Runs every libFuzzer target of a clang build.
#   scripts/fuzz.sh BUILD_DIR smoke SECONDS   replay the committed corpus, then fuzz SECONDS each
#                                             from a scratch copy (the committed corpus is untouched)
#   scripts/fuzz.sh BUILD_DIR long SECONDS    fuzz SECONDS each, keeping new inputs in
#                                             BUILD_DIR/fuzz-corpus/<target> (merge by hand if useful)
set -euo pipefail
build=${1:?build dir}; mode=${2:?smoke|long}; seconds=${3:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

shopt -s nullglob
targets=("$build"/fuzz/*_fuzz)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no targets in $build/fuzz" >&2
  exit 1
fi
failed=0
for bin in "${targets[@]}"; do
  name=$(basename "$bin")
  seeds="$root/fuzz/corpus/${name%_fuzz}"
  mkdir -p "$seeds"
  if [ "$mode" = smoke ]; then
    work=$(mktemp -d)
    cp -r "$seeds/." "$work/" 2>/dev/null || true
  else
    work="$build/fuzz-corpus/${name%_fuzz}"
    mkdir -p "$work"
    cp -rn "$seeds/." "$work/" 2>/dev/null || true
  fi
  log=$(mktemp)
  # Replay first: every committed seed (and every past crash kept there) must pass.
  if ! "$bin" -runs=0 "$seeds" >"$log" 2>&1; then
    echo "fuzz: $name FAILED replaying its corpus"; tail -40 "$log"; failed=1; continue
  fi
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$build/fuzz-" "$work" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $name ok ($runs inputs in ${seconds}s, corpus $(ls "$work" | wc -l))"
  else
    echo "fuzz: $name FAILED"; tail -60 "$log"; failed=1
  fi
  [ "$mode" = smoke ] && rm -rf "$work"
  rm -f "$log"
done
if [ $failed -ne 0 ]; then
  echo "fuzz: FAILED (see above)"
  exit 1
fi
echo "fuzz: every target (${#targets[@]}) ran clean"
