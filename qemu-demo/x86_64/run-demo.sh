#!/usr/bin/env bash
# qemu-demo/x86_64/run-demo.sh: builds the x86_64 kernel (build/x86-kernel) and boots it in QEMU
# twice, on four cores (scripts/demo.sh calls it after the Cortex-M demos):
#
#   1. under -icount shift=0: the shared demo workload (the same as on Cortex-M: messages
#      through pools and the heap, a timer interrupt that allocates, fragmentation stress, an
#      out-of-memory episode recovered by claiming the second RAM range, costs in instructions),
#      then kernel code on keel, the four cores started, the multi-core stress, the report;
#   2. with QEMU's multi-threaded TCG (the cores really in parallel): the multi-core stress and
#      the throughput on 1, 2 and 4 cores (wall-time-like: host TSC ticks, noisy).
#
# Usage: qemu-demo/x86_64/run-demo.sh [--no-bench]. Exits non-zero if a boot fails.
set -euo pipefail
cd "$(dirname "$0")/../.."

bench=1
[ "${1:-}" = "--no-bench" ] && bench=0

cmake -S qemu-demo/x86_64 -B build/x86-kernel >/dev/null
cmake --build build/x86-kernel -j2 >/dev/null
kernel=build/x86-kernel/keel_kernel.elf

status=0
tests/x86_64/run-kernel.sh --smp 4 --icount --timeout 180 --append "min_ranges=2" "$kernel" ||
  status=1
if [ "$bench" -eq 1 ]; then
  tests/x86_64/run-kernel.sh --smp 4 --timeout 300 \
    --append "min_ranges=2 nodemo stress=10000 bench bench_repeats=3" "$kernel" || status=1
fi
exit "$status"
