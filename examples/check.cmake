# Examples of the verification tools (ctgrad/check): the reference-document audit generator.
# Included by examples/CMakeLists.txt.

# The audit of ../shared/reference/batch_norm_explained.md: the run fails when a verdict differs
# from its expected one, and a fresh report must equal the committed docs/reference-audit.md up
# to rounding-level numbers (cmake/compare_reference_audit.cmake).
add_executable(reference_audit "${CMAKE_CURRENT_SOURCE_DIR}/reference_audit.cpp")
target_link_libraries(reference_audit PRIVATE ctgrad::ctgrad ctgrad_dev_warnings)
add_test(NAME reference_audit_generate
  COMMAND reference_audit "${CMAKE_CURRENT_BINARY_DIR}/reference-audit.md")
add_test(NAME reference_audit_up_to_date
  COMMAND ${CMAKE_COMMAND} -DCOMMITTED=${PROJECT_SOURCE_DIR}/docs/reference-audit.md
          -DFRESH=${CMAKE_CURRENT_BINARY_DIR}/reference-audit.md
          -P ${PROJECT_SOURCE_DIR}/cmake/compare_reference_audit.cmake)
set_tests_properties(reference_audit_generate PROPERTIES FIXTURES_SETUP reference_audit LABELS "example")
set_tests_properties(reference_audit_up_to_date PROPERTIES FIXTURES_REQUIRED reference_audit LABELS "example")

# The batch norm gradient checker CLI (batch_norm_check.cpp) is a tool, built under
# CTGRAD_BUILD_TOOLS by cmake/ctgrad_tools.cmake, with or without the examples.
