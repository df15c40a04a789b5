# Keeps benchmarks/compile_scaling/network.cpp buildable: builds it for L = 4 blocks (derive and
# evaluate) and runs it as a ctest test. Four blocks rather than two: a Clang 14 blow-up in the
# evaluator (a class nested in the executor, see eval/plan.hpp flat::leaf_source) compiled two
# blocks fine and ran out of memory at four. The scaling measurement itself is
# benchmarks/compile_scaling.sh, run by hand (never by ctest). Include this file from a
# top-level-only CMake scope where ctgrad::ctgrad exists and testing is enabled, e.g.
#   include("${PROJECT_SOURCE_DIR}/benchmarks/compile_scaling.cmake")
add_executable(compile_scaling_network "${CMAKE_CURRENT_LIST_DIR}/compile_scaling/network.cpp")
target_compile_definitions(compile_scaling_network PRIVATE CTGRAD_BLOCKS=4 CTGRAD_STAGE=2)
target_link_libraries(compile_scaling_network PRIVATE ctgrad::ctgrad)
if(TARGET ctgrad_dev_warnings)
  target_link_libraries(compile_scaling_network PRIVATE ctgrad_dev_warnings)
endif()
add_test(NAME compile_scaling_network COMMAND compile_scaling_network)
set_tests_properties(compile_scaling_network PROPERTIES LABELS "static")
