# Examples of ctgrad/doc: the generators of docs/batch_norm.md and docs/batch_norm_unsimplified.md
# (batch_norm_doc) and of docs/rms_norm.md, layer_norm.md, softmax_cross_entropy.md
# (derivation_pages), and (with cmark-gfm and KaTeX) their HTML pages. Included by
# examples/CMakeLists.txt.
#
#   cmake --build build --target batch_norm_docs     regenerates the committed docs/ files
#   ctest -R 'doc_(batch_norm|pages)_up_to_date'  fails when they differ from a fresh run
#   ctest -R doc_html_in_browser                    opens docs/*.html in headless Chromium and fails
#                                                   on a formula KaTeX could not typeset or a missing graph
find_program(CTGRAD_DOT_EXECUTABLE dot)
add_executable(batch_norm_doc "${CMAKE_CURRENT_SOURCE_DIR}/batch_norm_doc.cpp")
target_link_libraries(batch_norm_doc PRIVATE ctgrad::ctgrad ctgrad_dev_warnings)
# The pages of RMSNorm, layer norm and softmax cross-entropy: doc::markdown alone, no prose of ours.
add_executable(derivation_pages "${CMAKE_CURRENT_SOURCE_DIR}/derivation_pages.cpp")
target_link_libraries(derivation_pages PRIVATE ctgrad::ctgrad ctgrad_dev_warnings)

# HTML pages: examples/doc_html (ctgrad::doc::html) with KaTeX's files (Debian: katex, which puts
# them in /usr/share/javascript/katex). Without cmark-gfm or KaTeX no HTML is made or compared.
set(_ctgrad_html_args "")
find_path(CTGRAD_KATEX_DIR katex.min.css PATHS /usr/share/javascript/katex NO_DEFAULT_PATH)
if(CTGRAD_HAS_HTML)
  add_executable(doc_html "${CMAKE_CURRENT_SOURCE_DIR}/doc_html.cpp")
  target_link_libraries(doc_html PRIVATE ctgrad::html ctgrad_dev_warnings)
  if(CTGRAD_KATEX_DIR)
    set(_ctgrad_html_args -DHTML=$<TARGET_FILE:doc_html> -DKATEX_DIR=${CTGRAD_KATEX_DIR})
  else()
    message(STATUS "ctgrad: KaTeX not found (Debian: katex): docs/*.html are not generated or checked")
  endif()
endif()

set(_ctgrad_pages_files "rms_norm*,layer_norm*,softmax_cross_entropy*")
add_custom_target(batch_norm_docs
  COMMAND ${CMAKE_COMMAND} -DGENERATOR=$<TARGET_FILE:batch_norm_doc> -DOUT_DIR=${CMAKE_CURRENT_BINARY_DIR}/docs-fresh
          -DDOT=${CTGRAD_DOT_EXECUTABLE} ${_ctgrad_html_args} -P ${PROJECT_SOURCE_DIR}/cmake/ctgrad_docs.cmake
  COMMAND ${CMAKE_COMMAND} -E copy_directory ${CMAKE_CURRENT_BINARY_DIR}/docs-fresh ${PROJECT_SOURCE_DIR}/docs
  COMMAND ${CMAKE_COMMAND} -DGENERATOR=$<TARGET_FILE:derivation_pages> -DOUT_DIR=${CMAKE_CURRENT_BINARY_DIR}/pages-fresh
          -DDOT=${CTGRAD_DOT_EXECUTABLE} ${_ctgrad_html_args} -P ${PROJECT_SOURCE_DIR}/cmake/ctgrad_docs.cmake
  COMMAND ${CMAKE_COMMAND} -E copy_directory ${CMAKE_CURRENT_BINARY_DIR}/pages-fresh ${PROJECT_SOURCE_DIR}/docs
  DEPENDS batch_norm_doc derivation_pages $<$<BOOL:${CTGRAD_HAS_HTML}>:doc_html>
  COMMENT "Regenerating docs/batch_norm*, rms_norm*, layer_norm*, softmax_cross_entropy* (.md, .dot, .svg, .html)"
  VERBATIM)

add_test(NAME doc_batch_norm_up_to_date
  COMMAND ${CMAKE_COMMAND} -DGENERATOR=$<TARGET_FILE:batch_norm_doc> -DOUT_DIR=${CMAKE_CURRENT_BINARY_DIR}/docs-check
          -DDOT=${CTGRAD_DOT_EXECUTABLE} ${_ctgrad_html_args} -DCHECK_DIR=${PROJECT_SOURCE_DIR}/docs
          -P ${PROJECT_SOURCE_DIR}/cmake/ctgrad_docs.cmake)
set_tests_properties(doc_batch_norm_up_to_date PROPERTIES LABELS "example")
add_test(NAME doc_pages_up_to_date
  COMMAND ${CMAKE_COMMAND} -DGENERATOR=$<TARGET_FILE:derivation_pages> -DOUT_DIR=${CMAKE_CURRENT_BINARY_DIR}/pages-check
          -DDOT=${CTGRAD_DOT_EXECUTABLE} ${_ctgrad_html_args} -DCHECK_DIR=${PROJECT_SOURCE_DIR}/docs
          -DCOMMITTED=${_ctgrad_pages_files} -P ${PROJECT_SOURCE_DIR}/cmake/ctgrad_docs.cmake)
set_tests_properties(doc_pages_up_to_date PROPERTIES LABELS "example")

# Every committed HTML page in docs/, opened in headless Chromium (Debian: chromium). Without
# Chromium the test is not registered (CI installs it: .ci/deps.sh).
find_program(CTGRAD_CHROMIUM_EXECUTABLE NAMES chromium chromium-browser google-chrome)
if(CTGRAD_CHROMIUM_EXECUTABLE)
  add_test(NAME doc_html_in_browser
    COMMAND ${CMAKE_COMMAND} -DCHROMIUM=${CTGRAD_CHROMIUM_EXECUTABLE} -DDOCS_DIR=${PROJECT_SOURCE_DIR}/docs
            -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/html-check -P ${PROJECT_SOURCE_DIR}/cmake/check_html_pages.cmake)
  set_tests_properties(doc_html_in_browser PROPERTIES LABELS "example" TIMEOUT 300)
else()
  message(STATUS "ctgrad: Chromium not found (Debian: chromium): the test doc_html_in_browser is not registered")
endif()
