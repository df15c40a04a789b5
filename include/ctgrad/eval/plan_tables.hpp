#pragma once
// ctgrad/eval/plan_tables.hpp: the graph tables of a plan, computed once per graph.
//
//   node_tables<Order>       the planner's table (planning::node_info per place, operands by
//                            place) of the unique nodes in topological order
//   plan_nodes<Order>        their index, table and types
//   plan_of<Order, Outputs>  the places of the requested expressions and the schedule
//                            (eval/schedule.hpp)
// Only node_tables takes the order apart into its nodes (see graph/index.hpp for why).
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "ctgrad/core/pack.hpp"
#include "ctgrad/eval/schedule.hpp"

namespace ctgrad::detail {

using planning::kind;

/// The planner's table of a graph's nodes (and the executor's per-node constants), computed
/// once per graph. Only this class takes the order apart into its nodes: plan_nodes, plan_of and
/// the executor keep it as one type, because GCC rebuilds the whole pack (an argument vector as
/// long as the graph) each time a member template of a class specialized on `type_list<Ns...>`
/// is instantiated (see graph/index.hpp).
template <class Order>
struct node_tables;
template <class... Ns>
struct node_tables<type_list<Ns...>> {
  using index_t = graph_index<type_list<Ns...>>;
  static constexpr const auto& operand_first = index_t::operand_offsets;
  static constexpr const auto& operand_places = index_t::operand_list;
  static constexpr std::array<planning::node_info, sizeof...(Ns)> info = planning::with_places(
      std::array<planning::node_info, sizeof...(Ns)>{planning::info_base<Ns>::value...}, operand_first, operand_places);
};

/// The node types of a plan, their table and their schedule.
template <class Order>
struct plan_nodes {
  using index_t = graph_index<Order>;
  using tables = node_tables<Order>;
  static constexpr std::size_t size = index_t::size;
  static constexpr const auto& info = tables::info;
  template <std::size_t I>
  using type = typename index_t::template node_at<I>;
};

/// The places of the requested expressions.
template <class Index, class Outputs>
struct output_places;
template <class Index, class... Es>
struct output_places<Index, type_list<Es...>> {
  static constexpr std::array<std::uint32_t, sizeof...(Es)> value{
      static_cast<std::uint32_t>(Index::template place_t<Es>::value)...};
};

template <class Order, class Outputs>
struct plan_of {
  using nodes = plan_nodes<Order>;
  static constexpr const auto& outputs = output_places<typename nodes::index_t, Outputs>::value;
  static constexpr planning::schedule<nodes::size> sched = planning::make_schedule(nodes::info, outputs);

  /// What loop L reads from memory: inputs, counts and buffers, found through the fused nodes
  /// of its members. A buffer its own loop computes is read back at the same index, after the
  /// member that writes it (members run in topological order), so it is computed once.
  template <std::uint32_t L>
  static constexpr auto leaves() {
    constexpr std::size_t N = nodes::size;
    constexpr auto walk = [](std::array<bool, N>& leaf) {
      std::array<bool, N> seen{};
      std::array<std::uint32_t, N * planning::max_arity + 1> stack{};
      std::size_t top = 0;
      for (std::uint32_t i = 0; i < N; ++i) {
        if (!(sched.member[i] && sched.loop[i] == L)) continue;
        const auto& n = nodes::info[i];
        for (std::uint32_t c = 0; c < n.arity; ++c) stack[top++] = n.child[c];
      }
      while (top > 0) {
        const std::uint32_t c = stack[--top];
        if (seen[c]) continue;
        seen[c] = true;
        const auto& n = nodes::info[c];
        if (n.k == kind::constant) continue;
        if (n.k == kind::input || n.k == kind::count || sched.buffer[c]) {
          leaf[c] = true;
          continue;
        }
        for (std::uint32_t a = 0; a < n.arity; ++a) stack[top++] = n.child[a];
      }
    };
    constexpr std::size_t count = [&] {
      std::array<bool, N> leaf{};
      walk(leaf);
      std::size_t c = 0;
      for (bool b : leaf) c += b;
      return c;
    }();
    std::array<bool, N> leaf{};
    walk(leaf);
    std::array<std::uint32_t, count> out{};
    std::size_t k = 0;
    for (std::uint32_t i = 0; i < N; ++i)
      if (leaf[i]) out[k++] = i;
    return out;
  }

  template <std::uint32_t L, std::size_t... I>
  static auto leaf_types(std::index_sequence<I...>) -> type_list<typename nodes::template type<leaves<L>()[I]>...>;

  template <std::uint32_t L>
  using leaves_t = decltype(leaf_types<L>(std::make_index_sequence<leaves<L>().size()>{}));
};

}  // namespace ctgrad::detail
