# ctgrad's command-line tools, included by the top-level CMakeLists.txt when CTGRAD_BUILD_TOOLS
# is ON. CLI11 (flag parsing) is a dependency of the tools only: the exported ctgrad::ctgrad
# target and the installed package config do not mention it.

find_package(CLI11 CONFIG QUIET)
if(TARGET CLI11::CLI11)
  set(_ctgrad_cli11 CLI11::CLI11)
else()
  # CLI11 is header-only; a copy without its CMake package files is enough.
  find_path(CTGRAD_CLI11_INCLUDE_DIR CLI/CLI.hpp)
  if(NOT CTGRAD_CLI11_INCLUDE_DIR)
    message(FATAL_ERROR "ctgrad: the command-line tools need CLI11 (Debian: libcli11-dev); install it, point "
                        "CMAKE_PREFIX_PATH or CTGRAD_CLI11_INCLUDE_DIR at it, or configure with -DCTGRAD_BUILD_TOOLS=OFF")
  endif()
  add_library(ctgrad_cli11 INTERFACE)
  target_include_directories(ctgrad_cli11 SYSTEM INTERFACE "${CTGRAD_CLI11_INCLUDE_DIR}")
  set(_ctgrad_cli11 ctgrad_cli11)
endif()

# The batch norm gradient checker for people who implement batch norm themselves (README,
# "ctgrad-batch-norm-check"). Its source stays among the examples it grew from; it is tested by
# tests/runtime/check_batch_norm_cli.cpp.
add_executable(ctgrad-batch-norm-check "${PROJECT_SOURCE_DIR}/examples/batch_norm_check.cpp")
target_link_libraries(ctgrad-batch-norm-check PRIVATE ctgrad::ctgrad ${_ctgrad_cli11})
if(TARGET ctgrad_dev_warnings)
  target_link_libraries(ctgrad-batch-norm-check PRIVATE ctgrad_dev_warnings)
endif()

# A header-only library installs without a build: `cmake --install` right after configure puts
# the headers and package files in place and, when the tool has not been built, says so instead
# of failing (OPTIONAL), so a configure-and-install of the headers needs no compiler run.
install(TARGETS ctgrad-batch-norm-check RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" OPTIONAL)
install(CODE "
  if(NOT EXISTS \"$<TARGET_FILE:ctgrad-batch-norm-check>\")
    message(STATUS \"ctgrad: ctgrad-batch-norm-check is not built, so it is not installed (build it first: cmake --build <dir> --target ctgrad-batch-norm-check)\")
  endif()")
