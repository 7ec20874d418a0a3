# tests/target/check_core_symbols.cmake: the build check that keel's core, as built for this
# target, needs nothing from a C library or the C++ runtime but memcpy, memset and memmove.
#
#   cmake -DNM=<nm> -DLIBRARY=<libkeel_core.a> -DSTAMP=<file> -P check_core_symbols.cmake
#
# Every symbol that some object of the archive leaves undefined and no object defines must be
# one of those three, or one of the compiler's own helpers (libgcc: __aeabi_* calls for
# division and 64-bit arithmetic, __clzsi2 and friends), which every freestanding toolchain
# provides. Anything else (printf, malloc, abort, __cxa_*, _Unwind_*, operator new) fails the
# build and is listed. On success it writes STAMP.
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${NM} -u ${LIBRARY} OUTPUT_VARIABLE undefined_text RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${NM} -u ${LIBRARY} failed")
endif()
execute_process(COMMAND ${NM} --defined-only ${LIBRARY} OUTPUT_VARIABLE defined_text)

string(REGEX MATCHALL "[ \t]+U[ \t]+[^ \t\r\n]+" undefined_lines "${undefined_text}")
string(REGEX MATCHALL "[0-9a-fA-F]+[ \t]+[A-Za-z][ \t]+[^ \t\r\n]+" defined_lines "${defined_text}")
set(defined "")
foreach(line IN LISTS defined_lines)
  string(REGEX REPLACE ".*[ \t]" "" symbol "${line}")
  list(APPEND defined "${symbol}")
endforeach()

set(allowed "^(memcpy|memset|memmove)$|^__aeabi_[a-z0-9]+$|^__(u?(div|mod)[sd]i3|udivmoddi4|(clz|ctz|popcount)[sd]i2)$")
set(offending "")
foreach(line IN LISTS undefined_lines)
  string(REGEX REPLACE ".*U[ \t]+" "" symbol "${line}")
  if(symbol IN_LIST defined OR symbol MATCHES "${allowed}")
    continue()
  endif()
  list(APPEND offending "${symbol}")
endforeach()
list(REMOVE_DUPLICATES offending)
if(offending)
  list(JOIN offending "\n  " listed)
  message(FATAL_ERROR "keel's core references symbols beyond memcpy/memset/memmove:\n  ${listed}")
endif()
list(LENGTH undefined_lines count)
file(WRITE ${STAMP} "core is freestanding: ${count} undefined references, all allowed\n")
