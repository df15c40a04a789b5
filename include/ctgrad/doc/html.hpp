#pragma once
// ctgrad/doc/html.hpp: a derivation as one self-contained HTML page, the math typeset by KaTeX.
//
//   auto katex = ctgrad::doc::load_katex("/usr/share/javascript/katex");   // Debian: katex
//   std::string page = ctgrad::doc::html(d, katex, {.title = "Softplus"},
//                                        {.forward_svg = svg_of_forward, .gradient_svg = svg_of_gradients});
//   std::string page2 = ctgrad::doc::html(markdown_text, katex, {.svgs = {{"graph.svg", svg_text}}});
//
// The page is built from the Markdown that ctgrad/doc writes (markdown.hpp), so there is one
// math renderer: the HTML shows exactly the LaTeX of the Markdown page. It starts with
// `<!DOCTYPE html>` and `<meta charset="utf-8">` and needs no network and no other file:
// katex.min.css, katex.min.js and KaTeX's auto-render extension are copied into it, and
// load_katex embeds KaTeX's fonts (the .woff2 files, as data: URLs, about 350 kB) unless told
// katex_fonts::browser, in which case the CSS still names fonts/KaTeX_*.woff2 beside the page
// and the browser falls back to its own fonts where they are absent. KaTeX runs with
// throwOnError: false, so an error does not stop the page: a formula it cannot parse is shown
// as its source in red (an element of class katex-error), and a command it does not know
// (`\unknownmacro`) is shown in red inside the formula (errorColor #cc0000, in MathML
// `mathcolor="#cc0000"`). The test doc_html_in_browser (examples/doc.cmake) opens the
// generated pages in headless Chromium and fails on either (so formulas should not use that
// exact red themselves).
//
// Graphs: the library runs no programs. An image `![alt](name.svg)` of the Markdown whose name
// is a key of html_options::svgs is replaced by that SVG text, inline (for a derivation, pass
// `dot -Tsvg` of d.forward_dot and d.gradient_dot); other images stay <img> links.
//
// Markdown is converted by cmark-gfm (GitHub's CommonMark library, Debian: libcmark-gfm-dev and
// libcmark-gfm-extensions-dev), with its table, strikethrough and autolink extensions: the
// Markdown ctgrad writes is meant to read as GitHub renders it (plain cmark, libcmark-dev, has
// no tables, which hand-written pages and generated ones may use). Link ctgrad::html (CMake),
// which is ctgrad::ctgrad plus those two libraries; doc/doc.hpp includes this header only
// when <cmark-gfm.h> is found. cmark-gfm knows no math, and `$a_i * b_j$` read as Markdown
// would lose its stars and underscores, so every math span ($...$, $$...$$, outside code) is
// replaced by a placeholder word before conversion and put back afterwards, HTML-escaped,
// between \( \) or \[ \] (the delimiters the page gives auto-render): math reaches KaTeX
// untouched. Raw HTML in the Markdown (the generated-file comment) is kept.
//
// From the command line: examples/doc_html KATEX_DIR PAGE.md... writes PAGE.html beside each
// page, inlining the SVGs beside it that its images name; the target batch_norm_docs runs it
// on docs/batch_norm*.md after Graphviz (cmake/ctgrad_docs.cmake).
#include <cstddef>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#if !__has_include(<cmark-gfm.h>) || !__has_include(<cmark-gfm-core-extensions.h>)
#error "ctgrad/doc/html.hpp needs cmark-gfm (Debian: libcmark-gfm-dev libcmark-gfm-extensions-dev); link ctgrad::html"
#endif
#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include "ctgrad/doc/derivation.hpp"
#include "ctgrad/doc/markdown.hpp"
#include "ctgrad/doc/verify.hpp"

namespace ctgrad::doc {

/// The KaTeX files a page carries: the text of katex.min.css (fonts embedded or not),
/// katex.min.js and the auto-render extension.
struct katex_files {
  std::string css;
  std::string js;
  std::string auto_render;
};

/// Whether load_katex embeds KaTeX's fonts in the CSS (self-contained, about 350 kB more per
/// page) or leaves them to the browser (fonts/ beside the page if present, else its own).
enum class katex_fonts { embedded, browser };

namespace detail {

CTGRAD_RENDER_FN inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(fmt::format("ctgrad::doc::load_katex: cannot read {}", path));
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

CTGRAD_RENDER_FN
inline bool readable(const std::string& path) { return static_cast<bool>(std::ifstream(path, std::ios::binary)); }

CTGRAD_RENDER_FN inline std::string base64(std::string_view bytes) {
  static constexpr char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t k = 0; k < bytes.size(); k += 3) {
    const std::size_t n = bytes.size() - k < 3 ? bytes.size() - k : 3;
    unsigned v = 0;
    for (std::size_t j = 0; j < 3; ++j) v = v << 8 | (j < n ? static_cast<unsigned char>(bytes[k + j]) : 0u);
    for (std::size_t j = 0; j < 4; ++j) out += j <= n ? digits[(v >> (18 - 6 * j)) & 63u] : '=';
  }
  return out;
}

/// KaTeX's CSS with every font source list (`src:url(fonts/X.woff2) format('woff2'),url(...)...`)
/// replaced by the .woff2 file as a data: URL.
CTGRAD_RENDER_FN inline std::string embed_fonts(const std::string& css, const std::string& dir) {
  std::string out;
  std::size_t at = 0;
  for (std::size_t src; (src = css.find("src:url(", at)) != std::string::npos;) {
    const std::size_t end = css.find_first_of(";}", src);
    const std::size_t name = src + 8;
    const std::size_t close = css.find(')', name);
    if (end == std::string::npos || close == std::string::npos || close > end)
      throw std::runtime_error("ctgrad::doc::load_katex: unexpected @font-face in katex.min.css");
    const std::string file = css.substr(name, close - name);
    if (file.size() < 6 || file.compare(file.size() - 6, 6, ".woff2") != 0)
      throw std::runtime_error(fmt::format("ctgrad::doc::load_katex: first font source {} is not a .woff2", file));
    out.append(css, at, src - at);
    out += fmt::format("src:url(data:font/woff2;base64,{}) format('woff2')", base64(read_file(dir + "/" + file)));
    at = end;
  }
  out.append(css, at, std::string::npos);
  return out;
}

CTGRAD_RENDER_FN inline std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

/// Text placed inside <script> or <style>: a closing tag in it would end the element early.
CTGRAD_RENDER_FN inline std::string raw_text(std::string_view s, std::string_view tag) {
  std::string out(s);
  const std::string close = fmt::format("</{}", tag);
  for (std::size_t p = 0; (p = out.find(close, p)) != std::string::npos; p += 2) out.replace(p, 2, "<\\/");
  return out;
}

struct math_span {
  std::string tex;
  bool display = false;
};

CTGRAD_RENDER_FN inline std::string math_token(std::size_t k) { return fmt::format("CTGRADMATH{}Q", k); }

/// The Markdown with every math span replaced by a placeholder word (a display block by a
/// paragraph of its own), and the spans. Skipped: code spans, fenced code blocks, `\$`.
/// A `$` without a closing one on the same paragraph stays text.
CTGRAD_RENDER_FN inline std::string protect_math(std::string_view md, std::vector<math_span>& spans) {
  std::string out;
  out.reserve(md.size());
  std::size_t k = 0;
  bool line_start = true;
  bool fenced = false;
  while (k < md.size()) {
    if (line_start) {
      std::size_t s = k;
      while (s < md.size() && md[s] == ' ') ++s;
      if (md.compare(s, 3, "```") == 0 || md.compare(s, 3, "~~~") == 0) fenced = !fenced;
      if (fenced || md.compare(s, 3, "```") == 0 || md.compare(s, 3, "~~~") == 0) {
        const std::size_t e = md.find('\n', k);
        const std::size_t stop = e == std::string_view::npos ? md.size() : e + 1;
        out.append(md.substr(k, stop - k));
        k = stop;
        continue;
      }
    }
    line_start = false;
    const char c = md[k];
    if (c == '\n') {
      out += c;
      ++k;
      line_start = true;
      continue;
    }
    if (c == '\\' && k + 1 < md.size()) {
      out.append(md.substr(k, 2));
      k += 2;
      continue;
    }
    if (c == '`') {
      std::size_t run = k;
      while (run < md.size() && md[run] == '`') ++run;
      const std::string_view ticks = md.substr(k, run - k);
      const std::size_t close = md.find(ticks, run);
      const std::size_t stop = close == std::string_view::npos ? run : close + ticks.size();
      out.append(md.substr(k, stop - k));
      k = stop;
      continue;
    }
    if (c == '$') {
      const bool display = md.compare(k, 2, "$$") == 0;
      const std::size_t open = k + (display ? 2 : 1);
      std::size_t close = open;
      for (; close < md.size(); ++close) {
        if (md[close] == '\\') {
          ++close;
          continue;
        }
        if (md[close] == '$') break;
        if (!display && md.compare(close, 2, "\n\n") == 0) {
          close = md.size();
          break;
        }
      }
      const bool closed = close < md.size() && (!display || md.compare(close, 2, "$$") == 0);
      if (!closed || close == open) {
        out.append(md.substr(k, open - k));
        k = open;
        continue;
      }
      std::string_view tex = md.substr(open, close - open);
      while (!tex.empty() && (tex.front() == '\n' || tex.front() == ' ')) tex.remove_prefix(1);
      while (!tex.empty() && (tex.back() == '\n' || tex.back() == ' ')) tex.remove_suffix(1);
      out += math_token(spans.size());
      spans.push_back({std::string(tex), display});
      k = close + (display ? 2 : 1);
      continue;
    }
    out += c;
    ++k;
  }
  return out;
}

/// The HTML with every placeholder replaced by its math; a placeholder that is a whole
/// paragraph becomes a display block.
CTGRAD_RENDER_FN inline std::string restore_math(const std::string& html, const std::vector<math_span>& spans) {
  std::string out;
  out.reserve(html.size() + html.size() / 4);
  constexpr std::string_view prefix = "CTGRADMATH";
  std::size_t at = 0;
  for (std::size_t p; (p = html.find(prefix, at)) != std::string::npos;) {
    std::size_t e = p + prefix.size();
    std::size_t k = 0;
    while (e < html.size() && html[e] >= '0' && html[e] <= '9') k = k * 10 + static_cast<std::size_t>(html[e++] - '0');
    if (e == p + prefix.size() || e >= html.size() || html[e] != 'Q' || k >= spans.size()) {
      out.append(html, at, e - at);
      at = e;
      continue;
    }
    ++e;
    const math_span& m = spans[k];
    const bool alone = p >= 3 && html.compare(p - 3, 3, "<p>") == 0 && html.compare(e, 4, "</p>") == 0;
    if (alone) {
      out.append(html, at, p - 3 - at);
      at = e + 4;
    } else {
      out.append(html, at, p - at);
      at = e;
    }
    if (m.display && alone) out += fmt::format("<div class=\"math display\">\\[{}\\]</div>", html_escape(m.tex));
    else if (m.display) out += fmt::format("<span class=\"math display\">\\[{}\\]</span>", html_escape(m.tex));
    else out += fmt::format("<span class=\"math inline\">\\({}\\)</span>", html_escape(m.tex));
  }
  out.append(html, at, std::string::npos);
  return out;
}

/// An SVG file's text from its <svg element on (no XML declaration or DOCTYPE inside HTML).
CTGRAD_RENDER_FN inline std::string svg_element(const std::string& svg) {
  const std::size_t p = svg.find("<svg");
  if (p == std::string::npos) throw std::invalid_argument("ctgrad::doc::html: an SVG given in html_options::svgs has no <svg element");
  std::string out = svg.substr(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

struct cmark_free {
  void operator()(cmark_node* n) const { cmark_node_free(n); }
  void operator()(cmark_parser* p) const { cmark_parser_free(p); }
  void operator()(cmark_iter* i) const { cmark_iter_free(i); }
  void operator()(char* s) const { cmark_get_default_mem_allocator()->free(s); }
};

CTGRAD_RENDER_FN inline std::string node_text(cmark_node* n) {
  std::string s;
  for (cmark_node* c = cmark_node_first_child(n); c; c = cmark_node_next(c)) {
    if (const char* lit = cmark_node_get_literal(c)) s += lit;
    s += node_text(c);
  }
  return s;
}

}  // namespace detail

/// Reads KaTeX from its distribution directory (Debian: /usr/share/javascript/katex): katex.min.css,
/// katex.min.js, contrib/auto-render.min.js (or contrib/auto-render.js, as Debian names it), and
/// with katex_fonts::embedded the fonts/*.woff2 the CSS names. Throws std::runtime_error naming
/// a file it cannot read.
CTGRAD_RENDER_FN inline katex_files load_katex(const std::string& dir, katex_fonts fonts = katex_fonts::embedded) {
  katex_files k;
  k.css = detail::read_file(dir + "/katex.min.css");
  if (fonts == katex_fonts::embedded) k.css = detail::embed_fonts(k.css, dir);
  k.js = detail::read_file(dir + "/katex.min.js");
  const std::string minified = dir + "/contrib/auto-render.min.js";
  k.auto_render = detail::read_file(detail::readable(minified) ? minified : dir + "/contrib/auto-render.js");
  return k;
}

struct html_options {
  /// The page's <title>; empty: the text of the first heading.
  std::string title;
  /// SVG text by image target as written in the Markdown (`![alt](name.svg)` -> "name.svg").
  std::map<std::string, std::string, std::less<>> svgs;
  /// Relative links to X.md point to X.html (the pages are generated side by side).
  bool md_links_to_html = true;
};

/// Markdown (with $...$ and $$...$$ math) as a self-contained HTML page; see the header comment.
///
///   auto page = ctgrad::doc::html("# Softplus\n\n$\\log(1 + e^x)$\n", katex);
CTGRAD_RENDER_FN
inline std::string html(std::string_view markdown, const katex_files& katex, const html_options& o = {}) {
  std::vector<detail::math_span> spans;
  const std::string protected_md = detail::protect_math(markdown, spans);

  cmark_gfm_core_extensions_ensure_registered();
  constexpr int options = CMARK_OPT_UNSAFE;
  const std::unique_ptr<cmark_parser, detail::cmark_free> parser(cmark_parser_new(options));
  for (const char* name : {"table", "strikethrough", "autolink"})
    if (cmark_syntax_extension* ext = cmark_find_syntax_extension(name))
      cmark_parser_attach_syntax_extension(parser.get(), ext);
  cmark_parser_feed(parser.get(), protected_md.data(), protected_md.size());
  const std::unique_ptr<cmark_node, detail::cmark_free> root(cmark_parser_finish(parser.get()));

  // Collect first: the tree is changed only after the walk.
  std::string title = o.title;
  std::vector<cmark_node*> images, links;
  {
    const std::unique_ptr<cmark_iter, detail::cmark_free> it(cmark_iter_new(root.get()));
    for (cmark_event_type ev; (ev = cmark_iter_next(it.get())) != CMARK_EVENT_DONE;) {
      if (ev != CMARK_EVENT_ENTER) continue;
      cmark_node* n = cmark_iter_get_node(it.get());
      const cmark_node_type t = cmark_node_get_type(n);
      if (t == CMARK_NODE_HEADING && title.empty()) title = detail::node_text(n);
      if (t == CMARK_NODE_IMAGE) images.push_back(n);
      if (t == CMARK_NODE_LINK) links.push_back(n);
    }
  }
  for (cmark_node* n : images) {
    const char* url = cmark_node_get_url(n);
    const auto svg = o.svgs.find(std::string_view(url ? url : ""));
    if (svg == o.svgs.end()) continue;
    const std::string alt = detail::node_text(n);
    cmark_node* parent = cmark_node_parent(n);
    const bool alone = cmark_node_get_type(parent) == CMARK_NODE_PARAGRAPH && cmark_node_first_child(parent) == n &&
                       cmark_node_next(n) == nullptr;
    cmark_node* replacement = cmark_node_new(alone ? CMARK_NODE_HTML_BLOCK : CMARK_NODE_HTML_INLINE);
    const std::string inline_svg = detail::svg_element(svg->second);
    const std::string text =
        alone ? fmt::format("<figure class=\"ctgrad-graph\">\n{}\n<figcaption>{}</figcaption>\n</figure>\n", inline_svg,
                            detail::html_escape(alt))
              : inline_svg;
    cmark_node_set_literal(replacement, text.c_str());
    cmark_node* old = alone ? parent : n;
    cmark_node_replace(old, replacement);
    cmark_node_free(old);
  }
  if (o.md_links_to_html)
    for (cmark_node* n : links) {
      const std::string url = cmark_node_get_url(n) ? cmark_node_get_url(n) : "";
      const std::size_t hash = url.find('#');
      const std::string file = url.substr(0, hash);
      const bool relative = url.find("://") == std::string::npos && !url.starts_with('/');
      if (relative && file.size() > 3 && file.ends_with(".md"))
        cmark_node_set_url(n, (file.substr(0, file.size() - 3) + ".html" +
                               (hash == std::string::npos ? std::string{} : url.substr(hash)))
                                  .c_str());
    }

  const std::unique_ptr<char, detail::cmark_free> body(
      cmark_render_html(root.get(), options, cmark_parser_get_syntax_extensions(parser.get())));
  const std::string content = detail::restore_math(body.get(), spans);
  // A title is plain text: math in a heading shows as its LaTeX, without the dollars.
  std::string page_title = title;
  if (o.title.empty())
    for (std::size_t k = spans.size(); k-- > 0;) {
      const std::string token = detail::math_token(k);
      for (std::size_t p; (p = page_title.find(token)) != std::string::npos;) page_title.replace(p, token.size(), spans[k].tex);
    }

  return fmt::format(
      R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{}</title>
<style>
{}
</style>
<style>
body {{ margin: 0 auto; max-width: 62em; padding: 1em 1.5em 4em; font: 16px/1.55 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; }}
h1, h2, h3 {{ line-height: 1.25; }} h1, h2 {{ border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; }}
code {{ font: 85% ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #eff1f3; padding: .1em .3em; border-radius: 4px; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #d1d9e0; padding: .3em .7em; }}
.math.display {{ overflow-x: auto; overflow-y: hidden; }}
figure.ctgrad-graph {{ margin: 1em 0; overflow-x: auto; }} figure.ctgrad-graph svg {{ max-width: 100%; height: auto; }}
figcaption {{ color: #59636e; font-size: 90%; }}
</style>
<script>
{}
</script>
<script>
{}
</script>
<script>
document.addEventListener("DOMContentLoaded", function () {{
  renderMathInElement(document.body, {{
    delimiters: [{{left: "\\[", right: "\\]", display: true}}, {{left: "\\(", right: "\\)", display: false}}],
    throwOnError: false,
    errorColor: "#cc0000"
  }});
}});
</script>
</head>
<body>
{}</body>
</html>
)html",
      detail::html_escape(page_title), detail::raw_text(katex.css, "style"), detail::raw_text(katex.js, "script"),
      detail::raw_text(katex.auto_render, "script"), content);
}

/// The two graphs of a derivation as SVG text (e.g. `dot -Tsvg` of d.forward_dot and
/// d.gradient_dot); an empty one is left out of the page.
struct derivation_graphs {
  std::string forward_svg;
  std::string gradient_svg;
};

/// A derivation as a page: the content of markdown(d, o, hand), then the graphs given.
///
///   auto page = ctgrad::doc::html(d, ctgrad::doc::load_katex(dir), {.title = "Softplus"}, {.gradient_svg = svg});
CTGRAD_RENDER_FN
inline std::string html(const derivation& d, const katex_files& katex, const page_options& o = {},
                        const derivation_graphs& graphs = {}, const closed_form* hand = nullptr) {
  std::string md = markdown(d, o, hand);
  html_options h;
  h.title = o.title;
  if (!graphs.forward_svg.empty() || !graphs.gradient_svg.empty()) md += "\n## Graphs\n\n";
  if (!graphs.forward_svg.empty()) {
    md += "![the forward graph](forward.svg)\n\n";
    h.svgs.emplace("forward.svg", graphs.forward_svg);
  }
  if (!graphs.gradient_svg.empty()) {
    md += "![the graph of the gradients: forward nodes white, backward nodes shaded](gradients.svg)\n\n";
    h.svgs.emplace("gradients.svg", graphs.gradient_svg);
  }
  return html(md, katex, h);
}

}  // namespace ctgrad::doc
