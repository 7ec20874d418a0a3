#!/usr/bin/env bash
# Installs, with apt-get, the Debian 12 packages keel's builds and tests need.
# Usage: scripts/install-deps.sh [test|demo]   (default: test, which includes the demo's)
# Does nothing when everything is already installed. Needs root (or sudo).
set -euo pipefail

packages=(
  cmake make g++ libgtest-dev libgmock-dev   # host build, unit tests, the FreeRTOS Makefile example
  g++-multilib qemu-user                # the 32-bit (-m32) test build; qemu-i386 runs it where
                                        # the kernel cannot (cmake/test-programs.cmake)
  valgrind                              # memcheck and callgrind runs
  clang-format                          # the format check
  clang lld libclang-rt-14-dev          # clang builds (host-clang, cm-m4-clang), libFuzzer (host-fuzz)
  qemu-system-arm qemu-system-x86       # the demo kernels and on-target tests
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-dev   # Cortex-M builds
  sqlite3 lua5.4 jq python3             # programs run on keel's preload library (tests/hosted)
  python3-matplotlib                    # keel-size see: the pictures (tools/keel-size)
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
echo "installing: ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
