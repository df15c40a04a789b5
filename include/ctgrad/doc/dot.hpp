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
#include <string>
#include <utility>

#include <fmt/format.h>

#include "ctgrad/core/pack.hpp"
#include "ctgrad/doc/latex.hpp"
#include "ctgrad/doc/names.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/graph/topo.hpp"

namespace ctgrad::doc {

struct dot_options {
  std::string title;          ///< graph label, drawn at the top
  std::string rankdir = "TB";  ///< TB: inputs at the top, results at the bottom
};

namespace detail {

inline std::string dot_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

template <class L, class N>
struct position_in;
template <class... Ts, class N>
struct position_in<type_list<Ts...>, N> {
  static constexpr std::size_t value = [] {
    constexpr bool hits[] = {std::is_same_v<Ts, N>..., false};
    std::size_t i = 0;
    while (i < sizeof...(Ts) && !hits[i]) ++i;
    return i;
  }();
};

template <class P, std::size_t I>
constexpr bool shape_only_operand() {
  return op_traits<typename P::op>::is_shape_only(I);
}

template <class Order, class Roots, class Context, class N>
void dot_node(std::string& out, const name_table& pictures) {
  constexpr std::size_t id = position_in<Order, N>::value + 1;
  std::string label;
  std::string attrs;
  if constexpr (is_input_v<N>) {
    label = doc::to_text(N{}, pictures);
    attrs = ", shape=ellipse, fillcolor=\"#e8f0fe\"";
  } else if constexpr (is_constant_v<N>) {
    label = ctgrad::to_text(N{});
    attrs = ", shape=plaintext, style=\"\"";
  } else {
    label = doc::to_text(N{}, pictures) + " = " + doc::definition_text(N{}, pictures);
    if (!ctgrad::detail::contains_v<Context, N>) attrs = ", fillcolor=\"#fdf1d6\"";
  }
  if constexpr (ctgrad::detail::contains_v<Roots, N>) attrs += ", peripheries=2";
  out += fmt::format("  n{} [label=\"{}\"{}];\n", id, dot_escape(label), attrs);
}

template <class Order, class N, std::size_t I, class Arg>
void dot_edge(std::string& out, std::set<std::size_t>& drawn) {
  constexpr std::size_t from = position_in<Order, Arg>::value + 1;
  constexpr std::size_t to = position_in<Order, N>::value + 1;
  if (!drawn.insert(from).second) return;
  if constexpr (shape_only_operand<N, I>()) out += fmt::format("  n{} -> n{} [style=dashed];\n", from, to);
  else out += fmt::format("  n{} -> n{};\n", from, to);
}

template <class Order, class N, class... Args, std::size_t... I>
void dot_edges(std::string& out, type_list<Args...>, std::index_sequence<I...>) {
  std::set<std::size_t> drawn;
  (dot_edge<Order, N, I, Args>(out, drawn), ...);
}

template <class N>
void picture_name(name_table& pictures, std::size_t& k) {
  if constexpr (!is_input_v<N> && !is_constant_v<N>)
    if (pictures.find(id_of(N{})) == nullptr) pictures.add(name_entry{id_of(N{}), fmt::format("w{}", ++k), {}, {}, {}, {}});
}

template <class... Ns, class Roots, class Context>
std::string dot_of(type_list<Ns...>, Roots, Context, const name_table& names, const dot_options& o) {
  using order = type_list<Ns...>;
  // Labels use the picture labels of the names; unnamed intermediates get w1, w2, ...
  name_table pictures;
  for (const auto& e : names.entries()) {
    name_entry p = e;
    p.text = e.picture_label();
    pictures.add(std::move(p));
  }
  std::size_t k = 0;
  ctgrad::detail::in_order({(picture_name<Ns>(pictures, k), 0)...});

  std::string out = "digraph {\n";
  out += fmt::format("  rankdir={};\n", o.rankdir);
  if (!o.title.empty()) out += fmt::format("  label=\"{}\";\n  labelloc=t;\n", dot_escape(o.title));
  out += "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"Helvetica\", fontsize=11];\n";
  out += "  edge [color=\"#555555\", arrowsize=0.7];\n";
  ctgrad::detail::in_order({(dot_node<order, Roots, Context, Ns>(out, pictures), 0)...});
  ctgrad::detail::in_order({(dot_edges<order, Ns>(out, children_t<Ns>{}, std::make_index_sequence<children_t<Ns>::size>{}), 0)...});
  out += "}\n";
  return out;
}

}  // namespace detail

/// The graph of the expressions `roots` as DOT (see the header comment).
template <class... Rs>
std::string to_dot(expr_list<Rs...>, const name_table& names, const dot_options& options = {}) {
  using order = topological_order_t<Rs...>;
  return detail::dot_of(order{}, type_list<Rs...>{}, order{}, names, options);
}

/// The graph of `roots`, with the nodes that are not among the unique nodes of `context` shaded
/// (a gradient drawn against its forward pass).
template <class... Rs, class... Cs>
std::string to_dot(expr_list<Rs...>, expr_list<Cs...>, const name_table& names, const dot_options& options = {}) {
  return detail::dot_of(topological_order_t<Rs...>{}, type_list<Rs...>{}, topological_order_t<Cs...>{}, names, options);
}

}  // namespace ctgrad::doc
