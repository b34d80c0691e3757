#!/usr/bin/env bash
# Runs every Google Benchmark program in BUILD_DIR/bench once, in one process each, so the figures in
# README.md's tables are ratios measured within one run.
set -euo pipefail
build=${1:?usage: run-benchmarks.sh BUILD_DIR}
shopt -s nullglob
for b in "$build"/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b" --benchmark_min_time=0.2
done
