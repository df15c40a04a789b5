# Tests of ctgrad/doc (LaTeX and named text, the raw-chain-rule switch, derivations, DOT,
# Markdown, deterministic verification). Included by tests/CMakeLists.txt. The up-to-date test of
# the generated docs/batch_norm*.md is registered with its generator in examples/doc.cmake.
ctgrad_add_catch_test(test_doc_render runtime/doc_render.cpp)
ctgrad_add_catch_test(test_doc_derivation runtime/doc_derivation.cpp)
# HTML pages (ctgrad/doc/html.hpp): only with cmark-gfm (ctgrad::html). The pages KaTeX typesets
# are checked in a browser by doc_html_in_browser (examples/doc.cmake).
if(CTGRAD_HAS_HTML)
  ctgrad_add_catch_test(test_doc_html runtime/doc_html.cpp)
  target_link_libraries(test_doc_html PRIVATE ctgrad::html)
endif()
