// ctgrad/doc/html.hpp: Markdown of ctgrad/doc as a self-contained HTML page. The math must reach
// KaTeX untouched (HTML-escaped only), the KaTeX files and SVG graphs are inlined, links between
// the generated pages follow them to .html. Whether KaTeX typesets the pages is checked in a
// browser by doc_html_in_browser (examples/doc.cmake).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <ctgrad.hpp>
#include <ctgrad/doc/doc.hpp>
#include <ctgrad/doc/html.hpp>

namespace {
namespace doc = ctgrad::doc;

const doc::katex_files fake_katex{"/* katex css */", "/* katex js */", "/* auto-render */"};

std::string body_of(const std::string& page) {
  const auto b = page.find("<body>");
  const auto e = page.find("</body>");
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  return page.substr(b, e - b);
}

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}
}  // namespace

TEST_CASE("html: a page that needs no other file", "[doc][html]") {
  doc::katex_files k = fake_katex;
  k.js = "var s = '</script>';";
  const std::string page = doc::html("# Title\n\ntext\n", k);
  CHECK(page.starts_with("<!DOCTYPE html>\n"));
  CHECK(page.find("<meta charset=\"utf-8\">") != std::string::npos);
  CHECK(page.find("/* katex css */") != std::string::npos);
  CHECK(page.find("/* auto-render */") != std::string::npos);
  CHECK(page.find("throwOnError: false") != std::string::npos);
  CHECK(page.find("errorColor: \"#cc0000\"") != std::string::npos);  // what doc_html_in_browser looks for
  // a closing tag inside the inlined script would end it early
  CHECK(page.find("var s = '<\\/script>';") != std::string::npos);
  CHECK(page.find("'</script>'") == std::string::npos);
  CHECK(page.find("<title>Title</title>") != std::string::npos);
  CHECK(page.find("src=") == std::string::npos);
  CHECK(page.find("href=") == std::string::npos);
}

TEST_CASE("html: math reaches KaTeX untouched", "[doc][html]") {
  SECTION("inline: stars and underscores are not emphasis") {
    const std::string b = body_of(doc::html("Let $a_i * b_j$ and $c_i * d_j$ be *products*.\n", fake_katex));
    CHECK(b.find("<span class=\"math inline\">\\(a_i * b_j\\)</span>") != std::string::npos);
    CHECK(b.find("<span class=\"math inline\">\\(c_i * d_j\\)</span>") != std::string::npos);
    CHECK(b.find("<em>products</em>") != std::string::npos);
    CHECK(b.find("<em>") == b.rfind("<em>"));
  }
  SECTION("display: a block of its own, HTML-escaped") {
    const std::string b = body_of(doc::html("Before\n\n$$\nx < y \\quad a \\& b\n$$\n\nafter\n", fake_katex));
    CHECK(b.find("<div class=\"math display\">\\[x &lt; y \\quad a \\&amp; b\\]</div>") != std::string::npos);
    CHECK(b.find("<p>Before</p>") != std::string::npos);
    CHECK(b.find("<p>after</p>") != std::string::npos);
  }
  SECTION("backslashes and braces stay as written") {
    const std::string b = body_of(doc::html("$\\overline{\\hat{x}} = \\frac{\\partial L}{\\partial \\hat{x}}$\n", fake_katex));
    CHECK(b.find("\\(\\overline{\\hat{x}} = \\frac{\\partial L}{\\partial \\hat{x}}\\)") != std::string::npos);
  }
  SECTION("no math in code, escaped dollars or a lone dollar") {
    const std::string b = body_of(doc::html("`$HOME` and \\$5, then $7 alone\n", fake_katex));
    CHECK(b.find("<code>$HOME</code>") != std::string::npos);
    CHECK(b.find("$5") != std::string::npos);
    CHECK(b.find("$7 alone") != std::string::npos);
    CHECK(b.find("math") == std::string::npos);
  }
  SECTION("in lists and tables") {
    const std::string b =
        body_of(doc::html("- from F3 ($v_1$): $x$\n\n| a | b |\n|---|---|\n| $x_1$ | 2 |\n", fake_katex));
    CHECK(b.find("<li>from F3 (<span class=\"math inline\">\\(v_1\\)</span>): ") != std::string::npos);
    CHECK(b.find("<table>") != std::string::npos);
    CHECK(b.find("<td><span class=\"math inline\">\\(x_1\\)</span></td>") != std::string::npos);
  }
  SECTION("a heading's math is plain LaTeX in the title") {
    const std::string page = doc::html("# Batch $\\mu$\n", fake_katex);
    CHECK(page.find("<title>Batch \\mu</title>") != std::string::npos);
  }
}

TEST_CASE("html: graphs inline, links to the HTML pages", "[doc][html]") {
  doc::html_options o;
  o.svgs.emplace("g.svg", "<?xml version=\"1.0\"?>\n<!DOCTYPE svg PUBLIC \"x\">\n<svg id=\"g\"><text>a</text></svg>\n");
  const std::string md = "![the graph](g.svg)\n\nSee ![other](h.svg), [raw](raw.md#top), [ext](https://x.org/a.md), "
                         "[src](g.dot).\n";
  const std::string b = body_of(doc::html(md, fake_katex, o));
  CHECK(b.find("<figure class=\"ctgrad-graph\">\n<svg id=\"g\"><text>a</text></svg>\n<figcaption>the graph</figcaption>") !=
        std::string::npos);
  CHECK(b.find("<?xml") == std::string::npos);
  CHECK(b.find("<!DOCTYPE svg") == std::string::npos);
  CHECK(b.find("<img src=\"h.svg\" alt=\"other\"") != std::string::npos);  // no SVG given: a link stays
  CHECK(b.find("href=\"raw.html#top\"") != std::string::npos);
  CHECK(b.find("href=\"https://x.org/a.md\"") != std::string::npos);
  CHECK(b.find("href=\"g.dot\"") != std::string::npos);
  o.md_links_to_html = false;
  CHECK(body_of(doc::html(md, fake_katex, o)).find("href=\"raw.md#top\"") != std::string::npos);
}

TEST_CASE("html: a derivation's page has the Markdown page's math and its graphs", "[doc][html]") {
  constexpr auto x = ctgrad::input<"x", 1>;
  constexpr auto dy = ctgrad::input<"dy", 1>;
  constexpr auto y = ctgrad::log(ctgrad::add(ctgrad::constant<1>, ctgrad::exp(x)));
  const auto d = doc::derive(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x), doc::name_table{});
  doc::derivation_graphs graphs;
  graphs.gradient_svg = "<svg id=\"grad\"></svg>";
  const std::string page = doc::html(d, fake_katex, {.title = "Softplus", .loss = "L"}, graphs);
  CHECK(page.find("<title>Softplus</title>") != std::string::npos);
  CHECK(page.find("<h1>Softplus</h1>") != std::string::npos);
  REQUIRE(!d.forward.empty());
  for (const auto& f : d.forward)
    CHECK(page.find(fmt::format("\\({} = {}\\)", doc::detail::html_escape(f.tex),
                                doc::detail::html_escape(f.definition_tex))) != std::string::npos);
  REQUIRE(d.gradients.size() == 1);
  CHECK(page.find(fmt::format("\\[\\frac{{\\partial L}}{{\\partial {}}} = {}\\]", d.gradients[0].input_tex,
                              doc::detail::html_escape(d.gradients[0].tex))) != std::string::npos);
  CHECK(page.find("<svg id=\"grad\"></svg>") != std::string::npos);
  CHECK(page.find("CTGRADMATH") == std::string::npos);
}

TEST_CASE("load_katex: the files, the fonts embedded or left to the browser", "[doc][html]") {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("ctgrad_katex_{}", ::getpid());
  std::filesystem::remove_all(dir);
  const std::string css =
      "@font-face{font-family:K;src:url(fonts/K.woff2) format('woff2'),url(fonts/K.woff) format('woff');"
      "font-weight:400}.katex{x:y}";
  write(dir / "katex.min.css", css);
  write(dir / "katex.min.js", "js");
  write(dir / "contrib/auto-render.js", "ar");  // Debian's name
  write(dir / "fonts/K.woff2", "abc");
  const auto k = doc::load_katex(dir.string());
  CHECK(k.css ==
        "@font-face{font-family:K;src:url(data:font/woff2;base64,YWJj) format('woff2');font-weight:400}.katex{x:y}");
  CHECK(k.js == "js");
  CHECK(k.auto_render == "ar");
  CHECK(doc::load_katex(dir.string(), doc::katex_fonts::browser).css == css);
  write(dir / "contrib/auto-render.min.js", "ar.min");  // the upstream name, preferred
  CHECK(doc::load_katex(dir.string()).auto_render == "ar.min");
  std::filesystem::remove(dir / "fonts/K.woff2");
  CHECK_THROWS_WITH(doc::load_katex(dir.string()), Catch::Contains("K.woff2"));
  CHECK_THROWS_WITH(doc::load_katex((dir / "nowhere").string()), Catch::Contains("katex.min.css"));
  std::filesystem::remove_all(dir);
}
