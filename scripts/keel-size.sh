#!/usr/bin/env bash
# keel-size from a fresh checkout: installs what it needs with apt-get (scripts/install-deps.sh:
# g++-multilib for the 32-bit replayer, python3-matplotlib for `see`...), builds the tool in the
# host build (build/host/tools/keel-size) if it is not there or is older than its sources, and
# runs it with the arguments given (tools/keel-size/README.md), e.g.
#
#   scripts/keel-size.sh build/record/demo-cortex-m4.krec
#   scripts/keel-size.sh see build/record/demo-cortex-m4.krec --out build/record
#
# An installed keel (cmake --install) has the same tool as bin/keel-size.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root"/scripts/install-deps.sh test >&2
(
  cd "$root"
  [ -f build/host/CMakeCache.txt ] || cmake --preset host >/dev/null
  cmake --build build/host --target keel_size -j2 >/dev/null
)
exec "$root"/build/host/tools/keel-size/keel-size "$@"
