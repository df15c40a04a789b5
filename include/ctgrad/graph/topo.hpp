#pragma once
// ctgrad/graph/topo.hpp: the unique nodes of a set of expressions in topological order.
//
//   auto x = ctgrad::input<"x", 1>;
//   auto e = ctgrad::exp(x) * ctgrad::exp(x);
//   static_assert(ctgrad::unique_node_count(e) == 3);   // x, exp(x), exp(x) * exp(x)
//
// A depth-first search with a visited list: each unique node is expanded once, so the work
// grows with the number of edges of the DAG, never with the number of paths through it.
#include <type_traits>

#include "ctgrad/expr/list.hpp"
#include "ctgrad/expr/reduction.hpp"

namespace ctgrad {

namespace detail {

template <class List, class T>
struct contains;
template <class... Ts, class T>
struct contains<type_list<Ts...>, T> : std::bool_constant<(std::is_same_v<Ts, T> || ...)> {};
template <class List, class T>
inline constexpr bool contains_v = contains<List, T>::value;

template <class List, class T>
struct append;
template <class... Ts, class T>
struct append<type_list<Ts...>, T> {
  using type = type_list<Ts..., T>;
};

template <class Visited, class Node, bool Seen = contains_v<Visited, Node>>
struct visit;
template <class Visited, class... Nodes>
struct visit_all {
  using type = Visited;
};
template <class Visited, class N, class... Rest>
struct visit_all<Visited, N, Rest...> {
  using type = typename visit_all<typename visit<Visited, N>::type, Rest...>::type;
};
template <class Visited, class Children>
struct visit_children;
template <class Visited, class... Cs>
struct visit_children<Visited, type_list<Cs...>> : visit_all<Visited, Cs...> {};

template <class Visited, class Node>
struct visit<Visited, Node, true> {
  using type = Visited;
};
template <class Visited, class Node>
struct visit<Visited, Node, false> {
  using type = typename append<typename visit_children<Visited, children_t<Node>>::type, Node>::type;
};

/// How many times N is an operand of the nodes in List (shape-only operands included).
template <class N, class List>
struct use_count;
template <class N, class... Ps>
struct use_count<N, type_list<Ps...>> {
  template <class P>
  static constexpr std::size_t in(type_list<>) { return 0; }
  template <class P, class... Cs>
  static constexpr std::size_t in(type_list<Cs...>) { return (std::size_t{std::is_same_v<Cs, N>} + ...); }
  static constexpr std::size_t value = (in<Ps>(children_t<Ps>{}) + ... + 0);
};

}  // namespace detail

/// The unique nodes of the expressions `Roots...`, children before parents.
template <class... Roots>
using topological_order_t = typename detail::visit_all<type_list<>, std::remove_cvref_t<Roots>...>::type;

namespace detail {
template <class List>
struct order_of_list;
template <class... Es>
struct order_of_list<expr_list<Es...>> {
  using type = topological_order_t<Es...>;
};
}  // namespace detail

/// Number of unique nodes (distinct types) in the expressions (or lists of them) `roots...`.
template <class... Roots>
constexpr std::size_t unique_node_count(Roots... roots) {
  return detail::order_of_list<decltype(ctgrad::exprs(roots...))>::type::size;
}

}  // namespace ctgrad
