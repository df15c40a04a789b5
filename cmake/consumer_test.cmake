# Package-consumer test driver:  cmake -P consumer_test.cmake with
#   -DCTGRAD_BUILD_DIR=<ctgrad build dir> -DCONSUMER_SOURCE_DIR=<tests/consumer>
#   -DWORK_DIR=<scratch dir>  -DCXX_COMPILER=<compiler>
#   -DGENERATOR=<generator> [-DMAKE_PROGRAM=<ninja/make>] [-DBUILD_TYPE=<cfg>]
# Installs ctgrad into WORK_DIR/prefix, then configures, builds and runs the
# consumer project against that prefix. Any failing step fails the test.
cmake_minimum_required(VERSION 3.21)

foreach(var CTGRAD_BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "consumer_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT DEFINED BUILD_TYPE OR "${BUILD_TYPE}" STREQUAL "")
  set(BUILD_TYPE Release)
endif()

set(prefix "${WORK_DIR}/prefix")
set(cbuild "${WORK_DIR}/build")
file(REMOVE_RECURSE "${prefix}" "${cbuild}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(run_step what)
  list(JOIN ARGN " " _cmd_str)
  message(STATUS "[package_consumer] ${what}: ${_cmd_str}")
  execute_process(COMMAND ${ARGN}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  message("${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[package_consumer] step '${what}' failed (exit ${rc})")
  endif()
endfunction()

run_step("install ctgrad"
  "${CMAKE_COMMAND}" --install "${CTGRAD_BUILD_DIR}" --prefix "${prefix}" --config "${BUILD_TYPE}")

if(NOT EXISTS "${prefix}/include/ctgrad.hpp")
  message(FATAL_ERROR "[package_consumer] ${prefix}/include/ctgrad.hpp was not installed")
endif()

set(configure_cmd "${CMAKE_COMMAND}"
  -S "${CONSUMER_SOURCE_DIR}" -B "${cbuild}"
  "-DCMAKE_PREFIX_PATH=${prefix}"
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
  "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
if(DEFINED GENERATOR AND NOT "${GENERATOR}" STREQUAL "")
  list(APPEND configure_cmd -G "${GENERATOR}")
endif()
if(DEFINED MAKE_PROGRAM AND NOT "${MAKE_PROGRAM}" STREQUAL "")
  list(APPEND configure_cmd "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
run_step("configure consumer" ${configure_cmd})
run_step("build consumer" "${CMAKE_COMMAND}" --build "${cbuild}" --config "${BUILD_TYPE}")

# Locate the executable (single- or multi-config layout).
set(exe "")
foreach(candidate "${cbuild}/consumer" "${cbuild}/${BUILD_TYPE}/consumer"
                  "${cbuild}/consumer.exe" "${cbuild}/${BUILD_TYPE}/consumer.exe")
  if(EXISTS "${candidate}")
    set(exe "${candidate}")
    break()
  endif()
endforeach()
if(exe STREQUAL "")
  message(FATAL_ERROR "[package_consumer] consumer executable not found in ${cbuild}")
endif()
run_step("run consumer" "${exe}")
message(STATUS "[package_consumer] OK")
