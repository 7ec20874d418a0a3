# tests/package/freertos/make.cmake: builds the FreeRTOS example with its plain Makefile
# (docs/integration.md, "FreeRTOS", "Building with Make or an IDE"), as a Make-based FreeRTOS
# project would. Used by the tests example.freertos_make*:
#
#   cmake -DMAKE=<make> -DKEEL_SOURCE=<keel source> -DWORK=<scratch dir> -DCC=<C compiler>
#         -DCXX=<C++ compiler> [-DARCH_FLAGS=<flags>] [-DLDFLAGS=<flags>]
#         [-DRUN=ON [-DEMULATOR=<command>]] [-DOBJDUMP=<objdump> -DNM=<nm>] -P make.cmake
#
# With RUN, the program is run and must print "freertos ok". With OBJDUMP and NM (a cross build),
# the heap's object is checked instead: xPortGetFreeHeapSize and xPortGetMinimumEverFreeHeapSize
# are a few instructions with no call (one load, safe from a tick hook or an interrupt), and
# nothing in it calls a 64-bit division or an atomic helper of the runtime.
cmake_minimum_required(VERSION 3.25)

include(${CMAKE_CURRENT_LIST_DIR}/../steps.cmake)
keel_require(make.cmake MAKE KEEL_SOURCE WORK CC CXX)

file(REMOVE_RECURSE ${WORK})
run_step("make" ${MAKE} -f ${CMAKE_CURRENT_LIST_DIR}/Makefile KEEL=${KEEL_SOURCE} BUILD=${WORK}
         CC=${CC} CXX=${CXX} "ARCH_FLAGS=${ARCH_FLAGS}" "LDFLAGS=${LDFLAGS}")
message(STATUS "${step_output}")

if(RUN)
  run_step("run freertos_app" ${EMULATOR} ${WORK}/freertos_app)  # EMULATOR: test-programs.cmake
  message(STATUS "${step_output}")
  if(NOT step_output MATCHES "freertos ok")
    message(FATAL_ERROR "freertos_app printed:\n${step_output}\nexpected: freertos ok")
  endif()
endif()

if(OBJDUMP AND NM)
  run_step("objdump" ${OBJDUMP} -d ${WORK}/freertos_heap.o)
  string(REPLACE "\n" ";" lines "${step_output}")
  foreach(function xPortGetFreeHeapSize xPortGetMinimumEverFreeHeapSize)
    set(inside OFF)
    set(instructions 0)
    foreach(line IN LISTS lines)
      if(line MATCHES "<${function}>:")
        set(inside ON)
      elseif(inside AND line STREQUAL "")
        break()
      elseif(inside AND line MATCHES "^ +[0-9a-f]+:\t[0-9a-f ]+\t([a-z.]+)")
        set(mnemonic ${CMAKE_MATCH_1})
        if(mnemonic MATCHES "^\\.")  # a literal pool word, not an instruction
          continue()
        endif()
        if(mnemonic MATCHES "^(bl|blx|b)$" OR mnemonic MATCHES "^b\\.")
          message(FATAL_ERROR "${function} branches or calls (${line})")
        endif()
        math(EXPR instructions "${instructions} + 1")
      endif()
    endforeach()
    if(instructions EQUAL 0 OR instructions GREATER 4)
      message(FATAL_ERROR "${function}: ${instructions} instructions, expected at most 4")
    endif()
    message(STATUS "${function}: ${instructions} instructions, no call")
  endforeach()
  run_step("nm" ${NM} -u ${WORK}/freertos_heap.o)
  if(step_output MATCHES "(__aeabi_u?ldivmod|__u?divdi3|__atomic_[a-z_0-9]+)")
    message(FATAL_ERROR "freertos_heap.o calls ${CMAKE_MATCH_1}")
  endif()
  message(STATUS "freertos_heap.o needs:\n${step_output}")
endif()
