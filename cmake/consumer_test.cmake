# Package-consumer test driver:  cmake -P consumer_test.cmake with
#   -DCTGRAD_SOURCE_DIR=<ctgrad source dir> -DCTGRAD_BUILD_DIR=<ctgrad build dir>
#   -DCONSUMER_SOURCE_DIR=<tests/consumer> -DWORK_DIR=<scratch dir> -DCXX_COMPILER=<compiler>
#   -DGENERATOR=<generator> [-DMAKE_PROGRAM=<ninja/make>] [-DBUILD_TYPE=<cfg>]
#   [-DTOOL_NAME=<file name of a tool the build dir installs>]
# 1) configures ctgrad afresh with the tools OFF and installs it into WORK_DIR/prefix right after
#    configure, nothing built (a header-only library needs no build), checks that no tool was
#    installed, then configures, builds and runs the consumer project against that prefix;
# 2) configures ctgrad afresh with the tools ON (their default at top level) and installs it right
#    after configure: this must succeed although the tool was not built;
# 3) installs the (built) build dir into WORK_DIR/prefix-built: TOOL_NAME, when given, is
#    installed to bin/ and runs.
# Any failing step fails the test.
cmake_minimum_required(VERSION 3.21)

foreach(var CTGRAD_SOURCE_DIR CTGRAD_BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "consumer_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT DEFINED BUILD_TYPE OR "${BUILD_TYPE}" STREQUAL "")
  set(BUILD_TYPE Release)
endif()

set(prefix "${WORK_DIR}/prefix")
set(cbuild "${WORK_DIR}/build")
set(tools_off "${WORK_DIR}/ctgrad-tools-off")
set(tools_on "${WORK_DIR}/ctgrad-tools-on")
set(prefix_tools_on "${WORK_DIR}/prefix-tools-on")
set(prefix_built "${WORK_DIR}/prefix-built")
file(REMOVE_RECURSE "${prefix}" "${cbuild}" "${tools_off}" "${tools_on}" "${prefix_tools_on}" "${prefix_built}")
file(MAKE_DIRECTORY "${WORK_DIR}")

set(generator_args "")
if(DEFINED GENERATOR AND NOT "${GENERATOR}" STREQUAL "")
  list(APPEND generator_args -G "${GENERATOR}")
endif()
if(DEFINED MAKE_PROGRAM AND NOT "${MAKE_PROGRAM}" STREQUAL "")
  list(APPEND generator_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()

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

function(expect_installed where)
  foreach(f include/ctgrad.hpp lib/cmake/ctgrad/ctgradConfig.cmake lib/cmake/ctgrad/ctgradConfigVersion.cmake
            lib/cmake/ctgrad/ctgradTargets.cmake lib/cmake/ctgrad/ctgrad_blas.cmake
            lib/cmake/ctgrad/ctgrad_html.cmake lib/cmake/ctgrad/ctgrad_extension_target.cmake)
    if(NOT EXISTS "${where}/${f}")
      message(FATAL_ERROR "[package_consumer] ${where}/${f} was not installed")
    endif()
  endforeach()
endfunction()

# 1) Tools OFF, installed with nothing built; the consumer is built against this install.
run_step("configure ctgrad, tools off"
  "${CMAKE_COMMAND}" -S "${CTGRAD_SOURCE_DIR}" -B "${tools_off}" ${generator_args}
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
  -DCTGRAD_BUILD_TOOLS=OFF -DCTGRAD_BUILD_TESTS=OFF -DCTGRAD_BUILD_BENCHMARKS=OFF)
run_step("install ctgrad, tools off, nothing built"
  "${CMAKE_COMMAND}" --install "${tools_off}" --prefix "${prefix}" --config "${BUILD_TYPE}")
expect_installed("${prefix}")
if(EXISTS "${prefix}/bin")
  message(FATAL_ERROR "[package_consumer] an install with CTGRAD_BUILD_TOOLS=OFF created ${prefix}/bin")
endif()
# The tool's install rule is OPTIONAL, so an empty bin/ alone would not show that the option was
# honoured: the generated install script must not mention the tool at all.
file(READ "${tools_off}/cmake_install.cmake" install_script)
if(install_script MATCHES "ctgrad-batch-norm-check")
  message(FATAL_ERROR "[package_consumer] CTGRAD_BUILD_TOOLS=OFF still has an install rule for ctgrad-batch-norm-check")
endif()

run_step("configure consumer"
  "${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}" -B "${cbuild}" ${generator_args}
  "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
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
# With a BLAS here, the installed package defines ctgrad::blas and the consumer links it too.
get_filename_component(_exe_dir "${exe}" DIRECTORY)
if(EXISTS "${_exe_dir}/consumer_blas" OR EXISTS "${_exe_dir}/consumer_blas.exe")
  run_step("run consumer_blas" "${_exe_dir}/consumer_blas")
else()
  message(STATUS "[package_consumer] no BLAS found: ctgrad::blas not checked")
endif()
# With cmark-gfm here, the installed package defines ctgrad::html and the consumer links it.
if(EXISTS "${_exe_dir}/consumer_html" OR EXISTS "${_exe_dir}/consumer_html.exe")
  run_step("run consumer_html" "${_exe_dir}/consumer_html")
else()
  message(STATUS "[package_consumer] no cmark-gfm found: ctgrad::html not checked")
endif()

# 2) Tools ON (the top-level default), installed right after configure: the headers and package
#    files go in; the tool, not built, is skipped with a message instead of failing the install.
run_step("configure ctgrad, tools on"
  "${CMAKE_COMMAND}" -S "${CTGRAD_SOURCE_DIR}" -B "${tools_on}" ${generator_args}
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
  -DCTGRAD_BUILD_TOOLS=ON -DCTGRAD_BUILD_TESTS=OFF -DCTGRAD_BUILD_BENCHMARKS=OFF)
run_step("install ctgrad, tools on, nothing built"
  "${CMAKE_COMMAND}" --install "${tools_on}" --prefix "${prefix_tools_on}" --config "${BUILD_TYPE}")
expect_installed("${prefix_tools_on}")
file(READ "${tools_on}/cmake_install.cmake" install_script)
if(NOT install_script MATCHES "ctgrad-batch-norm-check")
  message(FATAL_ERROR "[package_consumer] CTGRAD_BUILD_TOOLS=ON has no install rule for ctgrad-batch-norm-check")
endif()

# 3) The build tree this test belongs to, built: its tool is installed and runs.
run_step("install the built tree"
  "${CMAKE_COMMAND}" --install "${CTGRAD_BUILD_DIR}" --prefix "${prefix_built}" --config "${BUILD_TYPE}")
expect_installed("${prefix_built}")
if(DEFINED TOOL_NAME AND NOT "${TOOL_NAME}" STREQUAL "")
  if(NOT EXISTS "${prefix_built}/bin/${TOOL_NAME}")
    message(FATAL_ERROR "[package_consumer] ${prefix_built}/bin/${TOOL_NAME} was not installed")
  endif()
  run_step("run the installed tool" "${prefix_built}/bin/${TOOL_NAME}" --help)
endif()
message(STATUS "[package_consumer] OK")
