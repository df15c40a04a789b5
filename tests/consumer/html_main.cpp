// ctgrad::html from an installed ctgrad: ctgrad/doc/html.hpp compiles and links against
// cmark-gfm, and a formula reaches the page untouched.
#include <string>

#include <fmt/format.h>

#include <ctgrad/doc/html.hpp>

int main() {
  const ctgrad::doc::katex_files katex{"/* css */", "/* js */", "/* auto-render */"};
  const std::string page = ctgrad::doc::html("# Consumer\n\n$a_i * b_j$\n", katex);
  const bool ok = page.starts_with("<!DOCTYPE html>") && page.find("\\(a_i * b_j\\)") != std::string::npos;
  fmt::print("consumer_html: {}\n", ok ? "ok" : "the formula did not reach the page");
  return ok ? 0 : 1;
}
