#!/usr/bin/env bash
# Builds keel's core with -ffreestanding -nostdlib and fails if its objects reference any symbol
# beyond memcpy, memset and memmove: no printf, no malloc, no C++ runtime (__cxa_*, _Unwind_*).
# The compiler's own arithmetic helpers (libgcc: 64-bit division on 32-bit targets, __aeabi_*)
# are allowed: every freestanding toolchain provides them.
# Checks the host compiler always, and arm-none-eabi-g++ when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sources=(core/src/*.cpp core/tests_freestanding/instantiate.cpp)
check() {  # check COMPILER FLAGS...
  local compiler=$1
  shift
  local objects=()
  for source in "${sources[@]}"; do
    local object="$work/$(basename "$source").$RANDOM.o"
    "$compiler" -std=c++20 -Os -fno-pic -ffreestanding -nostdlib -fno-exceptions -fno-rtti \
      -fno-threadsafe-statics -fno-use-cxa-atexit -Wall -Wextra -Werror -Icore/include "$@" \
      -c "$source" -o "$object"
    objects+=("$object")
  done
  local undefined
  # Symbols some object needs and no object of core defines.
  undefined=$(comm -23 <(nm -u "${objects[@]}" | awk 'NF == 2 {print $2}' | sort -u) \
    <(nm --defined-only "${objects[@]}" | awk 'NF == 3 {print $3}' | sort -u) |
    grep -Ev '^(memcpy|memset|memmove)$' |
    grep -Ev '^_ZN4keel6global' |  # keel/global.hpp: defined by the application, for the faces
    grep -Ev '^(vTaskSuspendAll|xTaskResumeAll|vApplicationMallocFailedHook)$' |  # FreeRTOS's
    grep -Ev '^__(aeabi_[a-z0-9]+|u?(div|mod)[sd]i3|udivmoddi4|(clz|ctz)[sd]i2)$' || true)
  if [ -n "$undefined" ]; then
    echo "core references symbols beyond memcpy/memset/memmove ($compiler $*):"
    echo "$undefined"
    return 1
  fi
  echo "core is freestanding with $compiler $*"
}

check g++
check g++ -m32
if command -v arm-none-eabi-g++ >/dev/null; then
  check arm-none-eabi-g++ -mcpu=cortex-m0 -mthumb
  check arm-none-eabi-g++ -mcpu=cortex-m4 -mthumb
fi
