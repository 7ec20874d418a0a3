# tests/package/steps.cmake: what the package scripts (run.cmake, freertos/make.cmake) share.

# keel_require(SCRIPT VARIABLE...): stops unless every VARIABLE was given with -D.
function(keel_require script)
  foreach(required ${ARGN})
    if(NOT DEFINED ${required})
      message(FATAL_ERROR "${script} needs -D${required}=...")
    endif()
  endforeach()
endfunction()

# run_step(WHAT COMMAND...): runs COMMAND, stops with its output if it fails, and leaves the
# output in step_output.
function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE output
                  ERROR_VARIABLE output)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${what} failed (${result}):\n${output}")
  endif()
  set(step_output "${output}" PARENT_SCOPE)
endfunction()
