#!/usr/bin/env bash
# Measures keel on Cortex-M in QEMU and rewrites the section "## Cortex-M (QEMU, instruction
# counts)" of docs/benchmarks.md (between its generated:cortex-m markers; appended at the end of
# the file if it has none):
#
#   - instructions per malloc and free, keel against newlib's malloc full and nano, on the
#     Cortex-M4F (QEMU mps2-an386, -icount shift=6): the images keel_measure_full and
#     keel_measure_nano of preset cm-m4 (qemu-demo/cortex-m/measure_main.cpp);
#   - code size at -Os on the Cortex-M0 and M4: target size-report of presets cm-m0-size and
#     cm-m4-size (tests/target/size).
#
# Usage: scripts/bench-cortex-m.sh [--print | --doc FILE]
#   --print      show the section, edit nothing
#   --doc FILE   rewrite the section in FILE instead of docs/benchmarks.md
# KEEL_BENCH_REV=<commit> names the commit measured when the tree is an export (git archive)
# rather than a checkout. Every figure is deterministic: QEMU counts instructions, and sizes come
# from the ELF files.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh demo >/dev/null

print_only=0
doc=docs/benchmarks.md
case "${1:-}" in
  --print) print_only=1 ;;
  --doc) doc=$2 ;;
  "") ;;
  *) echo "usage: $0 [--print | --doc FILE]" >&2; exit 2 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "building (presets cm-m4, cm-m0-size, cm-m4-size) ..." >&2
cmake --preset cm-m4 >/dev/null
cmake --build --preset cm-m4 --target keel_measure_full keel_measure_nano >/dev/null
for preset in cm-m0-size cm-m4-size; do
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" --target size-report >/dev/null 2>&1
done
echo "measuring ..." >&2
run=build/cm-m4/qemu-demo/cortex-m
"$run/run-measure-full.sh" >"$work/full.txt"
"$run/run-measure-nano.sh" >"$work/nano.txt"
grep '^|' build/cm-m0-size/tests/target/size/size-report.md >"$work/size-m0.txt"
grep '^|' build/cm-m4-size/tests/target/size/size-report.md >"$work/size-m4.txt"

# column FILE ROW-NAME COLUMN: a figure from a measurement table (2 best, 3 median, 4 p99,
# 5 worst, 6 mean).
column() {
  awk -F'|' -v name="$2" -v column="$3" '
    { gsub(/^ +| +$/, "", $2) }
    $2 == name { value = $(column + 1); gsub(/ /, "", value); print value; exit }' "$1"
}
verdict() {  # verdict CONDITION: "met" or "**missed**"
  if [ "$1" -eq 1 ]; then echo "met"; else echo "**missed**"; fi
}

keel_malloc_worst=$(column "$work/full.txt" "keel Heap<>::allocate" 5)
keel_free_worst=$(column "$work/full.txt" "keel Heap<>::free" 5)
keel_malloc_median=$(column "$work/full.txt" "keel Heap<>::allocate" 3)
keel_free_median=$(column "$work/full.txt" "keel Heap<>::free" 3)
nano_malloc_worst=$(column "$work/nano.txt" "newlib nano malloc" 5)
nano_free_worst=$(column "$work/nano.txt" "newlib nano free" 5)
full_malloc_median=$(column "$work/full.txt" "newlib full malloc" 3)
full_free_median=$(column "$work/full.txt" "newlib full free" 3)
keel_pair=$((keel_malloc_median + keel_free_median))
quick_malloc_median=$(column "$work/full.txt" "keel allocate, quick lists" 3)
quick_free_median=$(column "$work/full.txt" "keel free, quick lists" 3)
quick_malloc_worst=$(column "$work/full.txt" "keel allocate, quick lists" 5)
quick_free_worst=$(column "$work/full.txt" "keel free, quick lists" 5)
quick_pair=$((quick_malloc_median + quick_free_median))
full_pair=$((full_malloc_median + full_free_median))
size_m0=$(awk -F'|' '$2 ~ /^ minimal \(the target\)/ { gsub(/ /, "", $4); print $4 }' "$work/size-m0.txt")
size_m4=$(awk -F'|' '$2 ~ /^ minimal \(the target\)/ { gsub(/ /, "", $4); print $4 }' "$work/size-m4.txt")
# The heap's state: .data of the minimal and the full image (zero: the heap starts as zero bytes,
# .bss only); the heap object of a 64 KiB heap (largest_block) read off the images' symbols;
# the images that define a 64-bit division of libgcc.
data_of() {  # data_of FILE ROW-PREFIX: the .data column of the first row that starts so
  awk -F'|' -v row="$2" 'index($2, " " row) == 1 { gsub(/ /, "", $5); print $5; exit }' "$1"
}
state_data=0
for table in "$work/size-m0.txt" "$work/size-m4.txt"; do
  for row in "minimal (the target)" "full build: all of the above"; do
    state_data=$((state_data + $(data_of "$table" "$row")))
  done
done
size_dir=build/cm-m0-size/tests/target/size
symbol_size() {  # symbol_size ELF SYMBOL: its size in bytes, from nm -S
  local hex
  hex=$(arm-none-eabi-nm -S "$1" | awk -v name="$2" '$4 == name { print $2; exit }')
  echo $((16#${hex:-0}))
}
small_heap=$(symbol_size "$size_dir/size_minimal_small.elf" _ZN12_GLOBAL__N_16g_heapE)
small_locked=$(symbol_size "$size_dir/size_full_small.elf" _ZN12_GLOBAL__N_18g_lockedE)
divisions=0
images=0
for elf in build/cm-m0-size/tests/target/size/*.elf build/cm-m4-size/tests/target/size/*.elf; do
  images=$((images + 1))
  if arm-none-eabi-nm "$elf" | grep -Eq ' T (__aeabi_u?ldivmod|__udivmoddi4|__u?divdi3|__u?moddi3)$'; then
    divisions=$((divisions + 1))
  fi
done

dirty=""
if [ -n "${KEEL_BENCH_REV:-}" ]; then
  revision=$KEEL_BENCH_REV
else
  revision=$(git rev-parse --short HEAD)
  git diff --quiet HEAD -- core ports/cortex-m qemu-demo tests/target toolchain.cmake cmake linker ||
    dirty=" (with uncommitted changes in the measured sources)"
fi

section="$work/section.md"
{
  echo "<!-- generated:cortex-m:begin (scripts/bench-cortex-m.sh) -->"
  echo "Measured $(date -u +%Y-%m-%d) on commit \`$revision\`$dirty by \`scripts/bench-cortex-m.sh\`"
  echo "(two runs give the same figures: QEMU counts instructions, sizes come from the ELF files)."
  echo "QEMU $(qemu-system-arm --version | head -n 1 | sed 's/QEMU emulator version //'),"
  echo "$(arm-none-eabi-gcc --version | head -n 1), newlib from Debian's libnewlib-arm-none-eabi"
  echo "$(dpkg-query -W -f='${Version}' libnewlib-arm-none-eabi 2>/dev/null || echo '?')."
  echo
  echo "### Instructions per malloc and free: keel against newlib (Cortex-M4F)"
  echo
  echo "One image per newlib variant, built by preset \`cm-m4\` (\`-O2\`, \`-mcpu=cortex-m4 -mfpu=fpv4-sp-d16"
  echo "-mfloat-abi=hard\`) and run on \`qemu-system-arm -M mps2-an386 -icount shift=6\`:"
  echo
  echo '```sh'
  echo "cmake --preset cm-m4 && cmake --build --preset cm-m4 --target keel_measure_full keel_measure_nano"
  echo "$run/run-measure-full.sh    # keel and newlib's malloc in one image"
  echo "$run/run-measure-nano.sh    # the same with --specs=nano.specs"
  echo '```'
  echo
  echo "- **Workload** (qemu-demo/common/measure.hpp, the one of the newlib baseline in"
  echo "  shared/reference): xorshift32 from 0x12345678 picks one of 64 slots per step; an empty slot"
  echo "  gets \`malloc(8 + r % 249)\`, a full one is freed; 10 000 mallocs and 10 000 frees; every"
  echo "  allocator runs exactly the same sequence of requests."
  echo "- **A sample** is one call alone, with interrupts masked, between two reads of the port's"
  echo "  instruction counter (SysTick under \`-icount\`, docs/porting.md section 4), minus the"
  echo "  counter's own cost (an empty window, the least of 64). It includes the caller's branch to an"
  echo "  out-of-line wrapper of the call and, for newlib, \`malloc\`'s call of \`_malloc_r\` and its"
  echo "  lock hooks. Resolution: one SysTick tick is 0.625 instruction, so a figure may differ by one"
  echo "  between two builds of the image."
  echo "- newlib's \`malloc\` gets its memory through \`_sbrk\` from the linker's heap section; each keel"
  echo "  heap gets a fifth of the second RAM bank (QEMU models no memory timing)."
  echo "- keel rows: \`keel::Heap<>\` (defaults: statistics, basic checks, no fallback search); the same"
  echo "  behind \`keel::Locked<..., port::IrqLock>\` (BASEPRI), as a firmware \`malloc\` calls it;"
  echo "  without statistics; without statistics and without checks; and with the defaults plus quick"
  echo "  lists (\`HeapOptions{.quick_lists = 8, .quick_largest = 264}\`: deferred frees of every block"
  echo "  size the workload asks for, docs/design.md section 15)."
  echo
  echo "newlib full, and keel in the same image:"
  echo
  grep '^|' "$work/full.txt"
  echo
  echo "newlib-nano, and keel in the same image:"
  echo
  grep '^|' "$work/nano.txt"
  echo
  echo "Targets (default \`keel::Heap<>\`, and the same with quick lists):"
  echo
  echo "| target | keel | newlib | |"
  echo "|---|---:|---:|---|"
  echo "| worst malloc below newlib-nano's worst | $keel_malloc_worst | $nano_malloc_worst | $(verdict $((keel_malloc_worst < nano_malloc_worst))) |"
  echo "| worst free below newlib-nano's worst | $keel_free_worst | $nano_free_worst | $(verdict $((keel_free_worst < nano_free_worst))) |"
  echo "| median malloc + median free at most newlib full's | $keel_pair | $full_pair | $(verdict $((keel_pair <= full_pair))) |"
  echo "| with quick lists: worst malloc below newlib-nano's worst | $quick_malloc_worst | $nano_malloc_worst | $(verdict $((quick_malloc_worst < nano_malloc_worst))) |"
  echo "| with quick lists: worst free below newlib-nano's worst | $quick_free_worst | $nano_free_worst | $(verdict $((quick_free_worst < nano_free_worst))) |"
  echo "| with quick lists: median malloc + median free at most newlib full's | $quick_pair | $full_pair | $(verdict $((quick_pair <= full_pair))) |"
  echo
  echo "The quick lists' worst cases here are this workload's: it never fills a list nor fails a"
  echo "search, so no call flushes the lists. A flush frees every held block (at most 8 per size,"
  echo "32 sizes here), and only an allocate whose search failed or a region call pays it"
  echo "(docs/design.md section 15)."
  echo
  echo "### Code size (-Os), Cortex-M0 and Cortex-M4F"
  echo
  echo '```sh'
  echo "cmake --preset cm-m0-size && cmake --build --preset cm-m0-size --target size-report"
  echo "cmake --preset cm-m4-size && cmake --build --preset cm-m4-size --target size-report"
  echo '```'
  echo
  echo "Each row is an image (tests/target/size/probe.cpp, \`-Os\`, \`--gc-sections\`) that uses the"
  echo "listed features, compared with the image named: the figures are the bytes the feature adds to"
  echo "a firmware image (keel's functions, the compiler helpers they pull in, such as \`__clzsi2\` on"
  echo "the M0, and the probe's call sites, a few bytes per call). \`.bss\` is the heap object itself"
  echo "(its bin table), which the probe defines \`constinit\`: it starts as zero bytes, so it costs"
  echo "no flash for an initial copy (the pools' \`.data\` is the probe's ObjectPool, whose initial state is not zero)."
  echo
  echo "Cortex-M0 (\`-mcpu=cortex-m0\`, QEMU microbit):"
  echo
  cat "$work/size-m0.txt"
  echo
  echo "Cortex-M4F (\`-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard\`):"
  echo
  cat "$work/size-m4.txt"
  echo
  echo "| target | Cortex-M0 | Cortex-M4F | |"
  echo "|---|---:|---:|---|"
  echo "| minimal build (allocate, free, reallocate, aligned allocation, one region, no statistics) at most 1 KiB of .text | $size_m0 | $size_m4 | $(verdict $((size_m0 <= 1024 && size_m4 <= 1024))) |"
  echo
  echo "| target (Cortex-M0 and M4F images) | measured | |"
  echo "|---|---|---|"
  echo "| the heap's state all zero: no \`.data\` in the minimal and the full image | $state_data B of \`.data\` in the four | $(verdict $((state_data == 0))) |"
  echo "| at most 512 B of state for a heap of at most 64 KiB (\`largest_block\` = 64 KiB; M0) | heap object $small_heap B without statistics; with statistics, behind \`Locked\` with \`ClaimOnOom\`'s reserve, $small_locked B | $(verdict $((small_heap <= 512 && small_locked <= 512))) |"
  echo "| no 64-bit division from libgcc (\`__aeabi_uldivmod\` and the like) | in $divisions of $images images | $(verdict $((divisions == 0))) |"
  echo "<!-- generated:cortex-m:end -->"
} >"$section"

if [ "$print_only" -eq 1 ]; then
  cat "$section"
  exit 0
fi
[ -f "$doc" ] || printf '# keel benchmarks\n' >"$doc"
if grep -q '<!-- generated:cortex-m:begin' "$doc"; then
  awk -v section="$section" '
    /<!-- generated:cortex-m:begin/ { while ((getline line < section) > 0) print line; skip = 1; next }
    /<!-- generated:cortex-m:end -->/ { skip = 0; next }
    !skip { print }' "$doc" >"$work/doc.md"
  cp "$work/doc.md" "$doc"
else
  { printf '\n## Cortex-M (QEMU, instruction counts)\n\n'; cat "$section"; } >>"$doc"
fi
echo "rewrote the Cortex-M section of $doc" >&2
