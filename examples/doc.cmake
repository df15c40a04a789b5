# Examples of ctgrad/doc: the generator of docs/batch_norm.md and docs/batch_norm_unsimplified.md.
# Included by examples/CMakeLists.txt.
#
#   cmake --build build --target batch_norm_docs     regenerates the committed docs/ files
#   ctest -R doc_batch_norm_up_to_date              fails when they differ from a fresh run
find_program(CTGRAD_DOT_EXECUTABLE dot)
add_executable(batch_norm_doc "${CMAKE_CURRENT_SOURCE_DIR}/batch_norm_doc.cpp")
target_link_libraries(batch_norm_doc PRIVATE ctgrad::ctgrad ctgrad_dev_warnings)

add_custom_target(batch_norm_docs
  COMMAND ${CMAKE_COMMAND} -DGENERATOR=$<TARGET_FILE:batch_norm_doc> -DOUT_DIR=${CMAKE_CURRENT_BINARY_DIR}/docs-fresh
          -DDOT=${CTGRAD_DOT_EXECUTABLE} -P ${PROJECT_SOURCE_DIR}/cmake/ctgrad_docs.cmake
  COMMAND ${CMAKE_COMMAND} -E copy_directory ${CMAKE_CURRENT_BINARY_DIR}/docs-fresh ${PROJECT_SOURCE_DIR}/docs
  DEPENDS batch_norm_doc
  COMMENT "Regenerating docs/batch_norm*.md, .dot and .svg"
  VERBATIM)

add_test(NAME doc_batch_norm_up_to_date
  COMMAND ${CMAKE_COMMAND} -DGENERATOR=$<TARGET_FILE:batch_norm_doc> -DOUT_DIR=${CMAKE_CURRENT_BINARY_DIR}/docs-check
          -DDOT=${CTGRAD_DOT_EXECUTABLE} -DCHECK_DIR=${PROJECT_SOURCE_DIR}/docs
          -P ${PROJECT_SOURCE_DIR}/cmake/ctgrad_docs.cmake)
set_tests_properties(doc_batch_norm_up_to_date PROPERTIES LABELS "example")
