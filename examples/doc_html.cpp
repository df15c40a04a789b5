// Turns Markdown pages of ctgrad/doc into self-contained HTML pages (ctgrad::doc::html): the
// math typeset by KaTeX, the SVG pictures the Markdown names inlined.
//
//   build/examples/doc_html KATEX_DIR PAGE.md...     writes PAGE.html beside each PAGE.md
//
// KATEX_DIR is KaTeX's distribution directory (Debian: /usr/share/javascript/katex). An image
// `![alt](name.svg)` is inlined when name.svg exists beside the page; the SVGs are rendered
// beforehand (cmake/ctgrad_docs.cmake runs Graphviz), since the library runs no programs.
// The target batch_norm_docs uses it for docs/batch_norm*.html.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include <ctgrad/doc/html.hpp>

namespace {

std::string read(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw std::runtime_error(fmt::format("cannot read {}", p.string()));
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

/// The SVGs beside the page that the page names as images, by the name it uses.
ctgrad::doc::html_options options_for(const std::string& md, const std::filesystem::path& dir) {
  ctgrad::doc::html_options o;
  for (std::size_t p = 0; (p = md.find("](", p)) != std::string::npos; p += 2) {
    const std::size_t close = md.find(')', p);
    if (close == std::string::npos) break;
    const std::string target = md.substr(p + 2, close - p - 2);
    if (target.ends_with(".svg") && target.find('/') == std::string::npos && std::filesystem::exists(dir / target))
      o.svgs.emplace(target, read(dir / target));
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: doc_html KATEX_DIR PAGE.md...\n");
    return 2;
  }
  try {
    const auto katex = ctgrad::doc::load_katex(argv[1]);
    for (int k = 2; k < argc; ++k) {
      const std::filesystem::path md_path = argv[k];
      const std::string md = read(md_path);
      const auto options = options_for(md, md_path.parent_path());
      std::filesystem::path out = md_path;
      out.replace_extension(".html");
      std::ofstream f(out, std::ios::binary);
      f << ctgrad::doc::html(md, katex, options);
      if (!f) throw std::runtime_error(fmt::format("cannot write {}", out.string()));
      fmt::print("doc_html: wrote {} ({} graphs inlined)\n", out.string(), options.svgs.size());
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "doc_html: {}\n", e.what());
    return 1;
  }
  return 0;
}
