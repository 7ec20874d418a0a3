#!/usr/bin/env bash
# Runs one scenario of tests/tools/misuse_scenarios.cpp and checks what the tool said about it.
#
# Usage: expect_report.sh MODE PROGRAM SCENARIO [PATTERN...]
#   MODE asan             PROGRAM is built with -fsanitize=address; it must stop with an
#                         AddressSanitizer report.
#        valgrind         PROGRAM runs under valgrind memcheck, which must report errors (exit 99,
#                         or a crash after the report: keel's checks are off, the heap may be
#                         corrupt once the error is made).
#        asan-silent      as asan, but the scenario must finish with no report at all.
#        valgrind-silent  as valgrind, but the scenario must finish with no error at all.
#   Each PATTERN (an extended regular expression, matched without regard to case) must occur in
#   the output; @ADDR@ in it stands for the address the scenario announced ("address=0x...").
# Prints the whole output when a check fails. Needs only bash, grep and sed.
set -uo pipefail

mode=$1
program=$2
scenario=$3
shift 3

case "$mode" in
  asan | asan-silent)
    output=$(ASAN_OPTIONS=halt_on_error=1:detect_leaks=0 "$program" "$scenario" 2>&1) ;;
  valgrind | valgrind-silent)
    output=$(valgrind --error-exitcode=99 --leak-check=no "$program" "$scenario" 2>&1) ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
status=$?

fail() {
  echo "FAILED: $mode $scenario: $1"
  echo "----- output -----"
  echo "$output"
  exit 1
}

address=$(echo "$output" | sed -n "s/^keel-tools: ${scenario} address=\(0x[0-9a-fA-F]*\).*/\1/p" |
  head -1)
[ -n "$address" ] || fail "the scenario never announced its address (did it start?)"

case "$mode" in
  asan)
    [ "$status" -ne 0 ] || fail "the program exited with 0: AddressSanitizer reported nothing"
    echo "$output" | grep -q "ERROR: AddressSanitizer" || fail "no AddressSanitizer report"
    ;;
  valgrind)
    [ "$status" -ne 0 ] || fail "valgrind did not report an error (exit status 0)"
    echo "$output" | grep -qE "ERROR SUMMARY: [1-9]" || fail "valgrind counted no error"
    ;;
  asan-silent)
    [ "$status" -eq 0 ] || fail "exit status $status, expected 0"
    echo "$output" | grep -q "AddressSanitizer" && fail "AddressSanitizer reported something"
    echo "$output" | grep -q "keel-tools: ${scenario} finished" || fail "the scenario did not finish"
    ;;
  valgrind-silent)
    [ "$status" -eq 0 ] || fail "exit status $status, expected 0"
    echo "$output" | grep -q "ERROR SUMMARY: 0 errors" || fail "valgrind reported errors"
    echo "$output" | grep -q "keel-tools: ${scenario} finished" || fail "the scenario did not finish"
    ;;
esac

for pattern in "$@"; do
  expected=${pattern//@ADDR@/$address}
  echo "$output" | grep -qiE -- "$expected" || fail "no line matches: $expected"
done
echo "ok: $mode $scenario at $address"
