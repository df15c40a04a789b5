# Compile-fail test driver:  cmake -P compile_fail.cmake with
#   -DCOMPILER=<c++ compiler>   -DSOURCE=<file.cpp>
#   -DINCLUDE_DIRS=<dir|dir|...> -DDEFINITIONS=<DEF|DEF=1|...>   ('|'-separated)
#   -DREGEX_FILE=<file holding the expected regex verbatim>  (or -DREGEX=<regex>)
#   -DOUTPUT=<object file path>  (optional)   -DEXTRA_FLAGS=<flag|flag> (optional)
#   -DIMPLICIT_DIRS=<dir|dir>  compiler's implicit include dirs, never passed as -I
# Succeeds only if compilation FAILS and the compiler output matches the regex.
cmake_minimum_required(VERSION 3.21)

foreach(var COMPILER SOURCE)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "compile_fail.cmake: -D${var}=... is required")
  endif()
endforeach()

if(DEFINED REGEX_FILE)
  file(READ "${REGEX_FILE}" REGEX)
endif()
if(NOT DEFINED REGEX OR "${REGEX}" STREQUAL "")
  message(FATAL_ERROR "compile_fail.cmake: expected regex is empty (-DREGEX_FILE / -DREGEX)")
endif()
if(NOT DEFINED OUTPUT OR "${OUTPUT}" STREQUAL "")
  set(OUTPUT "${SOURCE}.compile_fail.o")
endif()

set(cmd "${COMPILER}" -std=c++20)

macro(_split_bar out in)
  string(REPLACE "|" ";" ${out} "${in}")
  list(REMOVE_ITEM ${out} "")
  list(REMOVE_DUPLICATES ${out})
endmacro()

if(DEFINED INCLUDE_DIRS)
  _split_bar(_incs "${INCLUDE_DIRS}")
  if(DEFINED IMPLICIT_DIRS)
    _split_bar(_implicit "${IMPLICIT_DIRS}")
    if(_implicit)
      list(REMOVE_ITEM _incs ${_implicit})
    endif()
  endif()
  foreach(d IN LISTS _incs)
    list(APPEND cmd "-I${d}")
  endforeach()
endif()
if(DEFINED DEFINITIONS)
  _split_bar(_defs "${DEFINITIONS}")
  foreach(d IN LISTS _defs)
    list(APPEND cmd "-D${d}")
  endforeach()
endif()
if(DEFINED EXTRA_FLAGS)
  _split_bar(_extra "${EXTRA_FLAGS}")
  list(APPEND cmd ${_extra})
endif()
list(APPEND cmd -c "${SOURCE}" -o "${OUTPUT}")

get_filename_component(_outdir "${OUTPUT}" DIRECTORY)
file(MAKE_DIRECTORY "${_outdir}")
file(REMOVE "${OUTPUT}")

execute_process(
  COMMAND ${cmd}
  RESULT_VARIABLE result
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)   # stdout and stderr merged

list(JOIN cmd " " cmd_str)

if(result EQUAL 0)
  file(REMOVE "${OUTPUT}")
  message("Command: ${cmd_str}\n--- compiler output ---\n${out}\n-----------------------")
  message(FATAL_ERROR "compile-fail test: ${SOURCE} compiled successfully, but it was expected to FAIL.")
endif()

if(NOT out MATCHES "${REGEX}")
  message("Command: ${cmd_str}\n--- compiler output ---\n${out}\n-----------------------")
  message(FATAL_ERROR
    "compile-fail test: compilation of ${SOURCE} failed as expected (exit ${result}), "
    "but the output did not match the expected regex:\n  ${REGEX}")
endif()

message(STATUS "compile-fail test passed: ${SOURCE} failed to compile and output matched: ${REGEX}")
