#!/usr/bin/env bash
# The pool benchmark (tools/pool_bench): protocol messages of 16/40/96/200 bytes sent and
# received in bursts, served by keel::ObjectPool (checked and unchecked), the keel heap and
# glibc malloc in one program. Counts the instructions inside each allocator call with callgrind
# (one run per measured function), times a native run, and rewrites the generated part of the
# section "Pools: ..." at the end of docs/benchmarks.md. Takes about a minute.
# Usage: scripts/bench-pools.sh [--no-write] [--working-tree]
#   --no-write      print the section instead of writing it
#   --working-tree  measure the working tree as it is; by default the committed HEAD is measured
#                   (exported with git archive), so that the figures belong to one commit
set -euo pipefail
cd "$(dirname "$0")/.."
write=yes
source_dir=.
for argument in "$@"; do
  case "$argument" in
    --no-write) write=no ;;
    --working-tree) source_dir=working ;;
    *) echo "unknown option $argument" >&2; exit 2 ;;
  esac
done

for package in cmake g++ valgrind libgtest-dev; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || {
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends \
      cmake g++ valgrind libgtest-dev
    break
  }
done

build=build/pool-bench
commit=$(git rev-parse --short HEAD)
if [ "$source_dir" = working ]; then
  source_dir=.
  measured="the working tree at commit \`${commit}\`"
  git diff --quiet HEAD -- core tools/pool_bench || measured+=" (with local changes)"
else
  source_dir="$build/source"
  rm -rf "$source_dir"
  mkdir -p "$source_dir"
  git archive HEAD | tar -x -C "$source_dir"
  measured="commit \`${commit}\` (a clean export)"
fi
cmake -S "$source_dir" -B "$build/build" -DCMAKE_BUILD_TYPE=Release -DKEEL_BUILD_BENCH=OFF >/dev/null
cmake --build "$build/build" -j2 --target keel_pool_bench >/dev/null
program="$build/build/tools/pool_bench/keel_pool_bench"

# Native timing: five runs of 20 repetitions; the best of the five per allocator is reported,
# since the machine is shared and slower runs are other people's work.
native=""
for attempt in 1 2 3 4 5; do
  native+=$("$program" 20)$'\n'
done
echo "$native"
messages=$(echo "$native" | sed -n 's/^messages per run: \([0-9]*\).*/\1/p' | head -1)

count() {  # count FUNCTION: instructions inside FUNCTION over one run, per message
  local collected
  collected=$(valgrind --tool=callgrind --collect-atstart=no --toggle-collect="$1" \
    --callgrind-out-file=/dev/null "$program" 1 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
  awk -v n="$collected" -v m="$messages" 'BEGIN { printf "%.1f", n / m }'
}

rows=""
declare -A totals
for variant in pool:pools unchecked:pools-unchecked keel:keel glibc:glibc; do
  key=${variant%%:*}
  name=${variant#*:}
  send=$(count "measured_${key}_send")
  receive=$(count "measured_${key}_receive")
  total=$(awk -v a="$send" -v b="$receive" 'BEGIN { printf "%.1f", a + b }')
  totals[$key]=$total
  ns=$(echo "$native" | awk -v n="$name" '$1 == n { if (best == "" || $(NF - 4) + 0 < best + 0) best = $(NF - 4) } END { print best }')
  rows+="| ${name} | ${send} | ${receive} | **${total}** | ${ns} |"$'\n'
  echo "$name: send $send, receive $receive, total $total instructions per message; $ns ns"
done
memory=$(echo "$native" | sed -n 's/^memory: //p' | head -1)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict="Checked pools take $(ratio "${totals[pool]}" "${totals[glibc]}") times glibc's instructions per message and $(ratio "${totals[pool]}" "${totals[keel]}") times the keel heap's; unchecked pools $(ratio "${totals[unchecked]}" "${totals[glibc]}") and $(ratio "${totals[unchecked]}" "${totals[keel]}")."

section=$(cat <<SECTION
<!-- generated:pools:begin (scripts/bench-pools.sh) -->
Measured $(date -u +%Y-%m-%d) on ${measured} by \`scripts/bench-pools.sh\`,
$(g++ --version | head -1), $(valgrind --version), $(ldd --version | head -1 | sed 's/^ldd //').

The workload (\`tools/pool_bench/pool_bench.cpp\`): ${messages} messages in 20000 bursts of 1 to
32 messages; four message types of 16, 40, 96 and 200 bytes in the proportions 40:30:20:10
(fixed seed, the same sequence for every allocator). A burst allocates and constructs each message
(type and sequence number by the constructor, payload filled by the sender), then reads and frees
them in order. Each allocator call goes through one out-of-line function \`measured_<allocator>_send\`
(allocate + construct) or \`measured_<allocator>_receive\` (destroy + release), the only code
callgrind counts:

\`\`\`sh
cmake -S . -B build/pool-bench/build -DCMAKE_BUILD_TYPE=Release
cmake --build build/pool-bench/build --target keel_pool_bench
B=build/pool-bench/build/tools/pool_bench/keel_pool_bench
valgrind --tool=callgrind --collect-atstart=no --toggle-collect=measured_pool_send \\
    --callgrind-out-file=/dev/null \$B 1     # "Collected" / messages; likewise for each measured_*
\$B 20                                       # native timing (run 5 times, best kept)
\`\`\`

- **pools**: one \`keel::ObjectPool<Message<N>, 32>\` per type, \`create(type, sequence)\` and
  \`destroy(p)\`, default \`Checking::basic\`: every release is checked for range, block boundary and
  (built-in bitmap) double release, every acquire checks the link it follows.
- **pools-unchecked**: the same pools with \`Checking::none\`.
- **keel**: one \`keel::Heap<>\` (default options: statistics, basic checks) over a 1 MiB arena,
  \`allocate(size, 8)\` then placement new, \`free(p)\`.
- **glibc**: \`malloc(size)\` then placement new, \`free(p)\` (glibc 2.36, dynamically linked: the
  count includes the PLT stub).

| allocator | send: instructions | receive: instructions | **instructions per message** | ns per message (native, best of 5 runs on a shared 2-core VM: indicative only) |
|---|---:|---:|---:|---:|
${rows}
${verdict}

Memory: ${memory}.
<!-- generated:pools:end -->
SECTION
)

if [ "$write" = no ]; then
  echo "$section"
  exit 0
fi
doc=docs/benchmarks.md
heading="## Pools: messages through ObjectPool vs keel heap vs glibc"
[ -f "$doc" ] || printf '# keel benchmarks\n' >"$doc"
if ! grep -qF "$heading" "$doc"; then
  printf '\n%s\n\n<!-- generated:pools:begin (scripts/bench-pools.sh) -->\n<!-- generated:pools:end -->\n' \
    "$heading" >>"$doc"
fi
# Replace what lies between the markers, leaving the rest of the file alone.
awk -v section="$section" '
  /<!-- generated:pools:begin/ { print section; skipping = 1; next }
  /<!-- generated:pools:end -->/ { skipping = 0; next }
  !skipping { print }
' "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
echo "wrote the pools section of $doc"
