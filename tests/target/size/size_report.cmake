# tests/target/size/size_report.cmake: prints the code-size table of the size probes.
#   cmake -DSIZE=<arm-none-eabi-size> -DBOARD=<board> -DOUTPUT=<file.md> -DROWS=<row>@<row>...
#         -P size_report.cmake
# A row is image|reference|name|image target|reference target|description. Each figure is the
# image's section size minus the reference image's (arm-none-eabi-size -A). The table goes to
# OUTPUT and to standard output.
cmake_minimum_required(VERSION 3.25)

function(section_sizes elf prefix)
  execute_process(COMMAND ${SIZE} -A ${elf} OUTPUT_VARIABLE table RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${SIZE} -A ${elf} failed")
  endif()
  foreach(section text data bss)
    set(value 0)
    if(table MATCHES "\n\\.${section}[ \t]+([0-9]+)")
      set(value ${CMAKE_MATCH_1})
    endif()
    set(${prefix}_${section} ${value} PARENT_SCOPE)
  endforeach()
endfunction()

string(REPLACE "@" ";" rows "${ROWS}")
set(report "keel code size on ${BOARD}, -Os (bytes added to the compared image)\n\n")
string(APPEND report "| what | compared with | .text | .data | .bss |\n|---|---|---:|---:|---:|\n")
foreach(row IN LISTS rows)
  string(REPLACE "|" ";" fields "${row}")
  list(GET fields 0 image)
  list(GET fields 1 reference)
  list(GET fields 3 image_target)
  list(GET fields 4 reference_target)
  list(GET fields 5 description)
  section_sizes(${image} new)
  section_sizes(${reference} old)
  math(EXPR text "${new_text} - ${old_text}")
  math(EXPR data "${new_data} - ${old_data}")
  math(EXPR bss "${new_bss} - ${old_bss}")
  string(REPLACE "size_" "" compared "${reference_target}")
  string(APPEND report "| ${description} | ${compared} | ${text} | ${data} | ${bss} |\n")
endforeach()
file(WRITE ${OUTPUT} "${report}")
execute_process(COMMAND ${CMAKE_COMMAND} -E cat ${OUTPUT})
