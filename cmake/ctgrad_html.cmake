# ctgrad::html: ctgrad with cmark-gfm, for ctgrad/doc/html.hpp (derivations as HTML pages).
# Included by the top-level CMakeLists.txt and, for an installed ctgrad, by ctgradConfig.cmake
# (which defines ctgrad::html when find_package(ctgrad) finds cmark-gfm on the consumer's side).
# ctgrad::ctgrad alone never needs cmark-gfm.
#
# Debian: libcmark-gfm-dev libcmark-gfm-extensions-dev (they ship no CMake package, so the
# header and the two libraries are found directly). Sets CTGRAD_HAS_HTML. The target is
# ctgrad_html (exported as ctgrad::html) in a build tree, or the imported ctgrad::html in an
# installed one (CTGRAD_HTML_IMPORTED).
include("${CMAKE_CURRENT_LIST_DIR}/ctgrad_extension_target.cmake")
find_path(CTGRAD_CMARK_GFM_INCLUDE_DIR cmark-gfm-core-extensions.h)
find_library(CTGRAD_CMARK_GFM_LIBRARY cmark-gfm)
find_library(CTGRAD_CMARK_GFM_EXTENSIONS_LIBRARY cmark-gfm-extensions)

set(CTGRAD_HAS_HTML OFF)
if(CTGRAD_CMARK_GFM_INCLUDE_DIR AND CTGRAD_CMARK_GFM_LIBRARY AND CTGRAD_CMARK_GFM_EXTENSIONS_LIBRARY)
  set(CTGRAD_HAS_HTML ON)
  ctgrad_extension_target(html "${CTGRAD_HTML_IMPORTED}")
  # the extensions library calls into the core one: it comes first
  target_link_libraries(${_ctgrad_html_target} INTERFACE "${CTGRAD_CMARK_GFM_EXTENSIONS_LIBRARY}"
                                                         "${CTGRAD_CMARK_GFM_LIBRARY}")
  target_include_directories(${_ctgrad_html_target} SYSTEM INTERFACE "${CTGRAD_CMARK_GFM_INCLUDE_DIR}")
  if(NOT CTGRAD_HTML_IMPORTED)
    message(STATUS "ctgrad: HTML pages through cmark-gfm (${CTGRAD_CMARK_GFM_LIBRARY})")
  endif()
elseif(NOT CTGRAD_HTML_IMPORTED)
  message(STATUS "ctgrad: cmark-gfm not found (Debian: libcmark-gfm-dev libcmark-gfm-extensions-dev): "
                 "ctgrad::html is not defined, no HTML pages are generated")
endif()
