#!/usr/bin/env bash
# Installs the Debian 12 packages tcbpf builds and tests with, only those missing, so `make demo` and
# `make test` work on a fresh machine. Every dependency comes from Debian; nothing is downloaded at build
# time. README.md says why each package is here.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config g++ clang clang-14 llvm libclang-rt-14-dev
  libfmt-dev libcli11-dev libelf-dev zlib1g-dev libbpf-dev libxdp-dev libpcap-dev libcapstone-dev libasmjit-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  iproute2 bpftool
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
