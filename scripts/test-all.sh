#!/usr/bin/env bash
# keel's whole test suite: README's test command, and what .ci/run calls.
# On a fresh Debian 12 machine it installs what it needs (apt-get, as root), then builds and runs
# every test: host (optimised, with valgrind), ASan+UBSan, 32-bit (8- and 16-byte granules),
# clang, the freestanding symbol check, the format check, and the on-target tests in QEMU (GCC and
# clang builds). Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test

failed=()
passed=0
step() {  # step NAME COMMAND...: runs one step, records a failure, carries on
  local name=$1
  shift
  echo "=== ${name}"
  local started=$SECONDS
  if "$@"; then
    echo "=== ${name}: ok ($((SECONDS - started)) s)"
    passed=$((passed + 1))
  else
    echo "=== ${name}: FAILED ($((SECONDS - started)) s)"
    failed+=("${name}")
  fi
}

host_preset() {  # configure, build and test one host preset
  cmake --preset "$1" >/dev/null && cmake --build --preset "$1" && ctest --preset "$1" -j2
}

cortex_m_preset() {  # build one Cortex-M preset; run its on-target tests in QEMU (ctest)
  cmake --preset "$1" >/dev/null && cmake --build --preset "$1" && ctest --preset "$1" -j2
}

host_m32_g16() {  # -m32 again with i386's own 16-byte granules (KEEL_GRANULE=AUTO; host-m32
  # forces 8): builds and runs only the core's unit, property and error tests. Where 32-bit
  # programs cannot run (natively or under qemu-i386) no test is registered: skip, saying so.
  cmake --preset host-m32-g16 >/dev/null || return 1
  if ctest --test-dir build/host-m32-g16 -N -R '^host_tests_skipped$' 2>/dev/null |
    grep -q host_tests_skipped; then
    echo "host-m32-g16: skipped: 32-bit x86 programs cannot run here (cmake's warning says why)"
    return 0
  fi
  cmake --build --preset host-m32-g16 && ctest --preset host-m32-g16 -j2
}

x86_64_kernel() {  # the x86_64 kernel (its own CMake project) and its QEMU boots, 1 and 4 cores;
  # then the recording kernel (-DKEEL_DEMO_RECORD=ON), whose recording must be well formed
  cmake -S qemu-demo/x86_64 -B build/x86-kernel >/dev/null &&
    cmake --build build/x86-kernel -j2 && ctest --test-dir build/x86-kernel -j2 --output-on-failure &&
    cmake -S qemu-demo/x86_64 -B build/x86-kernel-record -DKEEL_DEMO_RECORD=ON >/dev/null &&
    cmake --build build/x86-kernel-record -j2 &&
    ctest --test-dir build/x86-kernel-record -R record --output-on-failure
}

step "format" scripts/check-format.sh
step "host" host_preset host
step "host-asan" host_preset host-asan
step "host-m32" host_preset host-m32    # 32-bit with 8-byte granules (Cortex-M's layout)
step "host-m32-g16" host_m32_g16        # 32-bit with 16-byte granules (i386's own): core tests
step "host-clang" host_preset host-clang    # clang 14 (Debian 12's), warnings as errors
step "freestanding" scripts/check-freestanding.sh
step "cortex-m0" cortex_m_preset cm-m0     # QEMU microbit; then M3, M4F, M7, M33 (mps2)
step "cortex-m3" cortex_m_preset cm-m3
step "cortex-m4" cortex_m_preset cm-m4
step "cortex-m7" cortex_m_preset cm-m7
step "cortex-m33" cortex_m_preset cm-m33
step "cortex-m4-clang" cortex_m_preset cm-m4-clang    # the same images built by clang and ld.lld
step "x86_64" x86_64_kernel    # boots in QEMU (-smp 1 and 4), a timeout per boot
step "host-tsan" host_preset host-tsan    # thread stress under ThreadSanitizer
step "host-fuzz" host_preset host-fuzz    # bounded libFuzzer run (KEEL_FUZZ_SECONDS, 120 s)

echo "total time: ${SECONDS} s"
if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED steps: ${failed[*]}"
fi
echo "steps: ${passed} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
