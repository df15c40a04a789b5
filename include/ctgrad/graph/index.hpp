#pragma once
// ctgrad/graph/index.hpp: positions and consumers of the unique nodes of a graph, built once.
//
//   using order = ctgrad::topological_order_t<decltype(y)>;
//   using g = ctgrad::detail::graph_index<order>;
//   g::place_t<N>::value  // N's place in `order`
//   g::node_at<I>         // the node at place I
//   g::consumers_t<N>     // type_list of the distinct nodes that have N as an operand, in order
//
// Every lookup is one overload resolution among functions declared once per node (the
// compiler's own work, no template instantiated per pair of nodes): a node's place among the
// few nodes of its bucket (graph/buckets.hpp), the node at a place among all of them. The
// consumer lists are computed by a constexpr function over an array of edges. So building the
// index and all its lookups costs template instantiations linear in the number of nodes and
// edges, where scanning `order` for each node's consumers would cost one per pair of nodes.
// Places were first looked up among all nodes too: with one lookup per edge, that is work
// growing with nodes times edges (measured alone on the gradients of the 16-block network of
// benchmarks/compile_scaling, 888 nodes: about 2 s of g++ time, with a wide spread;
// docs/performance.md, section 4a).
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "ctgrad/core/pack.hpp"
#include "ctgrad/expr/node.hpp"
#include "ctgrad/graph/buckets.hpp"

namespace ctgrad::detail {

/// Base class tying node N to place I of a graph's order: two overloads, one found by the node,
/// one by the place.
template <class N, std::size_t I>
struct graph_place {
  static std::integral_constant<std::size_t, I> place(std::type_identity<N>*);
  static std::type_identity<N> node(std::integral_constant<std::size_t, I>*);
};

inline constexpr std::size_t not_in_graph = ~std::size_t{0};

/// One class holding the `node` overloads of every node of the graph. A lookup is one overload
/// resolution over them: the compiler compares the argument type with each candidate's
/// parameter type, which for node types is a cheap identity test. (Deducing I from a base
/// class, `place_of<N>(const graph_place<N, I>*)`, looks the same but makes GCC 12 unify N with
/// every base's node type by structural recursion: 13 s for the 170 nodes of an 8-block
/// network, growing exponentially with depth.)
template <class Seq, class... Ns>
struct graph_places;
template <std::size_t... Is, class... Ns>
struct graph_places<std::index_sequence<Is...>, Ns...> : graph_place<Ns, Is>... {
  using graph_place<Ns, Is>::node...;
};
template <>
struct graph_places<std::index_sequence<>> {};

/// CSR layout of the consumers: those of the node at place i are parent[offset[i]] up to
/// parent[offset[i + 1]] (exclusive), places in increasing order, each parent once.
template <std::size_t Nodes, std::size_t Edges>
struct consumer_table {
  std::array<std::size_t, Nodes + 1> offset{};
  std::array<std::size_t, Edges + 1> parent{};  // + 1: no zero-sized arrays
};

/// The integers of an index_sequence as an array (a name made of integers only).
template <class Seq>
struct sequence_array;
template <std::size_t... I>
struct sequence_array<std::index_sequence<I...>> {
  static constexpr std::array<std::size_t, sizeof...(I)> value{I...};
};

/// The places of one bucket's nodes (graph_place<N, I>...): a lookup is one overload
/// resolution among the few nodes that share the bucket.
template <class Bucket>
struct bucket_places;
template <class... Ps>
struct bucket_places<type_list<Ps...>> : Ps... {
  using Ps::place...;
  static std::integral_constant<std::size_t, not_in_graph> place(const void*);
};
template <>
struct bucket_places<type_list<>> {
  static std::integral_constant<std::size_t, not_in_graph> place(const void*);
};

/// Buckets (graph/buckets.hpp) of graph_place<N, I> for the nodes `Ns...` at places `Is...`,
/// filled sixteen at a time: the nesting of instantiations grows with a sixteenth of the
/// graph, not with the graph (GCC stops at 900).
template <class Buckets, class... Ps>
struct insert_places {
  using type = Buckets;
};
template <class P>
struct place_key;
template <class N, std::size_t I>
struct place_key<graph_place<N, I>> : std::integral_constant<std::size_t, node_key<N>::value % 64> {};
template <class Buckets, class P>
using insert_place_t = bucket_insert_t<Buckets, place_key<P>::value, P>;
template <class Buckets, class P, class... Rest>
struct insert_places<Buckets, P, Rest...> : insert_places<insert_place_t<Buckets, P>, Rest...> {};
template <class B, class P1, class P2, class P3, class P4, class P5, class P6, class P7, class P8, class P9, class P10,
          class P11, class P12, class P13, class P14, class P15, class P16, class... Rest>
struct insert_places<B, P1, P2, P3, P4, P5, P6, P7, P8, P9, P10, P11, P12, P13, P14, P15, P16, Rest...>
    : insert_places<
          insert_place_t<insert_place_t<insert_place_t<insert_place_t<insert_place_t<insert_place_t<insert_place_t<insert_place_t<
              insert_place_t<insert_place_t<insert_place_t<insert_place_t<insert_place_t<insert_place_t<insert_place_t<
                  insert_place_t<B, P1>, P2>, P3>, P4>, P5>, P6>, P7>, P8>, P9>, P10>, P11>, P12>, P13>, P14>, P15>, P16>,
          Rest...> {};
template <class Seq, class... Ns>
struct place_buckets_of;
template <std::size_t... Is, class... Ns>
struct place_buckets_of<std::index_sequence<Is...>, Ns...> : insert_places<empty_buckets, graph_place<Ns, Is>...> {};

/// The place of node N among PlaceBuckets (the buckets of a graph's places), as an
/// std::integral_constant: not_in_graph when N is not a node of the graph.
template <class PlaceBuckets, class N>
using place_in_buckets_t = decltype(bucket_places<bucket_at_t<PlaceBuckets, node_key<N>::value % 64>>::place(
    static_cast<std::type_identity<N>*>(nullptr)));

/// The places of the nodes of the type_list Operands among PlaceBuckets, as an index_sequence.
/// At namespace scope, taking the buckets as one type: a member template of graph_tables would
/// rebuild the graph's pack for each node's operand list (see graph_index).
template <class PlaceBuckets, class Operands>
struct operand_places_in;
template <class PlaceBuckets, class... Cs>
struct operand_places_in<PlaceBuckets, type_list<Cs...>> {
  using type = std::index_sequence<place_in_buckets_t<PlaceBuckets, Cs>::value...>;
};

/// What graph_index needs from the node pack, computed once per graph. Only this class takes
/// the order apart into its nodes; graph_index itself keeps the order as one type.
template <class Order>
struct graph_tables;
template <class... Ns>
struct graph_tables<type_list<Ns...>> {
  using places = graph_places<std::index_sequence_for<Ns...>, Ns...>;
  using place_buckets = typename place_buckets_of<std::index_sequence_for<Ns...>, Ns...>::type;

  static constexpr std::size_t size = sizeof...(Ns);
  static constexpr std::size_t edge_count = sum_of({children_t<Ns>::size..., std::size_t{0}});

  /// The operands of every node by place, edges in node order: those of the node at place i are
  /// operand_places[operand_first[i]] up to operand_places[operand_first[i + 1]] (exclusive).
  static constexpr std::array<std::size_t, size + 1> operand_first = [] {
    std::array<std::size_t, size + 1> f{};
    constexpr std::size_t count[] = {children_t<Ns>::size..., 0};  // braced, not a fold: core/pack.hpp
    for (std::size_t i = 0; i < size; ++i) f[i + 1] = f[i] + count[i];
    return f;
  }();
  static constexpr std::array<std::uint32_t, edge_count + 1> operand_places = [] {
    std::array<std::uint32_t, edge_count + 1> p{};
    std::size_t e = 0;
    const auto add = [&](const auto& operands) {
      for (std::size_t c : operands) p[e++] = static_cast<std::uint32_t>(c);
    };
    in_order({(add(sequence_array<typename operand_places_in<place_buckets, children_t<Ns>>::type>::value), 0)...});
    return p;
  }();

  static constexpr consumer_table<size, edge_count> build() {
    // Edges (child place, parent place), parents in increasing order.
    std::array<std::size_t, edge_count + 1> child{}, parent{};
    std::size_t e = 0;
    for (std::size_t p = 0; p < size; ++p) {
      for (std::size_t k = operand_first[p]; k < operand_first[p + 1]; ++k) {
        child[e] = operand_places[k];
        parent[e] = p;
        ++e;
      }
    }

    // Counting sort by child, stable (so parents stay in order); a parent that has the same
    // operand twice (x * x) is listed once.
    consumer_table<size, edge_count> t{};
    std::array<std::size_t, size + 1> last{};  // last parent placed for each child, + 1
    for (std::size_t k = 0; k < e; ++k) {
      if (last[child[k]] != parent[k] + 1) {
        last[child[k]] = parent[k] + 1;
        ++t.offset[child[k] + 1];
      }
    }
    for (std::size_t i = 0; i < size; ++i) t.offset[i + 1] += t.offset[i];
    std::array<std::size_t, size + 1> fill{};
    for (std::size_t i = 0; i < size; ++i) fill[i] = t.offset[i];
    last = {};
    for (std::size_t k = 0; k < e; ++k) {
      if (last[child[k]] != parent[k] + 1) {
        last[child[k]] = parent[k] + 1;
        t.parent[fill[child[k]]++] = parent[k];
      }
    }
    return t;
  }
};

// Written with types and class templates: GCC 12 mangles the name of every instantiated
// function and variable, and a name with deep node types (or the whole graph) in it costs time
// quadratic in its size; only arrays of integers and declarations used in decltype are named.
//
// The order is one template parameter, never taken apart here: a class template specialized
// on `type_list<Ns...>` makes GCC rebuild the whole pack (an argument vector as long as the
// graph) each time one of its member templates is instantiated, so N lookups would cost N^2.
template <class Order>
struct graph_index {
  using tables = graph_tables<Order>;
  using places = typename tables::places;
  using place_buckets = typename tables::place_buckets;
  static constexpr std::size_t size = tables::size;
  static constexpr std::size_t edge_count = tables::edge_count;

  /// The place of node N in the order, or not_in_graph, as std::integral_constant.
  template <class N>
  using place_t = place_in_buckets_t<place_buckets, N>;

  /// True when N is a node of the graph.
  template <class N>
  using contains_t = std::bool_constant<place_t<N>::value != not_in_graph>;

  /// The node at place I.
  template <std::size_t I>
  using node_at = typename decltype(places::node(static_cast<std::integral_constant<std::size_t, I>*>(nullptr)))::type;

  /// The places of the nodes of a type_list of operands, as an index_sequence.
  template <class Operands>
  using operand_places = operand_places_in<place_buckets, Operands>;

  static constexpr consumer_table<size, edge_count> consumer_places = tables::build();
  /// The operands of every node: those of the node at place i are
  /// operand_list[operand_offsets[i]] up to operand_list[operand_offsets[i + 1]] (exclusive).
  static constexpr const auto& operand_offsets = tables::operand_first;
  static constexpr const auto& operand_list = tables::operand_places;

  template <std::size_t I, class K = std::make_index_sequence<consumer_places.offset[I + 1] - consumer_places.offset[I]>>
  struct consumers_at;
  template <std::size_t I, std::size_t... K>
  struct consumers_at<I, std::index_sequence<K...>> {
    using type = type_list<node_at<consumer_places.parent[consumer_places.offset[I] + K]>...>;
  };

  /// The distinct consumers of the node at place I (nodes with it as an operand), in order.
  template <std::size_t I>
  using consumers_of_place = typename consumers_at<I>::type;

  /// The distinct consumers of node N, in order.
  template <class N>
  using consumers_t = consumers_of_place<place_t<N>::value>;
};

}  // namespace ctgrad::detail
