#pragma once
// ctgrad/doc/dot.hpp: expression graphs as Graphviz DOT.
//
//   std::string g = ctgrad::doc::to_dot(ctgrad::exprs(y), names, {.title = "batch norm"});
//   // dot -Tsvg g.dot -o g.svg
//
// Every unique node is drawn once (a value read by several consumers has several outgoing
// edges), labelled "name = definition" with operands written by name; unnamed intermediates get
// w1, w2, ... . Edges run from operand to consumer; dashed edges are shape-only operands (the x
// of count(x), the reference of a broadcast). Nodes of `context` (the forward pass, when drawing
// a gradient) are white, the others shaded; the roots have a double border.
#include <cstddef>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ctgrad/core/pack.hpp"
#include "ctgrad/doc/latex.hpp"
#include "ctgrad/doc/names.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/graph/index.hpp"
#include "ctgrad/graph/render.hpp"
#include "ctgrad/graph/topo.hpp"

namespace ctgrad::doc {

struct dot_options {
  std::string title;          ///< graph label, drawn at the top
  std::string rankdir = "TB";  ///< TB: inputs at the top, results at the bottom
};

namespace detail {

CTGRAD_RENDER_FN inline std::string dot_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

/// Whether each node of Order is among the nodes of Context (a topological order), by place.
template <class Order, class Context>
struct in_context;
template <class... Ns, class Context>
struct in_context<type_list<Ns...>, Context> {
  static constexpr std::array<char, sizeof...(Ns)> value{
      ctgrad::detail::graph_index<Context>::template contains_t<Ns>::value...};
};

/// The nodes of graph g reachable from `roots` as DOT, read from its rendering table
/// (graph/render.hpp): one node per place, labels rendered with the picture names, edges from
/// the operand places; places where `in_context` is 0 are shaded.
CTGRAD_RENDER_FN
inline std::string dot_of(graph_ref g, std::span<const std::uint32_t> roots, const char* in_context,
                          const name_table& names, const dot_options& o) {
  namespace render = ctgrad::detail::render;
  const render::graph_view& v = *g.view;
  const std::vector<char> drawn = render::reachable(v, roots, [](std::uint32_t) { return false; });
  // Labels use the picture labels of the names; unnamed intermediates get w1, w2, ...
  name_table pictures;
  for (const auto& e : names.entries()) {
    name_entry p = e;
    p.text = e.picture_label();
    pictures.add(std::move(p));
  }
  std::size_t k = 0;
  for (std::size_t i = 0; i < v.size; ++i)
    if (drawn[i] && v.entries[i].leaf == render::leaf_kind::none && pictures.find(g.ids[i]) == nullptr)
      pictures.add(name_entry{g.ids[i], fmt::format("w{}", ++k), {}, {}, {}, {}});
  const std::vector<render::place_name> by_place = detail::place_names(g, pictures);

  std::string out = "digraph {\n";
  out += fmt::format("  rankdir={};\n", o.rankdir);
  if (!o.title.empty()) out += fmt::format("  label=\"{}\";\n  labelloc=t;\n", dot_escape(o.title));
  out += "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"Helvetica\", fontsize=11];\n";
  out += "  edge [color=\"#555555\", arrowsize=0.7];\n";
  for (std::uint32_t i = 0; i < v.size; ++i) {
    if (!drawn[i]) continue;
    const render::entry& e = v.entries[i];
    std::string label = render::render(v, i, syntax::text, by_place);
    std::string attrs;
    if (e.leaf == render::leaf_kind::input) {
      attrs = ", shape=ellipse, fillcolor=\"#e8f0fe\"";
    } else if (e.leaf == render::leaf_kind::constant) {
      attrs = ", shape=plaintext, style=\"\"";
    } else {
      label += " = " + render::render(v, i, syntax::text, by_place, true);
      if (!in_context[i]) attrs = ", fillcolor=\"#fdf1d6\"";
    }
    for (std::uint32_t r : roots)
      if (r == i) {
        attrs += ", peripheries=2";
        break;
      }
    out += fmt::format("  n{} [label=\"{}\"{}];\n", i + 1, dot_escape(label), attrs);
  }
  for (std::uint32_t i = 0; i < v.size; ++i) {
    if (!drawn[i]) continue;
    std::set<std::uint32_t> edges;
    for (std::uint32_t a = 0; a < v.entries[i].arity; ++a) {
      const std::uint32_t from = v.operand(i, a);
      if (!edges.insert(from).second) continue;
      if ((v.entries[i].shape_only >> a) & 1U) out += fmt::format("  n{} -> n{} [style=dashed];\n", from + 1, i + 1);
      else out += fmt::format("  n{} -> n{};\n", from + 1, i + 1);
    }
  }
  out += "}\n";
  return out;
}

template <class Order, class Context, class... Rs>
std::string dot_of(expr_list<Rs...> roots, const name_table& names, const dot_options& o) {
  using index = ctgrad::detail::graph_index<Order>;
  const auto& places = ctgrad::detail::render::root_places<index, decltype(roots)>::value;
  return detail::dot_of(graph_of<Order>::value, places, in_context<Order, Context>::value.data(), names, o);
}

}  // namespace detail

/// The graph of the expressions `roots` as DOT (see the header comment).
template <class... Rs>
std::string to_dot(expr_list<Rs...>, const name_table& names, const dot_options& options = {}) {
  using order = topological_order_t<Rs...>;
  return detail::dot_of<order, order>(expr_list<Rs...>{}, names, options);
}

/// The graph of `roots`, with the nodes that are not among the unique nodes of `context` shaded
/// (a gradient drawn against its forward pass).
template <class... Rs, class... Cs>
std::string to_dot(expr_list<Rs...>, expr_list<Cs...>, const name_table& names, const dot_options& options = {}) {
  return detail::dot_of<topological_order_t<Rs...>, topological_order_t<Cs...>>(expr_list<Rs...>{}, names, options);
}

}  // namespace ctgrad::doc
