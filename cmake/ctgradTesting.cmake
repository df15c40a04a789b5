# Helper functions for ctgrad's test suite.
#
#   ctgrad_add_catch_test(<name> <src>...)
#       Catch2 executable <name> built from <src>... (paths relative to the
#       calling CMakeLists.txt), linked to ctgrad::ctgrad and the shared
#       Catch2 main library `ctgrad_catch_main`. Registered as ctest <name>.
#
#   ctgrad_add_static_test(<name> <src>)
#       <src> only needs to compile (static_asserts, contains `int main(){}`).
#       Built as executable <name> and registered as ctest <name> (runs it).
#
#   ctgrad_add_compile_fail_test(<name> <src> <regex>)
#       ctest <name> compiles <src> at test time with ${CMAKE_CXX_COMPILER}
#       -std=c++20 and ctgrad's include dirs (incl. Boost / fmt). PASSES only if
#       compilation FAILS and the compiler output matches <regex> (CMake regex).
#
#   ctgrad_add_package_consumer_test()
#       ctest `package_consumer` (cmake/consumer_test.cmake): fresh configures
#       with the tools off and on, each installed with nothing built,
#       tests/consumer built and run against the first; this build tree
#       installed and its tool run.

include_guard(GLOBAL)

set(_CTGRAD_TESTING_CMAKE_DIR "${CMAKE_CURRENT_LIST_DIR}")

# Directory that test sources may include from ("support/xxx.hpp").
if(NOT DEFINED CTGRAD_TESTS_DIR)
  set(CTGRAD_TESTS_DIR "${PROJECT_SOURCE_DIR}/tests")
endif()

find_package(Catch2 REQUIRED)

# Warning flags for tests; the top-level CMakeLists normally provides this.
if(NOT TARGET ctgrad_dev_warnings)
  add_library(ctgrad_dev_warnings INTERFACE)
  if(MSVC)
    target_compile_options(ctgrad_dev_warnings INTERFACE /W4)
  else()
    target_compile_options(ctgrad_dev_warnings INTERFACE -Wall -Wextra -Wpedantic)
  endif()
endif()

# Catch2's main(), compiled exactly once and shared by all Catch2 tests.
if(NOT TARGET ctgrad_catch_main)
  add_library(ctgrad_catch_main STATIC "${CTGRAD_TESTS_DIR}/support/catch_main.cpp")
  target_link_libraries(ctgrad_catch_main PUBLIC Catch2::Catch2)
  target_compile_features(ctgrad_catch_main PUBLIC cxx_std_20)
endif()

function(_ctgrad_common_test_setup target)
  target_link_libraries(${target} PRIVATE ctgrad::ctgrad ctgrad_dev_warnings)
  target_include_directories(${target} PRIVATE "${CTGRAD_TESTS_DIR}")
endfunction()

function(ctgrad_add_catch_test name)
  if(ARGC LESS 2)
    message(FATAL_ERROR "ctgrad_add_catch_test(${name}): no sources given")
  endif()
  add_executable(${name} ${ARGN})
  _ctgrad_common_test_setup(${name})
  target_link_libraries(${name} PRIVATE ctgrad_catch_main)
  # CTGRAD_SKIP_TESTS (a list of names): defined but neither built by default nor registered
  # (CI's sanitizer stage leaves out its slowest math-only test, see .ci/run).
  if(name IN_LIST CTGRAD_SKIP_TESTS)
    set_target_properties(${name} PROPERTIES EXCLUDE_FROM_ALL ON)
    message(STATUS "ctgrad: ${name} is not built or run here (CTGRAD_SKIP_TESTS)")
    return()
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "runtime")
endfunction()

function(ctgrad_add_static_test name src)
  if(ARGC GREATER 2)
    message(FATAL_ERROR "ctgrad_add_static_test(${name} ${src}): takes exactly one source")
  endif()
  add_executable(${name} ${src})
  _ctgrad_common_test_setup(${name})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "static")
endfunction()

function(ctgrad_add_compile_fail_test name src regex)
  if(ARGC GREATER 3)
    message(FATAL_ERROR
      "ctgrad_add_compile_fail_test(${name}): expected exactly <name> <src> <regex> "
      "(quote the regex if it contains spaces or semicolons)")
  endif()
  get_filename_component(_src "${src}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT EXISTS "${_src}")
    message(FATAL_ERROR "ctgrad_add_compile_fail_test(${name}): ${_src} does not exist")
  endif()

  # The regex is written verbatim to a file so that quotes, semicolons,
  # backslashes, brackets etc. survive untouched (no CMake list/escape
  # processing on the ctest command line).
  set(_dir "${CMAKE_CURRENT_BINARY_DIR}/compile_fail")
  set(_regex_file "${_dir}/${name}.regex")
  file(WRITE "${_regex_file}" "${regex}")

  # Include dirs / definitions are generator expressions; join the lists with
  # '|' so they travel as a single -D argument (split again in the script).
  set(_inc
    "$<TARGET_PROPERTY:ctgrad::ctgrad,INTERFACE_INCLUDE_DIRECTORIES>"
    "$<TARGET_PROPERTY:Boost::headers,INTERFACE_INCLUDE_DIRECTORIES>"
    "$<TARGET_PROPERTY:fmt::fmt,INTERFACE_INCLUDE_DIRECTORIES>"
    "${CTGRAD_TESTS_DIR}")
  set(_defs
    "$<TARGET_PROPERTY:ctgrad::ctgrad,INTERFACE_COMPILE_DEFINITIONS>"
    "$<TARGET_PROPERTY:Boost::headers,INTERFACE_COMPILE_DEFINITIONS>"
    "$<TARGET_PROPERTY:fmt::fmt,INTERFACE_COMPILE_DEFINITIONS>")

  add_test(NAME ${name}
    COMMAND "${CMAKE_COMMAND}"
      "-DCOMPILER=${CMAKE_CXX_COMPILER}"
      "-DSOURCE=${_src}"
      "-DINCLUDE_DIRS=$<JOIN:${_inc},|>"
      "-DDEFINITIONS=$<JOIN:${_defs},|>"
      "-DIMPLICIT_DIRS=$<JOIN:${CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES},|>"
      "-DREGEX_FILE=${_regex_file}"
      "-DOUTPUT=${_dir}/${name}.o"
      -P "${_CTGRAD_TESTING_CMAKE_DIR}/compile_fail.cmake")
  set_tests_properties(${name} PROPERTIES LABELS "compile_fail")
endfunction()

function(ctgrad_add_package_consumer_test)
  set(_work "${PROJECT_BINARY_DIR}/package_consumer")
  set(_args
    "-DCTGRAD_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
    "-DCTGRAD_BUILD_DIR=${PROJECT_BINARY_DIR}"
    "-DCONSUMER_SOURCE_DIR=${CTGRAD_TESTS_DIR}/consumer"
    "-DWORK_DIR=${_work}"
    "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}"
    "-DGENERATOR=${CMAKE_GENERATOR}"
    "-DBUILD_TYPE=$<CONFIG>")
  if(CMAKE_MAKE_PROGRAM)
    list(APPEND _args "-DMAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}")
  endif()
  if(TARGET ctgrad-batch-norm-check)
    list(APPEND _args "-DTOOL_NAME=$<TARGET_FILE_NAME:ctgrad-batch-norm-check>")
  endif()
  add_test(NAME package_consumer
    COMMAND "${CMAKE_COMMAND}" ${_args}
      -P "${_CTGRAD_TESTING_CMAKE_DIR}/consumer_test.cmake")
  set_tests_properties(package_consumer PROPERTIES LABELS "package")
endfunction()
