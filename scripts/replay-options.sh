#!/usr/bin/env bash
# scripts/replay-options.sh: the shared replay harness's two figures for keel.h built with other
# heap options than the default.
#
# ../shared/replay/measure.py judges keel.h as a C user gets it (statistics, basic checks). This
# builds the same replayer (replay.c + adapt_keel.c over core/src/c_api.cpp, the flags of
# measure.py's build) once with the default options and once with OPTIONS (designated
# initializers of keel::HeapOptions, passed as KEEL_C_API_OPTIONS), and prints for each trace
# the instructions per operation (callgrind, counting the replayer's ba_call_* calls only, as
# measure.py does) and the heap efficiency (peak live bytes over the smallest arena, the
# replayer's own 1 KiB bisection), side by side.
#
# Usage, from the project root (needs valgrind, zlib's headers):
#   scripts/replay-options.sh ".quick_lists = 8"
#   scripts/replay-options.sh ".quick_lists = 4, .quick_largest = 128" micro fifo
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 OPTIONS [TRACE...]" >&2
  exit 2
fi
options=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$root/../shared" && pwd)
traces=("$@")
if [ ${#traces[@]} -eq 0 ]; then
  traces=(micro random_actions random_actions_big aligned fifo lifo prodcons growth)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build() {  # build DIR [DEFINE]: a replayer over keel.h
  local dir=$1
  shift
  mkdir -p "$dir"
  gcc -O2 -DNDEBUG -std=gnu11 -c "$shared/replay/replay.c" -o "$dir/replay.o"
  gcc -O2 -DNDEBUG -std=gnu11 -I"$root/core/include" -c "$shared/replay/adapt_keel.c" \
    -o "$dir/adapt_keel.o"
  for source in c_api fault; do
    g++ -O3 -DNDEBUG -std=c++20 -fno-exceptions -fno-rtti "$@" -I"$root/core/include" \
      -c "$root/core/src/$source.cpp" -o "$dir/$source.o"
  done
  g++ -o "$dir/replay_keel" "$dir"/*.o -lz
}

per_operation() {  # per_operation REPLAYER TRACE: instructions per operation, to a tenth
  local out collected operations
  out=$(valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" --collect-atstart=no \
    --toggle-collect='ba_call_*' "$1" cg "$2" 2>&1)
  collected=$(echo "$out" | grep -o 'Collected *: *[0-9]*' | grep -o '[0-9]*$')
  operations=$(echo "$out" | grep -o 'ops=[0-9]*' | cut -d= -f2)
  python3 -c "print('%.1f' % ($collected / $operations))"
}

efficiency() {  # efficiency REPLAYER TRACE
  "$1" minarena "$2" | grep -o 'efficiency=[0-9.]*' | cut -d= -f2
}

build "$work/default"
build "$work/options" "-DKEEL_C_API_OPTIONS=$options"
echo "keel.h on the shared traces: default options against HeapOptions{$options}"
echo "(instructions per operation / efficiency)"
echo
echo "| trace | default | $options |"
echo "|---|---:|---:|"
for trace in "${traces[@]}"; do
  file="$shared/traces/$trace.trace.gz"
  echo "| $trace | $(per_operation "$work/default/replay_keel" "$file") / $(efficiency "$work/default/replay_keel" "$file") | $(per_operation "$work/options/replay_keel" "$file") / $(efficiency "$work/options/replay_keel" "$file") |"
done
