#!/usr/bin/env bash
# README's demo command. On a fresh Debian 12 machine (as root, or with sudo) it installs the
# toolchain and QEMU with apt-get (scripts/install-deps.sh), builds the demo kernels, boots them
# in QEMU and shows what they print:
#
#   1. the keel demo on a Cortex-M4F (QEMU mps2-an386): firmware-like tasks, pools and queues, a
#      timer interrupt that allocates, a fragmentation stress, an out-of-memory episode, printf
#      and C++ containers on keel, its cost in instructions, and the final report;
#   2. keel against newlib's malloc, full and nano, on the same workload (instructions per call);
#   3. the same demo on the four other Cortex-M profiles (M0, M3, M7, M33), one line each;
#   4. the x86_64 kernel on four cores (qemu-demo/x86_64/run-demo.sh): the same demo under
#      -icount, the multi-core stress, and the throughput on 1, 2 and 4 cores.
#
# Usage: scripts/demo.sh [--all]   (--all: the full output of every board, not one line each)
# Exits non-zero if any demo fails. Build directories: build/cm-*, build/x86-kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh demo

full_output=0
[ "${1:-}" = "--all" ] && full_output=1
failed=()

# cortex_m PRESET IMAGE...: configures and builds a Cortex-M preset with the given images.
cortex_m_build() {
  local preset=$1
  shift
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" --target "$@" >/dev/null
}

# show TITLE COMMAND...: boots one image (COMMAND builds nothing, it boots) and shows its
# output in full.
show() {
  local title=$1
  shift
  echo
  echo "================ $title"
  if ! "$@"; then
    failed+=("$title")
  fi
}

# summary TITLE COMMAND...: boots one image and shows its verdict line only ("demo: PASS ..."),
# or everything with --all.
summary() {
  if [ "$full_output" -eq 1 ]; then
    show "$@"
    return
  fi
  local title=$1
  shift
  local output status=0
  output=$("$@" 2>&1) || status=$?
  local verdict
  verdict=$(echo "$output" | grep -E '^demo: ' | tail -n 1) || verdict=$(echo "$output" | tail -n 1)
  printf '%-32s %s\n' "$title" "$verdict"
  if [ "$status" -ne 0 ]; then
    echo "$output"
    failed+=("$title (exit status $status)")
  fi
}

echo "Building the Cortex-M demo kernels (build/cm-*) ..."
cortex_m_build cm-m4 keel_demo keel_measure_full keel_measure_nano
for preset in cm-m0 cm-m3 cm-m7 cm-m33; do
  cortex_m_build "$preset" keel_demo
done

run=qemu-demo/cortex-m
# One line per demo: show (full output) or summary (verdict line). The x86_64 demo comes last.
show "keel demo: Cortex-M4F, QEMU mps2-an386" build/cm-m4/$run/run-demo.sh
show "keel vs newlib malloc (full)" build/cm-m4/$run/run-measure-full.sh
show "keel vs newlib-nano malloc" build/cm-m4/$run/run-measure-nano.sh
echo
echo "================ the same demo on the other Cortex-M profiles"
summary "Cortex-M0,  QEMU microbit" build/cm-m0/$run/run-demo.sh
summary "Cortex-M3,  QEMU mps2-an385" build/cm-m3/$run/run-demo.sh
summary "Cortex-M7,  QEMU mps2-an500" build/cm-m7/$run/run-demo.sh
summary "Cortex-M33, QEMU mps2-an505" build/cm-m33/$run/run-demo.sh
show "keel demo: x86_64, QEMU pc, 4 cores (build/x86-kernel)" qemu-demo/x86_64/run-demo.sh

echo
if [ ${#failed[@]} -ne 0 ]; then
  echo "demo FAILED: ${failed[*]}"
  exit 1
fi
echo "every demo passed"
