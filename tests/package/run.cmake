# tests/package/run.cmake: configures, builds and (for host projects) runs one consumer project.
#
#   cmake -DPROJECT=<dir under tests/package> -DMODE=<subdirectory|fetchcontent|package>
#         -DKEEL_SOURCE=<keel source> -DWORK=<scratch dir> [-DRUN=ON] [-DEXPECT=<text>]
#         [-DCOMPILER_ARGS=<;-list of -D options for the nested builds>] [-DEMULATOR=<command>]
#         [-DNM=<nm> -DNM_FILE=<built file> -DNM_REQUIRE=<symbols> -DNM_FORBID=<symbols>]
#         [-DSIZE_POINTER_BYTES=<4|8>] -P run.cmake
#
# With NM, the built file's symbol table must define every NM_REQUIRE symbol and contain no
# NM_FORBID symbol.
#
# MODE=package first builds keel alone and installs it under WORK/prefix, then configures the
# project with CMAKE_PREFIX_PATH pointing there. With SIZE_POINTER_BYTES, the installed keel-size
# (tools/keel-size) must size a small trace with its replayer for that pointer width.
cmake_minimum_required(VERSION 3.25)

include(${CMAKE_CURRENT_LIST_DIR}/steps.cmake)
keel_require(run.cmake PROJECT MODE KEEL_SOURCE WORK)

file(REMOVE_RECURSE ${WORK})
set(project_args -DKEEL_CONSUME=${MODE} -DKEEL_SOURCE_DIR=${KEEL_SOURCE} ${COMPILER_ARGS})

if(MODE STREQUAL "package")
  # keel-size's replayers take a minute to compile: only when this run checks them.
  set(size_tool OFF)
  if(DEFINED SIZE_POINTER_BYTES)
    set(size_tool ON)
  endif()
  run_step("configure keel" ${CMAKE_COMMAND} -S ${KEEL_SOURCE} -B ${WORK}/keel-build
           -DKEEL_BUILD_TESTS=OFF -DKEEL_BUILD_BENCH=OFF -DKEEL_INSTALL=ON
           -DKEEL_BUILD_SIZE_TOOL=${size_tool} -DCMAKE_INSTALL_PREFIX=${WORK}/prefix
           ${COMPILER_ARGS})
  run_step("build keel" ${CMAKE_COMMAND} --build ${WORK}/keel-build -j2)
  run_step("install keel" ${CMAKE_COMMAND} --install ${WORK}/keel-build)
  if(DEFINED SIZE_POINTER_BYTES)
    file(WRITE ${WORK}/size.trace "a 0 100 8\na 1 40 16\nr 0 300\nf 1\nf 0\n")
    run_step("keel-size from the prefix" ${WORK}/prefix/bin/keel-size ${WORK}/size.trace --json
             --no-table --scan 4 --pointer-bytes ${SIZE_POINTER_BYTES})
    if(NOT step_output MATCHES "\"smallest_arena\": [1-9][0-9]*")
      message(FATAL_ERROR "the installed keel-size printed:\n${step_output}")
    endif()
    message(STATUS "installed keel-size runs")
  endif()
  list(APPEND project_args -DCMAKE_PREFIX_PATH=${WORK}/prefix)
elseif(MODE STREQUAL "fetchcontent")
  list(APPEND project_args -DFETCHCONTENT_SOURCE_DIR_KEEL=${KEEL_SOURCE}
       -DFETCHCONTENT_FULLY_DISCONNECTED=ON)
endif()

run_step("configure ${PROJECT}" ${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/${PROJECT}
         -B ${WORK}/build ${project_args})
run_step("build ${PROJECT}" ${CMAKE_COMMAND} --build ${WORK}/build -j2)
message(STATUS "${PROJECT} (${MODE}) built")

if(RUN)
  run_step("run ${PROJECT}" ${EMULATOR} ${WORK}/build/${RUN})  # EMULATOR: see test-programs.cmake
  message(STATUS "${step_output}")
  if(DEFINED EXPECT AND NOT step_output MATCHES "${EXPECT}")
    message(FATAL_ERROR "${PROJECT} printed:\n${step_output}\nexpected: ${EXPECT}")
  endif()
endif()

if(NM)
  run_step("nm ${NM_FILE}" ${NM} ${WORK}/build/${NM_FILE})
  foreach(symbol ${NM_REQUIRE})
    if(NOT step_output MATCHES "[0-9a-f]+ [TtDdBbRrWw] ${symbol}\n")
      message(FATAL_ERROR "${NM_FILE} does not define ${symbol}")
    endif()
  endforeach()
  foreach(symbol ${NM_FORBID})
    if(step_output MATCHES " ${symbol}\n")
      message(FATAL_ERROR "${NM_FILE} contains ${symbol}")
    endif()
  endforeach()
  message(STATUS "${NM_FILE}: defines ${NM_REQUIRE}; has none of ${NM_FORBID}")
endif()
