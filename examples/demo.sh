#!/usr/bin/env bash
# The end-to-end demo behind `make demo`: first the instruction-set tools (assemble a small program,
# disassemble it, run it in the interpreter on a real IPv4 header), then the tc scenario of
# examples/demo/run.sh (ingress policy classifier, pinned policy map changed by `tcbpf map`, htb shaping).
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
tcbpf="$build/tcbpf"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== assemble examples/asm/ipv4_csum.s"
"$tcbpf" asm "$root/examples/asm/ipv4_csum.s" -o "$out/ipv4_csum.bin"
echo "   $(stat -c %s "$out/ipv4_csum.bin") bytes"

echo "== disassemble it back"
"$tcbpf" disasm "$out/ipv4_csum.bin"

good="45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7"
bad="45 00 00 73 00 00 40 00 40 11 b8 62 c0 a8 00 01 c0 a8 00 c7"
echo "== run on a header with a valid checksum (expect 0x0)"
"$tcbpf" exec "$out/ipv4_csum.bin" --mem "$good"
echo "== run on the same header with the checksum off by one (expect 0xfffe: the sum folds to 1, not 0)"
"$tcbpf" exec "$out/ipv4_csum.bin" --mem "$bad"

echo
echo "== the tc scenario (examples/demo/run.sh)"
"$root/examples/demo/run.sh" "$build"
