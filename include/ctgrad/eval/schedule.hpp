#pragma once
// ctgrad/eval/schedule.hpp: the compile-time evaluation plan of a set of expressions.
//
// Input: the unique nodes of the requested expressions in topological order, and which of them
// are requested. Output (a constexpr value): which nodes get a buffer, and a sequence of loops,
// each over one iteration domain, computing several nodes at once. plan.hpp runs it.
//
// The rules, and why:
//   - A reduction needs its whole operand before anyone can read it, so it is a barrier: the
//     loops form *passes*, and a node that reads a reduction computed in pass p runs in a pass
//     after p. Nodes are placed as late as their readers allow (as-late-as-possible scheduling),
//     which puts, for batch norm, y with dx and the sums of dy with those of dy * xhat: every
//     reduction over the same operands and axes in the same pass shares one loop.
//   - Elementwise work is fused into the loop that reads it and recomputed there: a few flops
//     cost less than writing and re-reading a buffer. It gets a buffer only when it is read
//     under a broadcast (it would be recomputed for every element of the bigger loop: 1/sqrt of
//     a variance, per feature), or when it holds a costly function (exp, log, tanh, sqrt) and
//     has several readers.
//   - Loops of one pass merge when their iteration domains are provably equal: same static
//     shape and the same *axis classes*, i.e. their extents come from the same input axes
//     (linked by broadcasting, which the run-time shape check makes equal). Loops of
//     different domains in one pass run smaller-first where one reads what the other computes.
// All of it is computed by constexpr functions over a table of the nodes (arrays indexed by
// topological position), so the planning cost grows with the number of unique nodes.
#include <array>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>

#include "ctgrad/expr/list.hpp"
#include "ctgrad/expr/reduction.hpp"
#include "ctgrad/expr/reshape.hpp"
#include "ctgrad/graph/index.hpp"

namespace ctgrad::detail::planning {

enum class kind : std::uint8_t { input, constant, count, reduction, index_map, broadcast, elementwise, contraction, reshape };

inline constexpr std::uint32_t npos = 0xffffffffU;
inline constexpr std::size_t max_arity = 4;
/// An elementwise node whose fused subtree costs at least this much (a transcendental function
/// costs 10, see unary_function_base) gets a buffer when it has several readers.
inline constexpr int costly = 10;

/// What the planner needs to know about one node.
struct node_info {
  kind k = kind::input;
  std::uint32_t arity = 0;                          // operands whose values are read
  std::array<std::uint32_t, max_arity> child{};     // their topological positions
  std::uint32_t shape_child = npos;                 // an operand read for its shape only
  static_shape shape{};
  int cost = 1;                                     // rough cost of the op, per element
  bool exact = false;                               // a reduction whose operand is stored once (op_traits::exact_operand)
  std::array<int, max_rank> from_axis{};            // index maps: operand axis of each axis (-1: none)
  subscripts letters{};                             // contractions: the letters of operands and result
  std::array<int, max_rank> extent_rule{};          // reshape: n > 0 that extent, 0 the operand's, -1 inferred
  bool like = false;                                // reshape: takes the extents of a shape-only operand
};

/// An op's planner cost (op_traits: `costly` for ops that do not say: users' own ops are
/// computed once into a buffer when several nodes read them, rather than recomputed).
template <class Op>
inline constexpr int op_cost_v = op_traits<Op>::cost;

/// The planner's kind of an operation's nodes, from its category.
constexpr kind kind_of_category(op_category c) {
  switch (c) {
    case op_category::reduction: return kind::reduction;
    case op_category::index_map: return kind::index_map;
    case op_category::broadcast: return kind::broadcast;
    case op_category::shape_function: return kind::count;
    case op_category::contraction: return kind::contraction;
    case op_category::reshape: return kind::reshape;
    case op_category::elementwise: break;
  }
  return kind::elementwise;
}
template <class Op>
inline constexpr kind op_kind_v = planning::kind_of_category(op_traits<Op>::category);

// Facts about node N are class templates deriving from a class named by small values (the
// op, shapes): GCC 12 emits, and mangles the name of, every variable template instance and
// every static data member of an instantiated class, and the cost of a name grows faster than
// linearly with the node types in it, so nothing below is a variable named by N.

/// The kind of node N (as std::integral_constant).
template <class N>
struct kind_of : std::integral_constant<kind, kind::input> {};
template <rational V>
struct kind_of<constant_node<V>> : std::integral_constant<kind, kind::constant> {};
template <class Op, class... Args>
struct kind_of<node<Op, Args...>> : std::integral_constant<kind, op_kind_v<Op>> {};
template <class N>
inline constexpr kind kind_v = kind_of<N>::value;

inline constexpr std::array<int, max_rank> no_source_axes = [] {
  std::array<int, max_rank> a{};
  for (auto& v : a) v = -1;
  return a;
}();

/// The planner's view of a node without its operands' places, named by what it is made of
/// (kind, arity, shape, cost, and for index maps the op and the operand's shape).
template <kind K, std::uint32_t Arity, static_shape S, int Cost, bool Exact = false, class MapOp = void,
          static_shape A = static_shape{}>
struct info_value {
  static constexpr node_info value{K, Arity, {}, npos, S, Cost, Exact, no_source_axes};
};
template <kind K, std::uint32_t Arity, static_shape S, int Cost, bool Exact, class MapOp, static_shape A>
  requires(!std::is_void_v<MapOp>)
struct info_value<K, Arity, S, Cost, Exact, MapOp, A> {
  static constexpr node_info value{K, Arity, {}, npos, S, Cost, Exact, MapOp::template source_axes<detail::shape_stub<A>>()};
};

/// A contraction's view, named by its letters.
template <static_shape S, subscripts L, int Cost>
struct contraction_info_value {
  static constexpr node_info value{kind::contraction, static_cast<std::uint32_t>(L.operands), {}, npos, S, Cost, false,
                                   no_source_axes, L};
};

/// A reshape's view, named by its extent rules (or `Like`: the extents of its shape operand).
template <static_shape S, std::array<int, max_rank> Rule, bool Like>
struct reshape_info_value {
  static constexpr node_info value{kind::reshape, 1U, {}, npos, S, 1, false, no_source_axes, subscripts{}, Rule, Like};
};

template <class Op, class... Args>
struct info_of_node {
  static_assert(sizeof...(Args) <= max_arity, "ctgrad: an operation has more operands than the evaluator supports");
  static constexpr kind k = op_kind_v<Op>;
  using type = info_value<k, k == kind::count ? 0U : (k == kind::broadcast ? 1U : static_cast<std::uint32_t>(sizeof...(Args))),
                          node<Op, Args...>::shape, op_cost_v<Op>, op_traits<Op>::exact_operand>;
};
template <class Op, class A>
  requires(op_traits<Op>::category == op_category::index_map)
struct info_of_node<Op, A> {
  using type = info_value<kind::index_map, 1U, node<Op, A>::shape, op_cost_v<Op>, false, Op, A::shape>;
};
template <class Op, class... Args>
  requires(op_traits<Op>::category == op_category::reshape)
struct info_of_node<Op, Args...> {
  using type = reshape_info_value<node<Op, Args...>::shape, Op::extent_rule, sizeof...(Args) == 2>;
};
template <class Op, class... Args>
  requires(op_traits<Op>::category == op_category::contraction)
struct info_of_node<Op, Args...> {
  using type = contraction_info_value<node<Op, Args...>::shape, Op::letters, op_cost_v<Op>>;
};

/// The planner's view of node N without its operands' places (`::value`): with_places() fills
/// the places in from one array for the whole graph.
template <class N>
struct info_base : info_value<kind_v<N>, 0, N::shape, 1> {};
template <class Op, class... Args>
struct info_base<node<Op, Args...>> : info_of_node<Op, Args...>::type {};

/// `info` (from info_base) with the places of every node's operands:
/// the operands of node i are places[first[i]] up to places[first[i + 1]], in order.
template <std::size_t S, std::size_t E>
constexpr std::array<node_info, S> with_places(std::array<node_info, S> info, const std::array<std::size_t, S + 1>& first,
                                               const std::array<std::uint32_t, E>& places) {
  for (std::size_t i = 0; i < S; ++i) {
    node_info& n = info[i];
    const std::size_t b = first[i], count = first[i + 1] - first[i];
    if (count == 0) continue;
    std::array<std::uint32_t, max_arity> pos{};
    for (std::size_t k = 0; k < count && k < max_arity; ++k) pos[k] = places[b + k];
    if (n.k == kind::count) {
      n.shape_child = pos[0];
    } else {
      n.child = pos;
      if (n.k == kind::broadcast || (n.k == kind::reshape && n.like)) n.shape_child = pos[1];
    }
  }
  return info;
}

// -- the schedule -----------------------------------------------------------------------------

/// One loop: its pass, its order inside the pass, the node whose shape it iterates over, and
/// whether it is a step (a copy through an index map, a contraction) rather than a fused loop.
struct loop_info {
  int pass = 0;
  int sub = 0;
  std::uint32_t domain = 0;
  bool copy = false;  // a step: see is_step
  std::uint32_t first_member = 0;  // the member that opened the loop (loops are ordered by pass, sub, first member)
};

template <std::size_t N>
struct schedule {
  std::array<bool, N> buffer{};      // has its own storage (reductions, index maps, some elementwise)
  std::array<bool, N> member{};      // computed by a loop (buffered, or requested and fused)
  std::array<bool, N> requested{};
  std::array<int, N> pass{};
  std::array<int, N> sub{};
  std::array<std::uint32_t, N> loop{};  // the loop computing a member
  std::array<std::uint32_t, N> domain{};  // the node whose shape a member's loop iterates over
  std::array<loop_info, N> loops{};  // in execution order
  std::uint32_t loop_count = 0;
  int passes = 0;
  // axis classes: class_of[node * max_rank + axis], the representative input axis
  std::array<std::uint32_t, N * max_rank> axis_class{};
};

inline constexpr int never = 1 << 28;

/// Nodes computed by a step of their own rather than in a fused loop: copies through index maps
/// contractions and reshapes. Their operands are read from memory (leaves).
constexpr bool is_step(kind k) { return k == kind::index_map || k == kind::contraction || k == kind::reshape; }

template <std::size_t N>
constexpr std::uint32_t find_root(std::array<std::uint32_t, N * max_rank>& parent, std::uint32_t a) {
  while (parent[a] != a) {
    parent[a] = parent[parent[a]];
    a = parent[a];
  }
  return a;
}

/// True when two loop domains are provably the same at run time.
template <std::size_t N>
constexpr bool same_domain(const std::array<node_info, N>& info, const schedule<N>& s, std::uint32_t a, std::uint32_t b) {
  if (!(info[a].shape == info[b].shape)) return false;
  for (std::size_t ax = 0; ax < info[a].shape.rank; ++ax)
    if (!info[a].shape.is_unit(ax) && s.axis_class[a * max_rank + ax] != s.axis_class[b * max_rank + ax]) return false;
  return true;
}

/// The loop domain of member i: its operand's shape for a reduction, its own otherwise.
template <std::size_t N>
constexpr std::uint32_t domain_of(const std::array<node_info, N>& info, std::uint32_t i) {
  return info[i].k == kind::reduction ? info[i].child[0] : i;
}

template <std::size_t N, std::size_t K>
constexpr schedule<N> make_schedule(const std::array<node_info, N>& info, const std::array<std::uint32_t, K>& outputs) {
  schedule<N> s{};
  for (std::uint32_t o : outputs) s.requested[o] = true;

  // 1. Axis classes (union-find over node axes): an axis of a node is linked to the axes of
  //    its operands it is computed from; a class is the set of axes that must have one extent.
  std::array<std::uint32_t, N * max_rank> parent{};
  for (std::uint32_t a = 0; a < N * max_rank; ++a) parent[a] = a;
  auto unite = [&](std::uint32_t a, std::uint32_t b) {
    a = planning::find_root<N>(parent, a);
    b = planning::find_root<N>(parent, b);
    if (a != b) parent[a < b ? b : a] = a < b ? a : b;
  };
  for (std::uint32_t i = 0; i < N; ++i) {
    const node_info& n = info[i];
    const std::size_t R = n.shape.rank;
    auto link_aligned = [&](std::uint32_t c) {  // right-aligned operand axes
      const std::size_t r = info[c].shape.rank;
      for (std::size_t ax = 0; ax < r && ax < R + r; ++ax) {
        if (ax + R < r) continue;
        const std::size_t to = ax + R - r;
        if (!info[c].shape.is_unit(ax) && !n.shape.is_unit(to)) unite(i * max_rank + to, c * max_rank + ax);
      }
    };
    switch (n.k) {
      case kind::input: case kind::constant: case kind::count: break;
      case kind::index_map:
        for (std::size_t ax = 0; ax < R; ++ax)
          if (n.from_axis[ax] >= 0 && !n.shape.is_unit(ax))
            unite(i * max_rank + ax, n.child[0] * max_rank + static_cast<std::uint32_t>(n.from_axis[ax]));
        break;
      case kind::broadcast: link_aligned(n.child[0]); link_aligned(n.shape_child); break;
      case kind::reshape:
        if (n.like) {
          link_aligned(n.shape_child);  // the extents of the shape operand, exactly
        } else {
          for (std::size_t ax = 0; ax < R; ++ax)
            if (n.extent_rule[ax] == 0 && !n.shape.is_unit(ax)) unite(i * max_rank + ax, n.child[0] * max_rank + ax);
        }
        break;
      case kind::contraction: {
        // axes with one letter: of the result and the operands, and of the two operands
        auto link_letter = [&](char letter, std::uint32_t node, std::size_t axis) {
          for (std::uint32_t c = 0; c < n.arity; ++c)
            for (std::size_t j = 0; j < n.letters.rank[c]; ++j)
              if (n.letters.letter[c][j] == letter && !info[n.child[c]].shape.is_unit(j))
                unite(node * max_rank + static_cast<std::uint32_t>(axis), n.child[c] * max_rank + static_cast<std::uint32_t>(j));
        };
        for (std::size_t ax = 0; ax < R; ++ax)
          if (!n.shape.is_unit(ax)) link_letter(n.letters.letter[subscripts::result][ax], i, ax);
        for (std::size_t j = 0; n.arity > 0 && j < n.letters.rank[0]; ++j)
          if (!info[n.child[0]].shape.is_unit(j)) link_letter(n.letters.letter[0][j], n.child[0], j);
        break;
      }
      default:
        for (std::uint32_t c = 0; c < n.arity; ++c) link_aligned(n.child[c]);
    }
  }
  for (std::uint32_t a = 0; a < N * max_rank; ++a) s.axis_class[a] = planning::find_root<N>(parent, a);

  // 2. Buffers. Readers and the shape each reads a node under.
  std::array<int, N> uses{};
  std::array<bool, N> under_broadcast{};
  std::array<bool, N> under_index_map{};  // or under a contraction: read from memory by a copy step
  std::array<bool, N> under_exact{};  // the operand of a max or min: stored once when read again, so
                                      // that a reverse rule comparing it with the extremum sees the
                                      // very values the reduction saw (float loops round differently)
  for (std::uint32_t i = 0; i < N; ++i) {
    const node_info& n = info[i];
    for (std::uint32_t c = 0; c < n.arity; ++c) {
      const std::uint32_t ch = n.child[c];
      ++uses[ch];
      if (n.exact) under_exact[ch] = true;
      if (planning::is_step(n.k)) under_index_map[ch] = true;
      else if (n.k != kind::reduction && !(info[ch].shape == n.shape)) under_broadcast[ch] = true;
    }
  }
  for (std::uint32_t o : outputs) ++uses[o];
  std::array<int, N> fused_cost{};
  for (std::uint32_t i = 0; i < N; ++i) {
    const node_info& n = info[i];
    if (n.k == kind::reduction || planning::is_step(n.k)) {
      s.buffer[i] = true;
    } else if (n.k == kind::elementwise || n.k == kind::broadcast) {
      int c = n.cost;
      for (std::uint32_t a = 0; a < n.arity; ++a)
        if (!s.buffer[n.child[a]] && (info[n.child[a]].k == kind::elementwise || info[n.child[a]].k == kind::broadcast))
          c += fused_cost[n.child[a]];
      fused_cost[i] = c;
      s.buffer[i] = (n.k == kind::elementwise && (under_broadcast[i] || (uses[i] >= 2 && (c >= costly || under_exact[i])))) ||
                    under_index_map[i];
    }
    s.member[i] = s.buffer[i] || (s.requested[i] && (n.k == kind::elementwise || n.k == kind::broadcast));
  }

  // 3. Passes, as soon as possible: avail = the first pass in which a node's value can be read.
  std::array<int, N> avail{};
  int last = 0;
  for (std::uint32_t i = 0; i < N; ++i) {
    const node_info& n = info[i];
    int a = 0;
    for (std::uint32_t c = 0; c < n.arity; ++c) a = avail[n.child[c]] > a ? avail[n.child[c]] : a;
    avail[i] = n.k == kind::reduction ? a + 1 : a;
    if (s.requested[i] && a > last) last = a;
  }
  s.passes = last + 1;

  // 4. ... then as late as the readers allow (reverse topological order): read[i] is the first
  //    pass in which some reader reads node i.
  std::array<int, N> read{};
  for (auto& r : read) r = never;
  for (std::uint32_t k = N; k-- > 0;) {
    const node_info& n = info[k];
    int at = read[k];
    if (s.member[k] && !s.requested[k] && read[k] == never) {
      s.member[k] = s.buffer[k] = false;  // read for its shape only: its values are never needed
    } else if (s.member[k]) {
      int p = s.requested[k] ? last : never;
      if (n.k == kind::reduction) p = (read[k] - 1) < p ? read[k] - 1 : p;
      else p = read[k] < p ? read[k] : p;
      s.pass[k] = p;
      at = p;
    }
    for (std::uint32_t c = 0; c < n.arity; ++c) read[n.child[c]] = at < read[n.child[c]] ? at : read[n.child[c]];
  }

  // 5. Order inside a pass: a member that reads a buffer computed in its own pass by a loop
  //    over another domain (or by a copy) runs in a later sub-step. Readers are found through
  //    the fused nodes between them (a depth-first walk per member). Sub-steps are first
  //    assigned as soon as possible, then as late as the readers allow, so that members nobody
  //    in the pass waits for join the last loop over their domain.
  for (std::uint32_t i = 0; i < N; ++i)
    if (s.member[i]) s.domain[i] = planning::domain_of(info, i);
  auto gap = [&](std::uint32_t c, std::uint32_t i) {
    const bool merged = !planning::is_step(info[i].k) && !planning::is_step(info[c].k) &&
                        planning::same_domain(info, s, s.domain[c], s.domain[i]);
    return merged ? 0 : 1;
  };
  // Calls f(c) for every buffer c computed in member i's pass that i's loop reads. The walk's
  // arrays are made once and only the entries it touched are reset: zeroing N-long arrays per
  // member made this step quadratic in the graph (Clang's default constexpr step limit stopped
  // a 16-block network here).
  std::array<bool, N> seen{};
  std::array<std::uint32_t, N> touched{};
  std::array<std::uint32_t, N * max_arity + 1> stack{};
  auto for_each_dependency = [&](std::uint32_t i, auto&& f) {
    std::size_t top = 0, touched_count = 0;
    for (std::uint32_t c = 0; c < info[i].arity; ++c) stack[top++] = info[i].child[c];
    while (top > 0) {
      const std::uint32_t c = stack[--top];
      if (seen[c]) continue;
      seen[c] = true;
      touched[touched_count++] = c;
      if (s.buffer[c] || info[c].k == kind::input || info[c].k == kind::constant || info[c].k == kind::count) {
        if (s.buffer[c] && info[c].k != kind::reduction && s.pass[c] == s.pass[i]) f(c);
        continue;
      }
      for (std::uint32_t a = 0; a < info[c].arity; ++a) stack[top++] = info[c].child[a];
    }
    for (std::size_t t = 0; t < touched_count; ++t) seen[touched[t]] = false;
  };
  std::array<int, N> max_sub{};  // per pass
  for (std::uint32_t i = 0; i < N; ++i) {
    if (!s.member[i]) continue;
    int sub = 0;
    for_each_dependency(i, [&](std::uint32_t c) {
      const int need = s.sub[c] + gap(c, i);
      sub = need > sub ? need : sub;
    });
    s.sub[i] = sub;
    const auto p = static_cast<std::size_t>(s.pass[i]);
    max_sub[p] = sub > max_sub[p] ? sub : max_sub[p];
  }
  for (std::uint32_t i = 0; i < N; ++i)
    if (s.member[i]) s.sub[i] = max_sub[static_cast<std::size_t>(s.pass[i])];
  for (std::uint32_t i = N; i-- > 0;) {
    if (!s.member[i]) continue;
    for_each_dependency(i, [&](std::uint32_t c) {
      const int latest = s.sub[i] - gap(c, i);
      s.sub[c] = latest < s.sub[c] ? latest : s.sub[c];
    });
  }
  // Loops: members of one pass, sub-step and domain share one. The members are first sorted
  // by (pass, sub-step), stably (two counting sorts), so that a member is compared only with
  // the loops of its own group and the loops come out in execution order: by pass, then
  // sub-step, then first member. (Comparing each member with every loop made so far, then
  // sorting, was quadratic in the graph.)
  std::array<std::uint32_t, N> by_sub{}, grouped{};
  std::uint32_t member_count = 0;
  {
    std::array<std::uint32_t, N + 1> start{};
    for (std::uint32_t i = 0; i < N; ++i)
      if (s.member[i]) ++start[static_cast<std::size_t>(s.sub[i]) + 1];
    for (std::size_t v = 0; v < N; ++v) start[v + 1] += start[v];
    for (std::uint32_t i = 0; i < N; ++i)
      if (s.member[i]) by_sub[start[static_cast<std::size_t>(s.sub[i])]++] = i;
    member_count = start[N];
    start = {};
    for (std::uint32_t k = 0; k < member_count; ++k) ++start[static_cast<std::size_t>(s.pass[by_sub[k]]) + 1];
    for (std::size_t v = 0; v < N; ++v) start[v + 1] += start[v];
    for (std::uint32_t k = 0; k < member_count; ++k) grouped[start[static_cast<std::size_t>(s.pass[by_sub[k]])]++] = by_sub[k];
  }
  std::uint32_t count = 0, group_first = 0;  // group_first: the first loop of the current group
  for (std::uint32_t k = 0; k < member_count; ++k) {
    const std::uint32_t i = grouped[k];
    if (k == 0 || s.pass[grouped[k - 1]] != s.pass[i] || s.sub[grouped[k - 1]] != s.sub[i]) group_first = count;
    const bool copy = planning::is_step(info[i].k);
    std::uint32_t l = group_first;
    for (; l < count; ++l)
      if (!copy && !s.loops[l].copy && planning::same_domain(info, s, s.loops[l].domain, s.domain[i])) break;
    if (l == count) s.loops[count++] = loop_info{s.pass[i], s.sub[i], s.domain[i], copy, i};
    s.loop[i] = l;
  }
  s.loop_count = count;
  return s;
}

}  // namespace ctgrad::detail::planning
