# toolchain-clang.cmake: cross-compiling keel for Cortex-M with clang (Debian 12's clang 14) and
# ld.lld, against the headers and libraries of Debian's arm-none-eabi GCC.
#
#     cmake -B build/cm-m4-clang -DCMAKE_TOOLCHAIN_FILE=toolchain-clang.cmake -DKEEL_BOARD=mps2-an386
#     (or simply: cmake --preset cm-m4-clang)
#
# The same boards, flags and QEMU command as toolchain.cmake (cmake/cortex-m-boards.cmake). clang
# brings no C library, C++ headers or runtime for bare-metal Arm, so it borrows the GNU ones: the
# C++ headers of libstdc++-arm-none-eabi-dev, newlib's headers and libc.a, and libgcc.a for the
# helpers clang calls too (__aeabi_uidiv and the like), each from the multilib directory that
# arm-none-eabi-gcc chooses for the board's flags. Packages: clang, lld, and those of
# toolchain.cmake.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)  # no test program can link without a port
set(CMAKE_TRY_COMPILE_PLATFORM_VARIABLES KEEL_BOARD KEEL_ICOUNT_SHIFT KEEL_ARM_GCC_ROOT)

include(${CMAKE_CURRENT_LIST_DIR}/cmake/cortex-m-boards.cmake)

set(CMAKE_C_COMPILER clang)
set(CMAKE_CXX_COMPILER clang++)
set(CMAKE_ASM_COMPILER clang)
foreach(language C CXX ASM)
  set(CMAKE_${language}_COMPILER_TARGET ${KEEL_CLANG_ARCH}-none-eabi)  # CMake passes --target=
endforeach()
# The GNU binary utilities read clang's objects as well (and need no extra package).
set(CMAKE_AR arm-none-eabi-ar CACHE FILEPATH "")
set(CMAKE_RANLIB arm-none-eabi-ranlib CACHE FILEPATH "")
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "")
set(CMAKE_NM arm-none-eabi-nm CACHE FILEPATH "")

# Where the GNU toolchain keeps its target files, and which multilib the board's flags select.
set(KEEL_ARM_GCC_ROOT /usr/lib/arm-none-eabi CACHE PATH
    "arm-none-eabi's target directory: include/ (newlib, include/c++/<version>/) and lib/")
separate_arguments(_keel_cpu_list UNIX_COMMAND "${KEEL_CPU_FLAGS}")
execute_process(COMMAND arm-none-eabi-gcc ${_keel_cpu_list} -print-multi-directory
                OUTPUT_VARIABLE _keel_multilib OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE _keel_gcc_result)
execute_process(COMMAND arm-none-eabi-gcc -dumpversion
                OUTPUT_VARIABLE _keel_gcc_version OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND arm-none-eabi-gcc ${_keel_cpu_list} -print-libgcc-file-name
                OUTPUT_VARIABLE _keel_libgcc OUTPUT_STRIP_TRAILING_WHITESPACE)
set(_keel_cxx_headers ${KEEL_ARM_GCC_ROOT}/include/c++/${_keel_gcc_version})
if(NOT _keel_gcc_result EQUAL 0 OR NOT EXISTS ${_keel_cxx_headers}/arm-none-eabi/${_keel_multilib})
  message(FATAL_ERROR "toolchain-clang.cmake: needs arm-none-eabi-gcc and its C++ headers "
                      "(scripts/install-deps.sh: gcc-arm-none-eabi libstdc++-arm-none-eabi-dev)")
endif()
get_filename_component(_keel_libgcc_dir ${_keel_libgcc} DIRECTORY)

# The include path arm-none-eabi-g++ would use, in its order, with clang's own builtin headers
# (stddef.h, stdint.h, arm_acle.h) in place of GCC's.
set(_keel_includes
    "-nostdlibinc -isystem ${_keel_cxx_headers}"
    "-isystem ${_keel_cxx_headers}/arm-none-eabi/${_keel_multilib}"
    "-isystem ${_keel_cxx_headers}/backward -isystem ${KEEL_ARM_GCC_ROOT}/include")
list(JOIN _keel_includes " " _keel_includes)

# The flags of toolchain.cmake. In clang, -ffreestanding also means -fno-builtin: a call to memcpy
# is then a call, never inlined (keel's core uses __builtin_memcpy), and no loop becomes one.
set(_keel_common "${KEEL_CPU_FLAGS} -ffreestanding -ffunction-sections -fdata-sections")
set(CMAKE_C_FLAGS_INIT "${_keel_common} ${_keel_includes}")
set(CMAKE_CXX_FLAGS_INIT
    "${_keel_common} ${_keel_includes} -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit -fno-asynchronous-unwind-tables")
set(CMAKE_ASM_FLAGS_INIT "${KEEL_CPU_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT
    "${KEEL_CPU_FLAGS} -fuse-ld=lld -nostdlib -Wl,--gc-sections -Wno-unused-command-line-argument -L${_keel_libgcc_dir} -L${KEEL_ARM_GCC_ROOT}/lib/${_keel_multilib}")
set(CMAKE_C_STANDARD_LIBRARIES "-lgcc" CACHE STRING "")
set(CMAKE_CXX_STANDARD_LIBRARIES "-lgcc" CACHE STRING "")
set(CMAKE_EXECUTABLE_SUFFIX_C .elf)
set(CMAKE_EXECUTABLE_SUFFIX_CXX .elf)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
