# Generates documentation pages and, with CHECK, compares them with the committed files.
#
#   cmake -DGENERATOR=<batch_norm_doc> -DOUT_DIR=<dir> [-DDOT=<dot>] [-DHTML=<doc_html> -DKATEX_DIR=<dir>]
#         [-DCHECK_DIR=<docs>] [-DCOMMITTED=batch_norm*] -P ctgrad_docs.cmake
#
# Runs GENERATOR OUT_DIR (Markdown and Graphviz sources), then renders every .dot to .svg when
# DOT names a Graphviz `dot` executable, then, with the SVGs rendered and HTML (examples/doc_html)
# and KATEX_DIR given, every generated .md to a self-contained .html. With CHECK_DIR, every
# generated file must equal the file of the same name in CHECK_DIR; SVGs and HTML pages are
# compared only when they were produced here (Graphviz, cmark-gfm and KaTeX installed), and the
# committed ones must then all have been produced. COMMITTED: the generator's files in CHECK_DIR,
# globs separated by commas (default batch_norm*).
if(NOT GENERATOR OR NOT OUT_DIR)
  message(FATAL_ERROR "ctgrad_docs.cmake: pass -DGENERATOR=... -DOUT_DIR=...")
endif()
file(REMOVE_RECURSE "${OUT_DIR}")
file(MAKE_DIRECTORY "${OUT_DIR}")
execute_process(COMMAND "${GENERATOR}" "${OUT_DIR}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${GENERATOR} failed (${rc})")
endif()

file(GLOB dots RELATIVE "${OUT_DIR}" "${OUT_DIR}/*.dot")
list(SORT dots)
set(rendered FALSE)
if(DOT AND EXISTS "${DOT}")
  set(rendered TRUE)
  foreach(f IN LISTS dots)
    string(REGEX REPLACE "\\.dot$" ".svg" svg "${f}")
    execute_process(COMMAND "${DOT}" -Tsvg "${OUT_DIR}/${f}" -o "${OUT_DIR}/${svg}" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${DOT} -Tsvg ${f} failed (${rc})")
    endif()
  endforeach()
else()
  message(STATUS "Graphviz dot not found: SVGs not rendered (install graphviz)")
endif()

set(html_made FALSE)
if(rendered AND HTML AND KATEX_DIR)
  set(html_made TRUE)
  file(GLOB pages "${OUT_DIR}/*.md")
  list(SORT pages)
  execute_process(COMMAND "${HTML}" "${KATEX_DIR}" ${pages} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${HTML} failed (${rc})")
  endif()
else()
  message(STATUS "HTML pages not made (they need Graphviz, cmark-gfm and KaTeX: graphviz, libcmark-gfm-dev, "
                 "libcmark-gfm-extensions-dev, katex)")
endif()

if(CHECK_DIR)
  file(GLOB generated RELATIVE "${OUT_DIR}" "${OUT_DIR}/*")
  list(SORT generated)
  set(stale "")
  foreach(f IN LISTS generated)
    execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${OUT_DIR}/${f}" "${CHECK_DIR}/${f}" RESULT_VARIABLE differs)
    if(differs)
      list(APPEND stale "${f}")
    endif()
  endforeach()
  # A committed file of a kind this run made (SVGs when rendered, pages when html_made) that it
  # no longer makes is stale too.
  set(made_kinds "")
  if(rendered)
    list(APPEND made_kinds svg)
  endif()
  if(html_made)
    list(APPEND made_kinds html)
  endif()
  if(NOT COMMITTED)
    set(COMMITTED "batch_norm*")
  endif()
  string(REPLACE "," ";" committed_globs "${COMMITTED}")
  foreach(kind IN LISTS made_kinds)
    set(committed "")
    foreach(g IN LISTS committed_globs)
      file(GLOB some RELATIVE "${CHECK_DIR}" "${CHECK_DIR}/${g}.${kind}")
      list(APPEND committed ${some})
    endforeach()
    foreach(f IN LISTS committed)
      if(NOT EXISTS "${OUT_DIR}/${f}")
        list(APPEND stale "${f} (committed but no longer generated)")
      endif()
    endforeach()
  endforeach()
  if(stale)
    string(REPLACE ";" "\n  " stale "${stale}")
    message(FATAL_ERROR "The committed documentation is out of date:\n  ${stale}\n"
                        "Fresh files are in ${OUT_DIR}; regenerate docs/ with "
                        "`cmake --build <build> --target batch_norm_docs`.")
  endif()
  message(STATUS "docs up to date: ${generated}")
endif()
