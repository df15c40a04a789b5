# Compares a fresh docs/reference-audit.md (FRESH) with the committed one (COMMITTED), ignoring
# rounding-level numbers: an error printed as 0.0e+00 or with an exponent of -8 or less is
# rounding noise of double arithmetic (or finite-difference truncation) whose last digits depend
# on the compiler's order of operations; every other character must match, verdicts included.
#
#   cmake -DFRESH=<file> -DCOMMITTED=<file> -P compare_reference_audit.cmake
cmake_policy(SET CMP0007 NEW)
foreach(_var FRESH COMMITTED)
  if(NOT EXISTS "${${_var}}")
    message(FATAL_ERROR "compare_reference_audit: ${_var} file '${${_var}}' does not exist")
  endif()
endforeach()
set(_rounding "([0-9]\\.[0-9]e-(0[89]|[1-9][0-9])|0\\.0e\\+00)")
foreach(_var FRESH COMMITTED)
  file(READ "${${_var}}" _text)
  string(REGEX REPLACE "${_rounding}" "<rounding>" _text "${_text}")
  set(_${_var} "${_text}")
endforeach()
if(NOT _FRESH STREQUAL _COMMITTED)
  string(REPLACE "\n" ";" _fresh_lines "${_FRESH}")
  string(REPLACE "\n" ";" _committed_lines "${_COMMITTED}")
  list(LENGTH _fresh_lines _n)
  set(_i 0)
  while(_i LESS _n)
    list(GET _fresh_lines ${_i} _f)
    list(LENGTH _committed_lines _m)
    set(_c "")
    if(_i LESS _m)
      list(GET _committed_lines ${_i} _c)
    endif()
    if(NOT _f STREQUAL _c)
      math(EXPR _line "${_i} + 1")
      message(FATAL_ERROR "docs/reference-audit.md differs from a fresh run beyond rounding (line ${_line}):\n"
                          "  committed: ${_c}\n  fresh:     ${_f}\n"
                          "Regenerate: build/examples/reference_audit docs/reference-audit.md")
    endif()
    math(EXPR _i "${_i} + 1")
  endwhile()
  message(FATAL_ERROR "docs/reference-audit.md differs from a fresh run beyond rounding (length)")
endif()
