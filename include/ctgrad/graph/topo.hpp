#pragma once
// ctgrad/graph/topo.hpp: the unique nodes of a set of expressions in topological order.
//
//   auto x = ctgrad::input<"x", 1>;
//   auto e = ctgrad::exp(x) * ctgrad::exp(x);
//   static_assert(ctgrad::unique_node_count(e) == 3);   // x, exp(x), exp(x) * exp(x)
//
// A depth-first search with a visited set: each unique node is expanded once, so the work
// grows with the number of edges of the DAG, never with the number of paths through it. The
// order is the search's post-order: operands left to right, each node after its operands.
//
// What a compiler pays for here is template instantiations and the length of their argument
// lists, so the search's state is kept small per step:
// - the visited set is split into 64 buckets by a structural key of each node
//   (graph/buckets.hpp), so asking whether a node was seen folds over one bucket, not over
//   every node visited so far;
// - the order found so far is kept as chunks of 32 nodes, so recording a node copies at most
//   a chunk, not the whole order, and is flattened once at the end.
// Measured with GCC 12 -O2 on the gradients of the 16-block network of
// benchmarks/compile_scaling (888 unique nodes; docs/performance.md, section 4a): one visited
// list folded over at each step, as before, made their sort cost about 3.4 s of compile time
// (0.7 s now); std::is_same_v per pair took 42 s already at 8 blocks, a visited
// set kept as a chain of base classes queried with std::is_base_of 18 s.
#include <cstddef>
#include <type_traits>

#include "ctgrad/core/pack.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/expr/reduction.hpp"
#include "ctgrad/graph/buckets.hpp"

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

// ---- The order found so far: full chunks (newest first) and the chunk being filled --------

inline constexpr std::size_t order_chunk = 32;
template <class Head, class Tail>
struct chunk_cons {};
struct no_chunks {};

/// The search's state: the order so far (Chunks, Current) and the visited nodes in buckets
/// (graph/buckets.hpp).
template <class Chunks, class Current, class Buckets>
struct search_state {};
using initial_state = search_state<no_chunks, type_list<>, empty_buckets>;

template <class State, class N, std::size_t K = node_key<N>::value % 64>
struct seen_before;
template <class Chunks, class Current, class Buckets, class N, std::size_t K>
struct seen_before<search_state<Chunks, Current, Buckets>, N, K>
    : contains<bucket_at_t<Buckets, K>, N> {};

template <class State, class N, std::size_t K = node_key<N>::value % 64>
struct record;
template <class Chunks, class... Current, class Buckets, class N, std::size_t K>
struct record<search_state<Chunks, type_list<Current...>, Buckets>, N, K> {
  using buckets = bucket_insert_t<Buckets, K, N>;
  // (no static member here: GCC would emit and mangle one per record, a name as long as the state)
  using type = std::conditional_t<sizeof...(Current) + 1 == order_chunk, search_state<chunk_cons<type_list<Current..., N>, Chunks>, type_list<>, buckets>,
                                  search_state<Chunks, type_list<Current..., N>, buckets>>;
};

// Instantiation depth: GCC stops at 900 nested instantiations, and a search nests one visit per
// node on its path. So a node's operands are visited one after another from within the node's
// own visit (`visit<visit<V, A>::type, B>`: each nested once, not once per operand as a
// recursion over the operand list would), and lists of roots four at a time. Before, the
// gradients of the 16-block network of benchmarks/compile_scaling nested past the limit, and
// GCC's error, printing the deep types as trees, then exhausted the memory.
template <class State, class Node, bool Seen = seen_before<State, Node>::value>
struct visit;
template <class State, class... Nodes>
struct visit_all {
  using type = State;
};
template <class State, class N, class... Rest>
struct visit_all<State, N, Rest...> {
  using type = typename visit_all<typename visit<State, N>::type, Rest...>::type;
};
template <class State, class N1, class N2, class N3, class N4, class... Rest>
struct visit_all<State, N1, N2, N3, N4, Rest...> {
  using type = typename visit_all<
      typename visit<typename visit<typename visit<typename visit<State, N1>::type, N2>::type, N3>::type, N4>::type,
      Rest...>::type;
};
template <class State, class Children>
struct visit_children;
template <class State, class... Cs>
struct visit_children<State, type_list<Cs...>> : visit_all<State, Cs...> {};

template <class State, class Node>
struct visit<State, Node, true> {
  using type = State;
};
// leaves and nodes of four or more operands
template <class State, class Node>
struct visit<State, Node, false> {
  using type = typename record<typename visit_children<State, children_t<Node>>::type, Node>::type;
};
template <class State, class Op, class A>
struct visit<State, node<Op, A>, false> {
  using type = typename record<typename visit<State, A>::type, node<Op, A>>::type;
};
template <class State, class Op, class A, class B>
struct visit<State, node<Op, A, B>, false> {
  using type = typename record<typename visit<typename visit<State, A>::type, B>::type, node<Op, A, B>>::type;
};
template <class State, class Op, class A, class B, class C>
struct visit<State, node<Op, A, B, C>, false> {
  using type = typename record<typename visit<typename visit<typename visit<State, A>::type, B>::type, C>::type,
                               node<Op, A, B, C>>::type;
};

/// The order a finished search found: its chunks oldest first, then the last one.
template <class Chunks, class Oldest>
struct chunks_oldest_first;
template <class Oldest>
struct chunks_oldest_first<no_chunks, Oldest> {
  using type = Oldest;
};
template <class Head, class Tail, class... Ls>
struct chunks_oldest_first<chunk_cons<Head, Tail>, type_list<Ls...>>
    : chunks_oldest_first<Tail, type_list<Head, Ls...>> {};
template <class State>
struct found_order;
template <class Chunks, class Current, class Buckets>
struct found_order<search_state<Chunks, Current, Buckets>> {
  template <class Lists>
  struct joined;
  template <class... Ls>
  struct joined<type_list<Ls...>> {
    using type = join_lists_t<Ls..., Current>;
  };
  using type = typename joined<typename chunks_oldest_first<Chunks, type_list<>>::type>::type;
};

}  // namespace detail

/// The unique nodes of the expressions `Roots...`, children before parents.
template <class... Roots>
using topological_order_t =
    typename detail::found_order<typename detail::visit_all<detail::initial_state, std::remove_cvref_t<Roots>...>::type>::type;

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
