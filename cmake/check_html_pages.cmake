# Opens every HTML page of a directory in headless Chromium and fails when KaTeX did not typeset
# a formula or a graph is missing.
#
#   cmake -DCHROMIUM=<chromium> -DDOCS_DIR=<docs> [-DWORK_DIR=<dir>] -P check_html_pages.cmake
#
# Each X.html must have its source X.md beside it (ctgrad::doc::html makes the page from it).
# Expectations come from the Markdown, not from the HTML under test: the page must have at
# least as many typeset formulas (KaTeX's `class="katex"`, after the page's scripts ran) as the
# Markdown has math spans ($...$ and $$...$$ outside code spans), no KaTeX error (with
# throwOnError: false KaTeX renders a formula it cannot parse as an element of class katex-error,
# and a command it does not know in its errorColor, which ctgrad::doc::html sets to #cc0000: in
# the MathML it writes beside the HTML that is `mathcolor="#cc0000"`), and one inline <svg>
# graph (in a <figure class="ctgrad-graph">) per SVG image of the Markdown. Runs as root and
# without a display (--headless --no-sandbox), so it works in CI containers.
if(NOT CHROMIUM OR NOT DOCS_DIR)
  message(FATAL_ERROR "check_html_pages.cmake: pass -DCHROMIUM=... -DDOCS_DIR=...")
endif()
if(NOT WORK_DIR)
  set(WORK_DIR "${DOCS_DIR}/.html-check")
endif()

# Counts the matches of a regex; list separators and brackets are neutralized first so that the
# matches themselves cannot split or join list elements.
function(count_matches out regex text)
  string(REPLACE ";" "," text "${text}")
  string(REPLACE "[" "(" text "${text}")
  string(REPLACE "]" ")" text "${text}")
  string(REGEX MATCHALL "${regex}" hits "${text}")
  list(LENGTH hits n)
  set(${out} ${n} PARENT_SCOPE)
endfunction()

file(GLOB pages RELATIVE "${DOCS_DIR}" "${DOCS_DIR}/*.html")
list(SORT pages)
if(NOT pages)
  message(FATAL_ERROR "no HTML pages in ${DOCS_DIR}")
endif()

set(failures "")
foreach(page IN LISTS pages)
  string(REGEX REPLACE "\\.html$" ".md" source "${page}")
  if(NOT EXISTS "${DOCS_DIR}/${source}")
    list(APPEND failures "${page}: no ${source} beside it to take the expected formulas and graphs from")
    continue()
  endif()

  # --- what the Markdown asks for ---
  file(READ "${DOCS_DIR}/${source}" md)
  string(REGEX REPLACE "`[^`]*`" "" md "${md}")      # code spans show $ as text
  string(REPLACE "\\$" "" md "${md}")                # so does an escaped dollar
  count_matches(display_spans "\\$\\$[^$]+\\$\\$" "${md}")
  string(REGEX REPLACE "\\$\\$[^$]+\\$\\$" "" md "${md}")
  count_matches(inline_spans "\\$[^$]+\\$" "${md}")
  math(EXPR spans "${display_spans} + ${inline_spans}")
  count_matches(graphs "!\\([^)]*\\)\\([^)]*\\.svg\\)" "${md}")    # ![alt](x.svg), brackets neutralized

  # --- what the page is, before and after its scripts ---
  file(READ "${DOCS_DIR}/${page}" raw)
  if(NOT raw MATCHES "^<!DOCTYPE html>" OR NOT raw MATCHES "<meta charset=\"utf-8\">")
    list(APPEND failures "${page}: does not start with <!DOCTYPE html> or has no <meta charset=\"utf-8\">")
  endif()
  file(REMOVE_RECURSE "${WORK_DIR}/profile")
  file(MAKE_DIRECTORY "${WORK_DIR}/profile")
  execute_process(
    COMMAND "${CHROMIUM}" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run
            --user-data-dir=${WORK_DIR}/profile --virtual-time-budget=10000 --dump-dom "file://${DOCS_DIR}/${page}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE dom ERROR_VARIABLE chromium_log TIMEOUT 120)
  if(NOT rc EQUAL 0 OR dom STREQUAL "")
    list(APPEND failures "${page}: ${CHROMIUM} failed (${rc}): ${chromium_log}")
    continue()
  endif()
  file(WRITE "${WORK_DIR}/${page}.dom.html" "${dom}")
  count_matches(typeset "class=\"katex\"" "${dom}")
  count_matches(parse_errors "class=\"katex-error\"" "${dom}")
  count_matches(unknown_commands "mathcolor=\"#cc0000\"" "${dom}")
  math(EXPR errors "${parse_errors} + ${unknown_commands}")
  count_matches(svgs "<svg" "${dom}")
  count_matches(figures "<figure class=\"ctgrad-graph\">[ \n]*<svg" "${dom}")

  message(STATUS "${page}: ${typeset} formulas typeset for ${spans} math spans in ${source}, ${errors} KaTeX errors, "
                 "${figures} inline graphs for ${graphs} SVG images (${svgs} <svg> in all)")
  if(errors GREATER 0)
    string(REGEX MATCHALL "class=\"katex-error\"[^>]*>[^<]*|<mstyle mathcolor=\"#cc0000\"><mtext>[^<]*" shown "${dom}")
    string(REPLACE ";" "\n    " shown "${shown}")
    list(APPEND failures "${page}: ${errors} KaTeX errors (${parse_errors} formulas it could not parse, "
                         "${unknown_commands} commands it does not know):\n    ${shown}")
  endif()
  if(typeset LESS spans)
    list(APPEND failures "${page}: ${typeset} formulas typeset, but ${source} has ${spans} math spans")
  endif()
  if(figures LESS graphs OR svgs LESS graphs)
    list(APPEND failures "${page}: ${figures} inline SVG graphs, but ${source} shows ${graphs} SVG images")
  endif()
endforeach()

if(failures)
  string(REPLACE ";" "\n  " failures "${failures}")
  message(FATAL_ERROR "HTML pages checked in ${CHROMIUM}:\n  ${failures}\n(the DOMs after the scripts ran are in "
                      "${WORK_DIR})")
endif()
message(STATUS "HTML pages checked in ${CHROMIUM}: ${pages}")
