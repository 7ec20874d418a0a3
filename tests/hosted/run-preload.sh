#!/usr/bin/env bash
# tests/hosted/run-preload.sh: runs a program on glibc's malloc and on keel's (LD_PRELOAD), and
# compares what it does.
#
#   run-preload.sh compare PRELOAD CHECKING [--stdin FILE] -- COMMAND [ARGS...]
#       Runs COMMAND twice, plain and with keel preloaded (KEEL_CHECKING=CHECKING, KEEL_STATS=1).
#       Passes if both exit with the same status and print the same standard output, and keel's
#       statistics line (standard error, at exit) shows that keel served the allocations.
#   run-preload.sh expect PRELOAD CHECKING STATUS REGEX [--env NAME=VALUE]... -- COMMAND [ARGS...]
#       Runs COMMAND with keel preloaded only. Passes if it exits with STATUS (134: SIGABRT) and
#       its standard error matches the extended regular expression REGEX.
set -uo pipefail

mode=$1
preload=$2
checking=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run_compare() {
  local input=/dev/null
  if [ "$1" = "--stdin" ]; then
    input=$2
    shift 2
  fi
  [ "$1" = "--" ] && shift
  "$@" <"$input" >"$work/glibc.out" 2>"$work/glibc.err"
  local glibc_status=$?
  KEEL_CHECKING=$checking KEEL_STATS=1 LD_PRELOAD=$preload "$@" <"$input" \
    >"$work/keel.out" 2>"$work/keel.err"
  local keel_status=$?
  local failed=0
  if [ "$glibc_status" -ne "$keel_status" ]; then
    echo "exit status: $glibc_status on glibc, $keel_status on keel"
    failed=1
  fi
  if ! cmp -s "$work/glibc.out" "$work/keel.out"; then
    echo "standard output differs (glibc <, keel >):"
    diff "$work/glibc.out" "$work/keel.out" | head -20
    failed=1
  fi
  # keel's line: "keel: checking basic, N allocations, ..." with N > 0 (one per process).
  if ! grep -Eq "^keel: checking $checking, [1-9][0-9]* allocations" "$work/keel.err"; then
    echo "keel's statistics line is missing: was libkeel_preload.so loaded?"
    failed=1
  fi
  echo "--- glibc: status $glibc_status, $(wc -l <"$work/glibc.out") lines of output"
  echo "--- keel ($checking): status $keel_status; its standard error:"
  head -c 4000 "$work/keel.err"
  return $failed
}

run_expect() {
  local status=$1 pattern=$2
  shift 2
  local environment=()
  while [ "$1" = "--env" ]; do
    environment+=("$2")
    shift 2
  done
  [ "$1" = "--" ] && shift
  env "${environment[@]}" KEEL_CHECKING="$checking" LD_PRELOAD="$preload" "$@" </dev/null \
    >"$work/keel.out" 2>"$work/keel.err"
  local actual=$?
  echo "--- keel ($checking): status $actual; its standard error:"
  head -c 4000 "$work/keel.err"
  if [ "$actual" -ne "$status" ]; then
    echo "expected status $status"
    return 1
  fi
  if ! grep -Eq "$pattern" "$work/keel.err"; then
    echo "standard error does not match: $pattern"
    return 1
  fi
}

case $mode in
  compare) run_compare "$@" ;;
  expect) run_expect "$@" ;;
  *) echo "usage: see the top of $0" >&2; exit 2 ;;
esac
