#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD_DIR/fuzz for SECONDS each, starting from its seed corpus in
# fuzz/corpus/NAME. New inputs go to a scratch copy, so the committed corpus only changes by hand.
# For a long run: scripts/run-fuzzers.sh build-fuzz 3600
set -euo pipefail
build=${1:?usage: run-fuzzers.sh BUILD_DIR SECONDS}
seconds=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
shopt -s nullglob
targets=("$build"/fuzz/fuzz_*)
[ ${#targets[@]} -gt 0 ] || { echo "run-fuzzers: no fuzz targets in $build/fuzz" >&2; exit 1; }
failed=0
for target in "${targets[@]}"; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  work=$(mktemp -d)
  [ -d "$root/fuzz/corpus/$name" ] && cp -r "$root/fuzz/corpus/$name/." "$work/"
  rm -f "$build/fuzz/$name-"*  # only this run's findings are reported below
  echo "== $name: ${seconds}s"
  if ! "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$build/fuzz/$name-" "$work" >"$build/fuzz/$name.log" 2>&1; then
    echo "== $name FAILED; log: $build/fuzz/$name.log"; failed=$((failed + 1))
    # CI keeps only this output: the finding's own message (with the program it names) and the input
    # that reproduces it, not just the stack's tail.
    grep -m1 -A80 -E "verifier accepted|ERROR: |runtime error|differ|mismatch|Assertion" "$build/fuzz/$name.log" || tail -60 "$build/fuzz/$name.log"
    for artifact in "$build/fuzz/$name-"*; do
      echo "== reproducer $artifact (hex; xxd -r -p to restore):"; od -An -v -tx1 "$artifact" | tr -d ' \n' | fold -w 120; echo
    done
  else
    grep -E "stat::number_of_executed_units|Done" "$build/fuzz/$name.log" | head -2
  fi
  rm -rf "$work"
done
total=${#targets[@]}
echo "fuzz: $((total - failed)) passed, $failed failed"
exit $failed
