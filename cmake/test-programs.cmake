# cmake/test-programs.cmake: how ctest runs the host test programs of this build.
#
# A 32-bit x86 build (-m32, preset host-m32) makes programs that a 64-bit Linux kernel runs only
# with its IA32 emulation, which some kernels and container hosts leave out: every run then fails
# with "Exec format error". There QEMU's user-mode emulator runs them (qemu-i386, from Debian's
# qemu-user, about 10 times slower): it becomes CMAKE_CROSSCOMPILING_EMULATOR, which ctest and
# gtest_discover_tests put in front of each test program. If no way to run them is found, the
# tests are neither built nor registered, and one skipped test says why.
#
#   KEEL_M32_EMULATOR  AUTO (default): qemu-i386 only when a 32-bit program fails to run here
#                      ON: always qemu-i386 (to test this path on a machine that runs them)
#                      OFF: never
#
# Sets KEEL_TEST_EMULATOR (the command in front of a test program; empty when they run natively)
# and KEEL_TEST_PROGRAMS_RUN (FALSE when they cannot run here at all).
set(KEEL_M32_EMULATOR AUTO CACHE STRING
    "32-bit x86 test programs under qemu-i386: AUTO (if they cannot run natively), ON, OFF")
set_property(CACHE KEEL_M32_EMULATOR PROPERTY STRINGS AUTO ON OFF)

set(KEEL_TEST_EMULATOR "")
set(KEEL_TEST_PROGRAMS_RUN TRUE)
if(CMAKE_CROSSCOMPILING OR NOT CMAKE_SIZEOF_VOID_P EQUAL 4
   OR NOT CMAKE_HOST_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64|i.86)$")
  return()
endif()

# Build the probe once, with this build's compiler and flags (-m32), and keep it.
set(_keel_probe ${CMAKE_BINARY_DIR}/keel-run-probe/run-probe)
if(NOT EXISTS ${_keel_probe})
  try_compile(_keel_probe_built ${CMAKE_BINARY_DIR}/keel-run-probe/build
              SOURCES ${CMAKE_CURRENT_LIST_DIR}/run-probe.cpp
              COPY_FILE ${_keel_probe} OUTPUT_VARIABLE _keel_probe_log)
  if(NOT _keel_probe_built)
    message(FATAL_ERROR "cmake/test-programs.cmake: cannot build a 32-bit program:\n"
                        "${_keel_probe_log}")
  endif()
endif()

set(_keel_native FALSE)
if(NOT KEEL_M32_EMULATOR STREQUAL "ON")
  execute_process(COMMAND ${_keel_probe} RESULT_VARIABLE _keel_probe_result
                  OUTPUT_QUIET ERROR_QUIET)
  if(_keel_probe_result EQUAL 0)
    set(_keel_native TRUE)
  endif()
endif()
if(_keel_native)
  message(STATUS "32-bit test programs run natively")
  return()
endif()

set(_keel_why "this machine cannot run 32-bit x86 programs")
if(KEEL_M32_EMULATOR STREQUAL "ON")
  set(_keel_why "KEEL_M32_EMULATOR=ON")
elseif(KEEL_M32_EMULATOR STREQUAL "OFF")
  set(KEEL_TEST_PROGRAMS_RUN FALSE)
  set(KEEL_TEST_PROGRAMS_WHY "${_keel_why} and KEEL_M32_EMULATOR=OFF")
  message(WARNING "32-bit test programs: ${KEEL_TEST_PROGRAMS_WHY}; tests not registered")
  return()
endif()
find_program(KEEL_QEMU_I386 qemu-i386)
if(KEEL_QEMU_I386)
  execute_process(COMMAND ${KEEL_QEMU_I386} ${_keel_probe} RESULT_VARIABLE _keel_probe_result
                  OUTPUT_QUIET ERROR_QUIET)
endif()
if(NOT KEEL_QEMU_I386 OR NOT _keel_probe_result EQUAL 0)
  set(KEEL_TEST_PROGRAMS_RUN FALSE)
  set(KEEL_TEST_PROGRAMS_WHY
      "${_keel_why}, and qemu-i386 (package qemu-user) is missing or cannot run them either")
  message(WARNING "32-bit test programs: ${KEEL_TEST_PROGRAMS_WHY}; tests not registered")
  return()
endif()
set(KEEL_TEST_EMULATOR ${KEEL_QEMU_I386})
set(CMAKE_CROSSCOMPILING_EMULATOR ${KEEL_QEMU_I386})
message(STATUS "32-bit test programs run under ${KEEL_QEMU_I386} (${_keel_why})")
