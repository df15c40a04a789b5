#pragma once
// ctgrad/doc/doc.hpp: documentation of gradient steps (not included by <ctgrad.hpp>, so that
// programs that only compute pay nothing for it).
//
//   #include <ctgrad/doc/doc.hpp>
//   ctgrad::doc::name_table names{ctgrad::doc::name(mu, "mu", "\\mu")};
//   auto d = ctgrad::doc::derive(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x), names);
//   std::string md = ctgrad::doc::markdown(d, {.title = "My layer"});
//   std::string dot = d.gradient_dot;   // Graphviz; dot -Tsvg
//   // with <ctgrad/doc/html.hpp>:
//   std::string page = ctgrad::doc::html(d, ctgrad::doc::load_katex("/usr/share/javascript/katex"),
//                                        {.title = "My layer"}, {.gradient_svg = svg_text});
//
//   names.hpp          names for intermediates (a rendering concern: graphs are unchanged)
//   latex.hpp          LaTeX and named text of any expression (fmt: with_names, latex)
//   unsimplified.hpp   the switch for the raw chain rule
//   derivation.hpp     forward and backward steps with the local rule of each contribution
//   markdown.hpp       Markdown with GitHub math
//   html.hpp           a self-contained HTML page, math by KaTeX, graphs inline: not included
//                      here; include <ctgrad/doc/html.hpp> and link ctgrad::html (cmark-gfm).
//                      Parsing it cost programs that print no HTML 0.2 s of compile time.
//   dot.hpp            Graphviz DOT of forward and gradient graphs
//   verify.hpp         closed forms checked on random data (deterministic generator)
#include "ctgrad/doc/derivation.hpp"
#include "ctgrad/doc/dot.hpp"
#include "ctgrad/doc/latex.hpp"
#include "ctgrad/doc/markdown.hpp"
#include "ctgrad/doc/names.hpp"
#include "ctgrad/doc/unsimplified.hpp"
#include "ctgrad/doc/verify.hpp"
