#!/usr/bin/env bash
# keel's host benchmark: keel vs glibc malloc on the allocation traces, and the bounded-work
# measurements (docs/benchmarks.md, sections "Host: keel vs glibc ..." and "Bounded work").
# Installs what it needs (Debian packages, apt-get as root), builds, runs everything (about 5
# minutes on 2 idle cores) and rewrites the generated parts of docs/benchmarks.md and
# docs/plots/*.png. Raw outputs: build/bench/results/.
#
#   scripts/bench.sh                      measure the working tree (built in build/bench)
#   KEEL_BENCH_REV=HEAD scripts/bench.sh  measure a commit: `git archive` of it into
#                                         build/bench/tree, built in build/bench/tree-build
#
# Not a test: it prints figures, and fails only if a measurement cannot be made or a replay
# finds a damaged block.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ valgrind qemu-user python3 python3-matplotlib gzip util-linux)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -ne 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "installing: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
fi

if [ -n "${KEEL_BENCH_REV:-}" ]; then
  source_dir=build/bench/tree
  build_dir=build/bench/tree-build
  rm -rf "$source_dir" "$build_dir"
  mkdir -p "$source_dir"
  git archive "$KEEL_BENCH_REV" | tar -x -C "$source_dir"
  revision=$(git rev-parse --short "$KEEL_BENCH_REV")
else
  # A copy of the sources as built, for the line-level figures (core/ may change meanwhile).
  source_dir=.
  build_dir=build/bench
  rm -rf build/bench/source
  mkdir -p build/bench/source
  cp -r core bench build/bench/source/
  revision=working-tree
fi

# Plain keel: no valgrind client requests, no sanitizers (the host preset turns those on).
cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DKEEL_BUILD_BENCH=ON \
  -DKEEL_BUILD_TESTS=OFF -DKEEL_VALGRIND=OFF -DKEEL_SANITIZE= >/dev/null
cmake --build "$build_dir" -j2 --target keel_bench insn_window
snapshot=$([ "$source_dir" = . ] && echo build/bench/source || echo "$source_dir")
/usr/bin/python3 -B bench/report/bench.py --repo . --build "$build_dir" --snapshot "$snapshot" \
  --revision "$revision" --results build/bench/results --jobs 2 "$@"
