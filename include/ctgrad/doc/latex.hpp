#pragma once
// ctgrad/doc/latex.hpp: expressions as LaTeX and as text, with names for intermediates.
//
//   ctgrad::doc::name_table names{ctgrad::doc::name(mu, "mu", "\\mu")};
//   ctgrad::doc::to_latex(x - mu, names);            // "x - \mu"
//   ctgrad::doc::to_latex(ctgrad::sum<0>(x));        // "\sum_{i} x"
//   fmt::format("{}", ctgrad::doc::with_names(x - mu, names));   // "x - mu"
//   fmt::format("{}", ctgrad::doc::latex(x - mu, names));        // "x - \mu"
//
// Each operation renders itself (its `latex` member, next to its evaluation and its rules); the
// one renderer of ctgrad/graph/render.hpp walks the expression's table, and this header gives
// it the names of the table's nodes, so that it stops at named subexpressions. Operations
// without a `latex` member (users' own) are written from their text notation: softplus(a)
// becomes \operatorname{softplus}\left(a\right). Inputs are written as their names, Greek names
// as Greek letters (gamma is \gamma, eps is \epsilon). Broadcasting is implicit, as in NumPy.
#include <array>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "ctgrad/doc/names.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/expr/node.hpp"
#include "ctgrad/graph/render.hpp"
#include "ctgrad/graph/topo.hpp"

namespace ctgrad::doc {

namespace detail {

namespace render = ctgrad::detail::render;

/// The run-time identities of a graph's nodes by place, to look up their names.
template <class Order>
struct place_ids;
template <class... Ns>
struct place_ids<type_list<Ns...>> {
  static constexpr std::array<type_id, sizeof...(Ns)> value{&type_key<Ns>::id...};
};

/// A graph's table for rendering by place, with its nodes' identities.
struct graph_ref {
  const render::graph_view* view = nullptr;
  const type_id* ids = nullptr;
};
template <class Order>
struct graph_of {
  static constexpr graph_ref value{&render::graph_render<Order>::view, place_ids<Order>::value.data()};
};

/// The names of `names` by place (empty when there are none).
CTGRAD_RENDER_FN inline std::vector<render::place_name> place_names(graph_ref g, const name_table& names) {
  std::vector<render::place_name> out;
  if (names.entries().empty()) return out;
  out.resize(g.view->size);
  for (std::size_t i = 0; i < g.view->size; ++i)
    if (const name_entry* n = names.find(g.ids[i])) out[i] = {n->text, n->latex, true};
  return out;
}

/// The node at `place` of g as text or LaTeX, named nodes by their names; with `definition`,
/// the node itself as its definition even when it has a name.
CTGRAD_RENDER_FN
inline std::string render_at(graph_ref g, std::size_t place, syntax s, const name_table& names,
                             bool definition = false) {
  const std::vector<render::place_name> by_place = detail::place_names(g, names);
  return render::render(*g.view, static_cast<std::uint32_t>(place), s, by_place, definition);
}

template <class E>
std::string render_root(syntax s, const name_table& names, bool definition) {
  using order = topological_order_t<E>;
  return detail::render_at(graph_of<order>::value, order::size - 1, s, names, definition);
}

}  // namespace detail

/// The expression as LaTeX, stopping at named subexpressions (including E itself).
template <Expression E>
std::string to_latex(E, const name_table& names = {}) {
  return detail::render_root<std::remove_cvref_t<E>>(syntax::latex, names, false);
}

/// The expression's own definition as LaTeX: E itself is expanded one level even when named,
/// its operands are written by name (`mu` named: sum<0>(x) / count<0>(x) gives \frac{\sum_{i} x}{m}).
template <Expression E>
std::string definition_latex(E, const name_table& names = {}) {
  return detail::render_root<std::remove_cvref_t<E>>(syntax::latex, names, true);
}

/// The expression as text, stopping at named subexpressions; with no names, the same as
/// ctgrad::to_text.
template <Expression E>
std::string to_text(E, const name_table& names) {
  return detail::render_root<std::remove_cvref_t<E>>(syntax::text, names, false);
}

/// E's own definition as text, operands by name.
template <Expression E>
std::string definition_text(E, const name_table& names) {
  return detail::render_root<std::remove_cvref_t<E>>(syntax::text, names, true);
}

/// Several expressions as a let program (ctgrad::text_options), the named subexpressions each
/// on a line of their own under their names:
///   doc::to_text(ctgrad::exprs(dx, dgamma), names, {.let = true, .results = {"dx", "dgamma"}})
template <class... Es>
std::string to_text(expr_list<Es...> list, const name_table& names, const text_options& options) {
  using order = typename ctgrad::detail::render::list_order<decltype(list)>::type;
  using g = detail::graph_of<order>;
  const auto& roots = ctgrad::detail::render::root_places<ctgrad::detail::graph_index<order>, expr_list<Es...>>::value;
  const std::vector<detail::render::place_name> by_place = detail::place_names(g::value, names);
  return detail::render::text_program(*g::value.view, roots, options, by_place);
}

/// An expression and a name table, printed with fmt as text: fmt::format("{}", with_names(e, t)).
template <Expression E>
struct named_expression {
  const name_table* names;
};
template <Expression E>
named_expression<E> with_names(E, const name_table& names) {
  return {&names};
}

/// An expression and a name table, printed with fmt as LaTeX: fmt::format("{}", latex(e, t)).
template <Expression E>
struct latex_expression {
  const name_table* names;
};
template <Expression E>
latex_expression<E> latex(E, const name_table& names) {
  return {&names};
}

}  // namespace ctgrad::doc

template <class E>
struct fmt::formatter<ctgrad::doc::named_expression<E>> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const ctgrad::doc::named_expression<E>& e, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(ctgrad::doc::to_text(E{}, *e.names), ctx);
  }
};

template <class E>
struct fmt::formatter<ctgrad::doc::latex_expression<E>> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const ctgrad::doc::latex_expression<E>& e, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(ctgrad::doc::to_latex(E{}, *e.names), ctx);
  }
};
