# cmake/cortex-m-boards.cmake: the Cortex-M boards keel runs on in QEMU, shared by the two
# Cortex-M toolchain files (toolchain.cmake, GCC; toolchain-clang.cmake, clang).
#
# KEEL_BOARD picks the QEMU board, and with it the core, the floating-point ABI, the linker
# script (linker/cortex-m/<board>.ld) and the emulator command ctest runs the on-target tests
# with. Sets KEEL_CPU_FLAGS (the -mcpu, float ABI and -mthumb flags both compilers take),
# KEEL_ARCH_PROFILE (v6m, v7m, v8m), KEEL_CLANG_ARCH (the architecture of clang's --target),
# KEEL_PORT and CMAKE_CROSSCOMPILING_EMULATOR.
set(KEEL_BOARD "mps2-an386" CACHE STRING
    "QEMU board: microbit (M0), mps2-an385 (M3), mps2-an386 (M4F), mps2-an500 (M7), mps2-an505 (M33)")
set_property(CACHE KEEL_BOARD PROPERTY STRINGS microbit mps2-an385 mps2-an386 mps2-an500 mps2-an505)
# QEMU runs every image with -icount shift=<this>: each instruction then advances virtual time by
# 2^shift ns, and the port turns SysTick ticks back into instructions with the same number.
set(KEEL_ICOUNT_SHIFT 6 CACHE STRING "QEMU -icount shift the port's instruction counter assumes")

# Per board: -mcpu, floating point, and the architecture profile. The rest of a board (UART,
# clock, memory map) is in ports/cortex-m/boards/<board>/ and linker/cortex-m/.
if(KEEL_BOARD STREQUAL "microbit")
  set(_keel_cpu "-mcpu=cortex-m0 -mfloat-abi=soft")
  set(KEEL_ARCH_PROFILE v6m)
  set(KEEL_CLANG_ARCH thumbv6m)
elseif(KEEL_BOARD STREQUAL "mps2-an385")
  set(_keel_cpu "-mcpu=cortex-m3 -mfloat-abi=soft")
  set(KEEL_ARCH_PROFILE v7m)
  set(KEEL_CLANG_ARCH thumbv7m)
elseif(KEEL_BOARD STREQUAL "mps2-an386")
  set(_keel_cpu "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard")
  set(KEEL_ARCH_PROFILE v7m)
  set(KEEL_CLANG_ARCH thumbv7em)
elseif(KEEL_BOARD STREQUAL "mps2-an500")
  set(_keel_cpu "-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard")
  set(KEEL_ARCH_PROFILE v7m)
  set(KEEL_CLANG_ARCH thumbv7em)
elseif(KEEL_BOARD STREQUAL "mps2-an505")
  set(_keel_cpu "-mcpu=cortex-m33 -mfpu=fpv5-sp-d16 -mfloat-abi=hard")
  set(KEEL_ARCH_PROFILE v8m)
  set(KEEL_CLANG_ARCH thumbv8m.main)
else()
  message(FATAL_ERROR "cortex-m-boards.cmake: unknown KEEL_BOARD '${KEEL_BOARD}'")
endif()
set(KEEL_PORT cortex-m)
set(KEEL_CPU_FLAGS "${_keel_cpu} -mthumb")

# ctest runs every on-target test as: <emulator> <test.elf>. Nothing may follow the ELF (QEMU
# would read it as an option): tests take no arguments. The guest's exit status is its result.
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-system-arm -M ${KEEL_BOARD} -display none -monitor none -serial stdio
    -icount shift=${KEEL_ICOUNT_SHIFT} -semihosting-config enable=on,target=native -kernel)
