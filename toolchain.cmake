# toolchain.cmake: cross-compiling keel for Cortex-M with Debian's arm-none-eabi GCC.
#
#     cmake -B build/cm-m4 -DCMAKE_TOOLCHAIN_FILE=toolchain.cmake -DKEEL_BOARD=mps2-an386
#     (or simply: cmake --preset cm-m4; the presets in CMakePresets.json pass the same)
#
# KEEL_BOARD picks the QEMU board, and with it the core, the floating-point ABI, the linker
# script (linker/cortex-m/<board>.ld) and the emulator command ctest runs the on-target tests
# with. Packages: gcc-arm-none-eabi, libnewlib-arm-none-eabi and libstdc++-arm-none-eabi-dev (the
# C++ headers only; the 1.5 GB libstdc++ build for newlib is not needed, because nothing here
# links libstdc++: links use -nostdlib and name -lgcc, and -lc where newlib is wanted).
#
# Every translation unit is freestanding C++ without exceptions or RTTI, and never needs the
# C++ runtime: no thread-safe statics (__cxa_guard_*), no atexit registration (__cxa_atexit).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)  # no test program can link without a port
set(CMAKE_TRY_COMPILE_PLATFORM_VARIABLES KEEL_BOARD KEEL_ICOUNT_SHIFT)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_AR arm-none-eabi-ar CACHE FILEPATH "")
set(CMAKE_RANLIB arm-none-eabi-ranlib CACHE FILEPATH "")
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "")
set(CMAKE_NM arm-none-eabi-nm CACHE FILEPATH "")

set(KEEL_BOARD "mps2-an386" CACHE STRING
    "QEMU board: microbit (M0), mps2-an385 (M3), mps2-an386 (M4F), mps2-an500 (M7), mps2-an505 (M33)")
set_property(CACHE KEEL_BOARD PROPERTY STRINGS microbit mps2-an385 mps2-an386 mps2-an500 mps2-an505)
# QEMU runs every image with -icount shift=<this>: each instruction then advances virtual time by
# 2^shift ns, and the port turns SysTick ticks back into instructions with the same number.
set(KEEL_ICOUNT_SHIFT 6 CACHE STRING "QEMU -icount shift the port's instruction counter assumes")

# Per board: -mcpu, floating point, and the architecture profile (v6m, v7m, v8m). The rest of a
# board (UART, clock, memory map) is in ports/cortex-m/boards/<board>/ and linker/cortex-m/.
if(KEEL_BOARD STREQUAL "microbit")
  set(_keel_cpu "-mcpu=cortex-m0 -mfloat-abi=soft")
  set(KEEL_ARCH_PROFILE v6m)
elseif(KEEL_BOARD STREQUAL "mps2-an385")
  set(_keel_cpu "-mcpu=cortex-m3 -mfloat-abi=soft")
  set(KEEL_ARCH_PROFILE v7m)
elseif(KEEL_BOARD STREQUAL "mps2-an386")
  set(_keel_cpu "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard")
  set(KEEL_ARCH_PROFILE v7m)
elseif(KEEL_BOARD STREQUAL "mps2-an500")
  set(_keel_cpu "-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard")
  set(KEEL_ARCH_PROFILE v7m)
elseif(KEEL_BOARD STREQUAL "mps2-an505")
  set(_keel_cpu "-mcpu=cortex-m33 -mfpu=fpv5-sp-d16 -mfloat-abi=hard")
  set(KEEL_ARCH_PROFILE v8m)
else()
  message(FATAL_ERROR "toolchain.cmake: unknown KEEL_BOARD '${KEEL_BOARD}'")
endif()
set(KEEL_PORT cortex-m)
set(KEEL_CPU_FLAGS "${_keel_cpu} -mthumb")

# The compiler's defaults otherwise, as firmware builds them (v7-M and v8-M may then use
# unaligned word accesses where the C++ allows; the on-target tests make any access that is
# really unaligned fault, CCR.UNALIGN_TRP, as it always does on v6-M).
set(_keel_common "${KEEL_CPU_FLAGS} -ffreestanding -ffunction-sections -fdata-sections")
set(CMAKE_C_FLAGS_INIT "${_keel_common}")
set(CMAKE_CXX_FLAGS_INIT
    "${_keel_common} -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit -fno-asynchronous-unwind-tables")
set(CMAKE_ASM_FLAGS_INIT "${KEEL_CPU_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${KEEL_CPU_FLAGS} -nostdlib -nostartfiles -Wl,--gc-sections")
set(CMAKE_C_STANDARD_LIBRARIES "-lgcc" CACHE STRING "")
set(CMAKE_CXX_STANDARD_LIBRARIES "-lgcc" CACHE STRING "")
set(CMAKE_EXECUTABLE_SUFFIX_C .elf)
set(CMAKE_EXECUTABLE_SUFFIX_CXX .elf)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

# ctest runs every on-target test as: <emulator> <test.elf>. Nothing may follow the ELF (QEMU
# would read it as an option): tests take no arguments. The guest's exit status is its result.
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-system-arm -M ${KEEL_BOARD} -display none -monitor none -serial stdio
    -icount shift=${KEEL_ICOUNT_SHIFT} -semihosting-config enable=on,target=native -kernel)
