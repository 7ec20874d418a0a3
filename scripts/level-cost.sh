#!/usr/bin/env bash
# Instructions per allocate and per free at each checking level (docs/design.md section 9),
# counted by callgrind, collecting only inside the measured wrapper. Usage: scripts/level-cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
g++ -std=c++20 -O2 -g -Icore/include tools/level_cost.cpp core/src/fault.cpp -o "$work/level_cost"
printf '%-10s %10s %10s\n' level allocate free
for level in none basic hardened full full+tags debug; do
  row=()
  for operation in allocate free; do
    counts=$(valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
      --collect-atstart=no "--toggle-collect=*level_${operation}*" "$work/level_cost" "$level" 2>/dev/null)
    calls=$(echo "$counts" | awk -v op="$operation" '{print (op == "allocate") ? $2 : $3}')
    total=$(awk '/^summary:/ {print $2}' "$work/cg.out")
    row+=("$(awk -v t="$total" -v c="$calls" 'BEGIN {printf "%.1f", t / c}')")
  done
  printf '%-10s %10s %10s\n' "$level" "${row[0]}" "${row[1]}"
done
