# toolchain.cmake: cross-compiling keel for Cortex-M with Debian's arm-none-eabi GCC.
#
#     cmake -B build/cm-m4 -DCMAKE_TOOLCHAIN_FILE=toolchain.cmake -DKEEL_BOARD=mps2-an386
#     (or simply: cmake --preset cm-m4; the presets in CMakePresets.json pass the same)
#
# KEEL_BOARD picks the QEMU board (cmake/cortex-m-boards.cmake lists them). toolchain-clang.cmake
# builds the same with clang. Packages: gcc-arm-none-eabi, libnewlib-arm-none-eabi and
# libstdc++-arm-none-eabi-dev (the C++ headers only; the 1.5 GB libstdc++ build for newlib is not
# needed, because nothing here links libstdc++: links use -nostdlib and name -lgcc, and -lc where
# newlib is wanted).
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

# The boards, their CPU flags and the QEMU command (KEEL_BOARD, KEEL_CPU_FLAGS, KEEL_PORT,
# CMAKE_CROSSCOMPILING_EMULATOR): shared with toolchain-clang.cmake.
include(${CMAKE_CURRENT_LIST_DIR}/cmake/cortex-m-boards.cmake)

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
