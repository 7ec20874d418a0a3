#!/usr/bin/env bash
# tests/x86_64/run-kernel.sh: boots an x86_64 keel kernel in QEMU and turns its exit into a
# pass or a fail. ctest and scripts/demo.sh run the kernel through it.
#
#   run-kernel.sh [--smp N] [--icount] [--append TEXT] [--timeout SECONDS]
#                 [--expect-status N] [--expect-text TEXT] [--debugcon FILE] KERNEL.elf
#
# The machine is QEMU's `pc` with 1 GiB of RAM below 4 GiB and 512 MiB above it
# (max-ram-below-4g), so the memory map has two usable ranges above the kernel image. The guest
# ends the run by writing to isa-debug-exit (port 0xf4); QEMU then exits with (value << 1) | 1.
# ports/x86_64/src/port.cpp maps status 0 to value 0x21, so:
#   67              the guest passed (keel::port::exit(0))
#   other odd 2s+1  the guest failed with status s (99: a panic or CPU exception)
#   0               QEMU ended without the guest's word: a triple fault (-no-reboot) or reset
#   124             the timeout fired: the guest hung
# Only 67 passes, unless --expect-status asks for another guest status (a test that makes the
# kernel fault on purpose). --expect-text also requires TEXT in the serial output.
# --icount runs QEMU with -icount shift=0: one TSC tick per instruction, one vCPU thread.
# --debugcon FILE writes what the guest sends to port 0xe9 into FILE (a recording kernel's heap
# recording, ports/x86_64/include/port_recording.hpp).
set -uo pipefail

smp=1
icount=0
append=""
timeout_seconds=60
expect_status=0
expect_text=""
debugcon=""
while [ $# -gt 1 ]; do
  case "$1" in
    --smp) smp=$2; shift 2 ;;
    --icount) icount=1; shift ;;
    --append) append=$2; shift 2 ;;
    --timeout) timeout_seconds=$2; shift 2 ;;
    --expect-status) expect_status=$2; shift 2 ;;
    --expect-text) expect_text=$2; shift 2 ;;
    --debugcon) debugcon=$2; shift 2 ;;
    *) echo "run-kernel.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
kernel=${1:?usage: run-kernel.sh [options] KERNEL.elf}

qemu_args=(
  -M pc,max-ram-below-4g=1G -m 1536M -smp "$smp"
  -kernel "$kernel" -display none -serial stdio -monitor none -no-reboot
  -device isa-debug-exit,iobase=0xf4,iosize=0x04
)
[ "$icount" -eq 1 ] && qemu_args+=(-icount shift=0) && append="icount ${append}"
[ -n "$append" ] && qemu_args+=(-append "$append")
[ -n "$debugcon" ] && qemu_args+=(-debugcon "file:$debugcon")

output=$(mktemp)
trap 'rm -f "$output"' EXIT
timeout --kill-after=5 "$timeout_seconds" qemu-system-x86_64 "${qemu_args[@]}" | tee "$output"
status=${PIPESTATUS[0]}

verdict=fail
case "$status" in
  67)
    guest=0
    reason="the guest passed"
    ;;
  124 | 137)
    guest=timeout
    reason="timeout after ${timeout_seconds} s: the guest hung"
    ;;
  0)
    guest=reset
    reason="QEMU exited 0 without the guest's exit word: triple fault or reset"
    ;;
  *)
    if [ $((status % 2)) -eq 1 ] && [ "$status" -gt 1 ]; then
      guest=$(((status - 1) / 2))
      reason="the guest failed with status ${guest}"
    else
      guest=qemu
      reason="QEMU itself failed (exit status ${status})"
    fi
    ;;
esac
if [ "$guest" = "$expect_status" ]; then
  verdict=pass
fi
if [ "$verdict" = pass ] && [ -n "$expect_text" ] && ! grep -qF -- "$expect_text" "$output"; then
  verdict=fail
  reason="${reason}, but the output lacks \"${expect_text}\""
fi
echo "run-kernel.sh: ${reason} (QEMU status ${status}, expected guest status ${expect_status}): ${verdict}"
[ "$verdict" = pass ]
