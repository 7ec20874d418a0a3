#!/usr/bin/env bash
# Builds a demo kernel whose global heap records every call it serves (keel/recorder.hpp,
# docs/recording.md), boots it in QEMU, and leaves the recording in build/record/:
#
#   cortex-m4   the demo on a Cortex-M4F (QEMU mps2-an386), recording written through Arm
#               semihosting: build/record/demo-cortex-m4.krec (build dir build/record/cm-m4)
#   x86_64      the demo workload of the x86_64 kernel (one core, -icount), recording written to
#               port 0xe9 (QEMU -debugcon): build/record/demo-x86_64.krec
#               (build dir build/record/x86-kernel)
#
# Usage: scripts/record-demo.sh [cortex-m4|x86_64]   (default cortex-m4)
# Prints the demo's output, then the recording's size and records (tests/record/
# check_recording.py, which also checks it). Exits non-zero if the demo or the check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh demo

target=${1:-cortex-m4}
out=build/record
mkdir -p "$out"
recording=$PWD/$out/demo-$target.krec
rm -f "$recording"

case "$target" in
  cortex-m4)
    build=$out/cm-m4
    cmake -S . -B "$build" --toolchain toolchain.cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DKEEL_BOARD=mps2-an386 -DKEEL_DEMO_RECORD=ON -DKEEL_DEMO_RECORD_FILE="$recording" \
      >/dev/null
    cmake --build "$build" --target keel_demo_record -j2 >/dev/null
    "$build"/qemu-demo/cortex-m/run-demo-record.sh
    pointer_bytes=4
    ;;
  x86_64)
    build=$out/x86-kernel
    cmake -S qemu-demo/x86_64 -B "$build" -DKEEL_DEMO_RECORD=ON >/dev/null
    cmake --build "$build" -j2 >/dev/null
    tests/x86_64/run-kernel.sh --smp 1 --icount --timeout 120 --append "min_ranges=2" \
      --debugcon "$recording" "$build"/keel_kernel.elf
    pointer_bytes=8
    ;;
  *)
    echo "usage: scripts/record-demo.sh [cortex-m4|x86_64]" >&2
    exit 2
    ;;
esac

echo
echo "recording: $recording ($(stat -c %s "$recording") bytes)"
python3 tests/record/check_recording.py --pointer-bytes "$pointer_bytes" --min-records 1000 \
  "$recording"
