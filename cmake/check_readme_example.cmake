# Fails when the C++ block of README.md's "A short example" section differs from the example
# program it shows (minus that file's first line, a comment saying where it is shown).
#   cmake -DREADME=README.md -DEXAMPLE=examples/quick_start.cpp -P check_readme_example.cmake
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
string(FIND "${readme}" "## A short example" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md has no '## A short example' section")
endif()
string(SUBSTRING "${readme}" ${at} -1 section)
string(FIND "${section}" "```cpp\n" begin)
string(FIND "${section}" "\n```\n" end)
math(EXPR begin "${begin} + 7")
math(EXPR length "${end} - ${begin} + 1")
string(SUBSTRING "${section}" ${begin} ${length} block)
string(FIND "${example}" "\n" first_newline)
math(EXPR first_newline "${first_newline} + 1")
string(SUBSTRING "${example}" ${first_newline} -1 body)
if(NOT block STREQUAL body)
  file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/readme_block.cpp" "${block}")
  message(FATAL_ERROR "README.md's example differs from ${EXAMPLE}; the README block was written "
                      "to ${CMAKE_CURRENT_BINARY_DIR}/readme_block.cpp for a diff")
endif()
message(STATUS "README example matches ${EXAMPLE}")
