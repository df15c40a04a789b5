#pragma once
// ctgrad/graph/topo.hpp: the unique nodes of a set of expressions in topological order.
//
//   auto x = ctgrad::input<"x", 1>;
//   auto e = ctgrad::exp(x) * ctgrad::exp(x);
//   static_assert(ctgrad::unique_node_count(e) == 3);   // x, exp(x), exp(x) * exp(x)
//
// A depth-first search with a visited list: each unique node is expanded once, so the work
// grows with the number of edges of the DAG, never with the number of paths through it.
//
// Membership in the visited list is a fold (GCC) or a braced list (Clang) of the compiler's
// type-identity builtin (CTGRAD_DETAIL_SAME_TYPE): linear in the list, but no template is
// instantiated per pair of nodes. Measured with GCC 12 on the 16-block network of
// benchmarks/compile_scaling (838 unique nodes): std::is_same_v per pair took 42 s already at 8
// blocks; a visited set kept as a chain of base classes queried with std::is_base_of took 18 s;
// the fold takes well under a second.
#include <type_traits>

#include "ctgrad/core/pack.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/expr/reduction.hpp"

namespace ctgrad {

namespace detail {

template <class List, class T>
struct contains;
#if defined(__clang__)
// Clang nests a fold N deep and stops at its bracket depth (core/pack.hpp): a braced list.
template <class... Ts, class T>
struct contains<type_list<Ts...>, T> : std::bool_constant<any_of({CTGRAD_DETAIL_SAME_TYPE(Ts, T)..., false})> {};
#else
// GCC: a fold. The braced list's constexpr call, one per visit with the whole visited list as
// its argument, made the 16-block network of benchmarks/compile_scaling 30 s slower to compile
// (62 s -> 92 s of CPU time with g++ 12 -O2).
template <class... Ts, class T>
struct contains<type_list<Ts...>, T> : std::bool_constant<(CTGRAD_DETAIL_SAME_TYPE(Ts, T) || ...)> {};
#endif
/// Whether T is one of the types of a type_list.
template <class List, class T>
inline constexpr bool contains_v = contains<List, T>::value;

template <class List, class T>
struct append;
template <class... Ts, class T>
struct append<type_list<Ts...>, T> {
  using type = type_list<Ts..., T>;
};

// Instantiation depth: GCC stops at 900 nested instantiations, and a search nests one visit per
// node on its path. So a node's operands are visited one after another from within the node's
// own visit (`visit<visit<V, A>::type, B>`: each nested once, not once per operand as a
// recursion over the operand list would), and lists of roots four at a time. Before, the
// gradients of the 16-block network of benchmarks/compile_scaling nested past the limit, and
// GCC's error, printing the deep types as trees, then exhausted the memory.
template <class Visited, class Node, bool Seen = contains<Visited, Node>::value>
struct visit;
template <class Visited, class... Nodes>
struct visit_all {
  using type = Visited;
};
template <class Visited, class N, class... Rest>
struct visit_all<Visited, N, Rest...> {
  using type = typename visit_all<typename visit<Visited, N>::type, Rest...>::type;
};
template <class Visited, class N1, class N2, class N3, class N4, class... Rest>
struct visit_all<Visited, N1, N2, N3, N4, Rest...> {
  using type = typename visit_all<
      typename visit<typename visit<typename visit<typename visit<Visited, N1>::type, N2>::type, N3>::type, N4>::type,
      Rest...>::type;
};
template <class Visited, class Children>
struct visit_children;
template <class Visited, class... Cs>
struct visit_children<Visited, type_list<Cs...>> : visit_all<Visited, Cs...> {};

template <class Visited, class Node>
struct visit<Visited, Node, true> {
  using type = Visited;
};
// leaves and nodes of four or more operands
template <class Visited, class Node>
struct visit<Visited, Node, false> {
  using type = typename append<typename visit_children<Visited, children_t<Node>>::type, Node>::type;
};
template <class Visited, class Op, class A>
struct visit<Visited, node<Op, A>, false> {
  using type = typename append<typename visit<Visited, A>::type, node<Op, A>>::type;
};
template <class Visited, class Op, class A, class B>
struct visit<Visited, node<Op, A, B>, false> {
  using type = typename append<typename visit<typename visit<Visited, A>::type, B>::type, node<Op, A, B>>::type;
};
template <class Visited, class Op, class A, class B, class C>
struct visit<Visited, node<Op, A, B, C>, false> {
  using type = typename append<typename visit<typename visit<typename visit<Visited, A>::type, B>::type, C>::type,
                               node<Op, A, B, C>>::type;
};

}  // namespace detail

/// The unique nodes of the expressions `Roots...`, children before parents.
template <class... Roots>
using topological_order_t =
    typename detail::visit_all<type_list<>, std::remove_cvref_t<Roots>...>::type;

namespace detail {
template <class List>
struct order_of_list;
template <class... Es>
struct order_of_list<expr_list<Es...>> {
  using type = topological_order_t<Es...>;
};
}  // namespace detail

namespace detail {
/// The inputs of the set `Found` followed by those of `More` not in it.
template <class Found, class More>
struct merge_inputs;
template <class Found, class... Ms>
struct merge_inputs<Found, type_list<Ms...>> {
  using type = join_lists_t<Found, std::conditional_t<contains<Found, Ms>::value, type_list<>, type_list<Ms>>...>;
};
template <class Found, class... Lists>
struct merge_all_inputs {
  using type = Found;
};
template <class Found, class L, class... Rest>
struct merge_all_inputs<Found, L, Rest...> : merge_all_inputs<typename merge_inputs<Found, L>::type, Rest...> {};

/// The input nodes under N, in the order a depth-first walk first meets them (operands left to
/// right). One class per node type, whose result depends on that node only: the compiler
/// memoizes it, so a DAG costs one small merge per unique node, not a walk carrying every node
/// visited so far (as topological_order_t must).
template <class N, bool Leaf = is_input_v<N>>
struct inputs_under {
  using type = type_list<N>;
};
template <class N, class Children = children_t<N>>
struct inputs_of_children;
template <class N, class... Cs>
struct inputs_of_children<N, type_list<Cs...>> : merge_all_inputs<type_list<>, typename inputs_under<Cs>::type...> {};
template <class N>
struct inputs_under<N, false> : inputs_of_children<N> {};
}  // namespace detail

/// The input nodes of the expressions `Roots...`, in the order topological_order_t lists them
/// (a leaf is placed when first met), found without computing the order.
template <class... Roots>
using inputs_t =
    typename detail::merge_all_inputs<type_list<>, typename detail::inputs_under<std::remove_cvref_t<Roots>>::type...>::type;

/// Number of unique nodes (distinct types) in the expressions (or lists of them) `roots...`.
template <class... Roots>
constexpr std::size_t unique_node_count(Roots... roots) {
  return detail::order_of_list<decltype(ctgrad::exprs(roots...))>::type::size;
}

}  // namespace ctgrad
