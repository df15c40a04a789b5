# Runs a program and fails when a line it prints is longer than MAX characters (issue 17: the
# demo prints its gradients as let programs, no line over 400 characters).
#
#   cmake -DPROGRAM=<path> -DMAX=400 -P cmake/check_line_width.cmake
execute_process(COMMAND "${PROGRAM}" OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${rc}")
endif()
string(REPLACE ";" "\\;" out "${out}")
string(REPLACE "\n" ";" lines "${out}")
set(n 0)
foreach(line IN LISTS lines)
  math(EXPR n "${n} + 1")
  string(LENGTH "${line}" len)
  if(len GREATER MAX)
    message(FATAL_ERROR "${PROGRAM}: line ${n} has ${len} characters (at most ${MAX}): ${line}")
  endif()
endforeach()
message(STATUS "${PROGRAM}: ${n} lines, none over ${MAX} characters")
