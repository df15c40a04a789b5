#pragma once
// ctgrad/eval/loops.hpp: the loop descriptions of a plan.
//
// From the schedule, each fused loop is described by small types the kernel (eval/kernel.hpp)
// is instantiated with: its leaves (what it reads from memory, and how: input, buffer,
// accumulator-type values, a count's value), its members (fused expressions over leaf
// positions, constants and ops; a reduction or a store), their strides. The per-node state of
// a run (node_data) and the per-node constants the executor reads at run time (flat::) live
// here too. Names grow with one loop's fused subtree, never with the whole graph.
#include <array>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ctgrad/eval/bind.hpp"
#include "ctgrad/eval/kernel.hpp"
#include "ctgrad/eval/plan_tables.hpp"

// Clang reports loops the fused kernel asked to vectorize but could not (an in-order sum, a
// select it will not if-convert) at the innermost code inlined into them, which may be here:
// warnings a user cannot act on, silenced as in eval/kernel.hpp.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

namespace ctgrad::detail {

/// Per node, what a run keeps besides its extents and strides: for an input, the bound data;
/// for a node with a buffer, its values; for a reduction, also its sums in the accumulator
/// type; for a count, its value, held in the accumulator type (a count of float data held in
/// float is exact only up to 2^24: a mean over 2^24 + 1 elements was off by one part in 2^24).
template <class T>
struct node_data {
  const T* input = nullptr;
  std::vector<T> storage;
  std::vector<accumulator_t<T>> acc;
  accumulator_t<T> scalar{};
};

/// The executor keeps its per-node state in arrays indexed by topological position, and does
/// its per-node work (shapes, buffers) in loops over the planner's table at run time: a
/// function per node would be named by the executor (every node) and cost GCC's mangler time
/// growing with the square of the graph's size, per node. What needs a node's type at compile
/// time (its binding, its text in an error message) is named by that node only.
namespace flat {

/// Where the extents and strides of the node at each place start in one array of all of them.
template <std::size_t S>
constexpr std::array<std::size_t, S + 1> rank_offsets(const std::array<planning::node_info, S>& info) {
  std::array<std::size_t, S + 1> off{};
  for (std::size_t i = 0; i < S; ++i) off[i + 1] = off[i] + info[i].shape.rank;
  return off;
}

/// Nodes whose values exist in the accumulator type: sums, and buffers of loops that compute
/// in it (see executor::precise).
template <std::size_t S>
constexpr std::array<bool, S> acc_table(const std::array<planning::node_info, S>& info,
                                        const planning::schedule<S>& sched) {
  std::array<bool, S> t{};
  for (std::size_t i = 0; i < S; ++i) {
    const auto& l = sched.loops[sched.loop[i]];
    const bool precise = !l.copy && info[l.domain].shape.unit_mask != 0;
    t[i] = info[i].k == planning::kind::reduction || (sched.buffer[i] && sched.member[i] && precise);
  }
  return t;
}

template <std::size_t S>
constexpr std::size_t count_kind(const std::array<planning::node_info, S>& info, planning::kind k) {
  std::size_t c = 0;
  for (const auto& n : info) c += n.k == k;
  return c;
}
template <std::size_t C, std::size_t S>
constexpr std::array<std::size_t, C> places_of_kind(const std::array<planning::node_info, S>& info, planning::kind k) {
  std::array<std::size_t, C> p{};
  std::size_t c = 0;
  for (std::size_t i = 0; i < S; ++i)
    if (info[i].k == k) p[c++] = i;
  return p;
}

/// The value of a constant node, zero for the others.
template <class N>
struct constant_of {
  static constexpr rational value{0};
};
template <rational V>
struct constant_of<constant_node<V>> {
  static constexpr rational value = V;
};

/// The axes a count multiplies the extents of, as a bit mask.
template <class List>
constexpr std::uint32_t axes_mask(const List& axes) {
  std::uint32_t m = 0;
  for (std::size_t a : axes) m |= std::uint32_t{1} << a;
  return m;
}
/// The axes node N counts (0 for other nodes), as std::integral_constant: named by the op, not
/// by N (a variable per node would be given a mangled name holding N by GCC 12).
template <class Op, bool Count = planning::op_kind_v<Op> == planning::kind::count>
struct count_axes_of_op : std::integral_constant<std::uint32_t, 0> {};
template <class Op>
struct count_axes_of_op<Op, true> : std::integral_constant<std::uint32_t, axes_mask(Op::axes_list())> {};
template <class N>
struct count_axes_of : std::integral_constant<std::uint32_t, 0> {};
/// The operands node N divides by (op_traits::divisor_operands), named by the op.
template <class N>
struct divisor_operands_of : std::integral_constant<std::uint32_t, 0> {};
template <class Op, class... Args>
struct divisor_operands_of<node<Op, Args...>> : std::integral_constant<std::uint32_t, op_traits<Op>::divisor_operands> {};

/// A reduction's identity (0 for other nodes), held by a class named by the op only.
template <class Op, bool Reduction = planning::op_kind_v<Op> == planning::kind::reduction>
struct identity_of_op {
  static constexpr double value = 0;
};
template <class Op>
struct identity_of_op<Op, true> {
  static constexpr double value = ctgrad::reduction_identity<Op, double>();
};
template <class N>
struct identity_of : identity_of_op<void, false> {};
template <class Op, class... Args>
struct identity_of<node<Op, Args...>> : identity_of_op<Op> {};
template <class Op, class... Args>
struct count_axes_of<node<Op, Args...>> : count_axes_of_op<Op> {};

/// Writes the values of a node of run-time rank r and extents `shape` to contiguous `dst` in
/// row-major order, reading them at src + sum_a idx[a] * st[a] (st[a] = 0 along an axis the
/// source is broadcast over). The innermost axis is a plain strided loop: one function for
/// every node, where a walk per rank and node would be a function per node named by its plan.
template <class D, class S>
void copy_strided(D* dst, const S* src, const extent* shape, std::size_t r, const std::array<std::size_t, max_rank>& st) {
  if (r == 0) {
    dst[0] = static_cast<D>(src[0]);
    return;
  }
  std::size_t total = 1;
  for (std::size_t a = 0; a < r; ++a) total *= shape[a].n;
  const std::size_t n = shape[r - 1].n, s = st[r - 1];
  if (total == 0) return;
  std::array<std::size_t, max_rank> idx{};
  for (std::size_t lin = 0; lin < total; lin += n) {
    std::size_t off = 0;
    for (std::size_t a = 0; a + 1 < r; ++a) off += idx[a] * st[a];
    for (std::size_t j = 0; j < n; ++j) dst[lin + j] = static_cast<D>(src[off + j * s]);
    for (std::size_t a = r - 1; a-- > 0;) {
      if (++idx[a] < shape[a].n) break;
      idx[a] = 0;
    }
  }
}

/// Where the values of a leaf are: a pointer to them (an input or a buffer), or for a constant
/// or a count the one value (`p` null). At namespace scope, named by T only: Clang 14 names every
/// class it generates code for by its full printed name, and a class nested in the executor would
/// print the executor's arguments, every node type, expanded as a tree (a struct returned by an
/// executor member made Clang run out of memory compiling the 4-block network).
template <class T>
struct leaf_source {
  const T* p = nullptr;
  T value{};
};

}  // namespace flat

namespace fused {

/// The members and leaves of every loop at once, in compressed rows (the members of loop L are
/// item[offset[L]] up to item[offset[L + 1]], in increasing place): one constexpr evaluation
/// for the whole plan rather than two functions per loop named by the plan (plan_of::members<L>,
/// plan_of::leaves<L>), whose names list every node.
template <std::size_t Loops, std::size_t Items>
struct loop_lists {
  std::array<std::uint32_t, Loops + 1> offset{};
  std::array<std::uint32_t, Items + 1> item{};  // + 1: no zero-sized arrays
};

template <std::size_t N>
constexpr bool in_loop(const planning::schedule<N>& sched, std::uint32_t i, std::uint32_t l) {
  return sched.member[i] && sched.loop[i] == l && !sched.loops[l].copy;
}

/// Calls f(l, i) for every member i (leaves = false) or every leaf i (leaves = true: what loop
/// l reads from memory, see plan_of::leaves) of every loop l that is not a copy: loops in
/// order, the items of a loop in increasing place order. Linear in the graph: the members are
/// bucketed by loop once, and each loop's walk resets only the entries it touched (a pass over
/// all nodes per loop made the tables quadratic, past Clang's default constexpr step limit on a
/// 16-block network).
template <std::size_t N, class F>
constexpr void for_each_item(const std::array<planning::node_info, N>& info, const planning::schedule<N>& sched,
                             bool leaves, F&& f) {
  const std::uint32_t loops = sched.loop_count;
  std::array<std::uint32_t, N + 1> first{};  // members of loop l: members[first[l] .. first[l + 1])
  std::array<std::uint32_t, N> members{};
  for (std::uint32_t i = 0; i < N; ++i)
    if (in_loop(sched, i, sched.loop[i])) ++first[sched.loop[i] + 1];
  for (std::uint32_t l = 0; l < loops; ++l) first[l + 1] += first[l];
  std::array<std::uint32_t, N + 1> fill = first;
  for (std::uint32_t i = 0; i < N; ++i)
    if (in_loop(sched, i, sched.loop[i])) members[fill[sched.loop[i]]++] = i;
  if (!leaves) {
    for (std::uint32_t l = 0; l < loops; ++l)
      for (std::uint32_t k = first[l]; k < first[l + 1]; ++k) f(l, members[k]);
    return;
  }
  std::array<bool, N> seen{};
  std::array<std::uint32_t, N> touched{}, found{};
  std::array<std::uint32_t, N * planning::max_arity + 1> stack{};
  for (std::uint32_t l = 0; l < loops; ++l) {
    std::size_t top = 0, touched_count = 0, found_count = 0;
    for (std::uint32_t k = first[l]; k < first[l + 1]; ++k)
      for (std::uint32_t c = 0; c < info[members[k]].arity; ++c) stack[top++] = info[members[k]].child[c];
    while (top > 0) {
      const std::uint32_t c = stack[--top];
      if (seen[c]) continue;
      seen[c] = true;
      touched[touched_count++] = c;
      const auto& n = info[c];
      if (n.k == planning::kind::constant) continue;
      if (n.k == planning::kind::input || n.k == planning::kind::count || sched.buffer[c]) {
        std::size_t at = found_count++;  // insertion into increasing order
        for (; at > 0 && found[at - 1] > c; --at) found[at] = found[at - 1];
        found[at] = c;
        continue;
      }
      for (std::uint32_t a = 0; a < n.arity; ++a) stack[top++] = n.child[a];
    }
    for (std::size_t k = 0; k < found_count; ++k) f(l, found[k]);
    for (std::size_t t = 0; t < touched_count; ++t) seen[touched[t]] = false;
  }
}

template <std::size_t N>
constexpr std::size_t count_items(const std::array<planning::node_info, N>& info, const planning::schedule<N>& sched,
                                  bool leaves) {
  std::size_t total = 0;
  fused::for_each_item(info, sched, leaves, [&](std::uint32_t, std::uint32_t) { ++total; });
  return total;
}

template <std::size_t Loops, std::size_t Items, std::size_t N>
constexpr loop_lists<Loops, Items> make_lists(const std::array<planning::node_info, N>& info,
                                              const planning::schedule<N>& sched, bool leaves) {
  loop_lists<Loops, Items> t{};
  std::size_t k = 0;
  std::uint32_t next = 0;  // the next loop whose offset is unset
  fused::for_each_item(info, sched, leaves, [&](std::uint32_t l, std::uint32_t i) {
    for (; next <= l; ++next) t.offset[next] = static_cast<std::uint32_t>(k);
    t.item[k++] = i;
  });
  for (; next <= Loops; ++next) t.offset[next] = static_cast<std::uint32_t>(k);
  return t;
}

/// The position of i among items [b, e) (a loop's leaves), as an offset from b.
template <std::size_t M>
constexpr std::size_t position_in(const std::array<std::uint32_t, M>& a, std::size_t b, std::size_t e, std::uint32_t i) {
  for (std::size_t k = b; k < e; ++k)
    if (a[k] == i) return k - b;
  return e - b;
}

/// A leaf of a loop as the runner below sees it: position K in the loop, place I, where its
/// extents and strides start (Off), its static shape, how it is read, its row type P.
template <std::size_t K, std::uint32_t I, std::size_t Off, std::size_t Rank, std::uint32_t Unit, source Src, class P>
struct leaf_ref {
  static constexpr std::size_t k = K, off = Off, rank = Rank;
  static constexpr std::uint32_t i = I, unit = Unit;
  static constexpr source src = Src;
  using pointer = P;
};
/// A member: position K, place I, extents and strides at Off, static shape, whether it is a
/// sum, how many outputs it is, its description for the kernel (M).
template <std::size_t K, std::uint32_t I, std::size_t Off, std::size_t Rank, std::uint32_t Unit, bool Sum, bool Buf,
          std::size_t Outs, class M>
struct member_ref {
  static constexpr std::size_t k = K, off = Off, rank = Rank, outs = Outs;
  static constexpr std::uint32_t i = I, unit = Unit;
  static constexpr bool sum = Sum, buf = Buf;
  using spec = M;
};
template <class Kernel, std::size_t DomainOff, class Leaves, class Members>
struct loop_ref {
  using kernel = Kernel;
};
/// A copy loop, seen from run_fused: nothing to do.
struct no_loop {};
template <class... Args>
void run_fused(no_loop, const Args&...) {}

/// Sets up the arguments of one fused loop for Kernel: its rows at index 0, their strides and
/// the extents; returns the number of elements of its domain.
template <class T, class Kernel, std::size_t DomainOff, class... Lf, class... Mb, class Outs>
std::size_t set_up(loop_ref<Kernel, DomainOff, type_list<Lf...>, type_list<Mb...>>, typename Kernel::args& g,
                   node_data<T>* data, const extent* shapes, const std::size_t* strides, const Outs& outs) {
  constexpr std::size_t R = Kernel::rank;
  constexpr std::size_t RI = Kernel::RI;
  const extent* ext = shapes + DomainOff;
  std::size_t total = 1;
  for (std::size_t a = 0; a < R; ++a) total *= ext[a].n;
  for (std::size_t a = 0; a < R; ++a) g.ext[a] = ext[a].n;
  ((static_cast<rk<Lf::k, typename Lf::pointer>&>(g.base).p = leaf_base<typename Lf::pointer, Lf::src>(
        data[Lf::i].input, data[Lf::i].acc.data(), data[Lf::i].storage.data(), data[Lf::i].scalar)),
   ...);
  ((g.leaf_strides[Lf::k] = loop_strides<RI>(R, static_shape{Lf::rank, Lf::unit}, strides + Lf::off)), ...);
  (Kernel::template set_base<typename Mb::spec>(g, data[Mb::i].storage.data(), data[Mb::i].acc.data(), outs), ...);
  ((g.member_strides[Mb::k] = loop_strides<RI>(R, static_shape{Mb::rank, Mb::unit}, strides + Mb::off)), ...);
  return total;
}

/// After a fused loop: its sums, complete, rounded to the data type for their readers; its bytes
/// counted (counted = false: a loop over no element, which moved none).
template <class T, class Kernel, std::size_t DomainOff, class... Lf, class... Mb>
void finish(loop_ref<Kernel, DomainOff, type_list<Lf...>, type_list<Mb...>>, node_data<T>* data, const extent* shapes,
            std::size_t& bytes, bool counted) {
  using A = accumulator_t<T>;
  ((Mb::sum ? round_sums(data[Mb::i].storage, data[Mb::i].acc) : void()), ...);
  if (!counted) return;
  const auto count = [&](std::size_t off, std::size_t rank) {
    std::size_t n = 1;
    for (std::size_t a = 0; a < rank; ++a) n *= shapes[off + a].n;
    return n;
  };
  bytes += ((count(Lf::off, Lf::rank) * sizeof(T)) + ... + 0);
  bytes += ((((Mb::buf ? sizeof(T) : 0) + (Mb::sum ? sizeof(A) * 2 : 0) + Mb::outs * sizeof(T)) * count(Mb::off, Mb::rank)) +
            ... + 0);
}

/// Runs one fused loop: set_up, Kernel, finish. A free function named by the loop's description
/// (integers and small types), not by the executor.
template <class T, class Kernel, std::size_t DomainOff, class... Lf, class... Mb, class Outs>
void run_fused(loop_ref<Kernel, DomainOff, type_list<Lf...>, type_list<Mb...>> ref, node_data<T>* data, const extent* shapes,
               const std::size_t* strides, const Outs& outs, thread_team* team, std::size_t threshold, std::size_t& bytes) {
  typename Kernel::args g{};
  const std::size_t total = fused::set_up(ref, g, data, shapes, strides, outs);
  if (total != 0) Kernel::run(g, total, team, threshold);  // no element: a sum over none is its identity (prepare() set it)
  fused::finish(ref, data, shapes, bytes, total != 0);
}

// -- chains: loops run row by row together -----------------------------------------------------

/// Loop L of a chain (see executor::chain_start): its description, and that of its variant in
/// the data type (no_loop when it has none).
template <std::uint32_t L, class Ref, class NarrowRef>
struct link {};
template <class... Links>
struct chain {};
/// Not a chain: a loop that runs on its own, or one run by its chain's first loop.
struct no_chain {};

/// What a chain asks its executor: whether loop l's variant in the data type may compute rows
/// [r0, r1) (every statistic it reads there lies in the data type's range; see
/// executor::narrowable).
struct chain_query {
  void* self = nullptr;
  bool (*fits)(void* self, std::uint32_t l, std::size_t r0, std::size_t r1) = nullptr;
};

/// The state of one link during its chain's run: the arguments of both variants.
template <class Ref>
struct link_args {
  using type = std::tuple<>;
};
template <class Kernel, std::size_t DomainOff, class Lfs, class Mbs>
struct link_args<loop_ref<Kernel, DomainOff, Lfs, Mbs>> {
  using type = typename Kernel::args;
};
template <class Link>
struct link_state;
template <std::uint32_t L, class Ref, class NarrowRef>
struct link_state<link<L, Ref, NarrowRef>> {
  typename link_args<Ref>::type g{};
  typename link_args<NarrowRef>::type narrow{};
  std::size_t total = 0, inner = 0;
};

/// Rows [r0, r1) of a loop's variant in the data type.
template <class Kernel, std::size_t DomainOff, class Lfs, class Mbs>
void narrow_rows(loop_ref<Kernel, DomainOff, Lfs, Mbs>, const typename Kernel::args& g, std::size_t inner, std::size_t r0,
                 std::size_t r1) {
  Kernel::rows_loop(g, 0, inner, r0, r1);
}

/// Rows [r0, r1) of one link: the variant in the data type where the query allows it. Then the
/// sums along the row of those rows (complete now) are rounded for the links after it.
template <class T, std::uint32_t L, class Kernel, std::size_t DomainOff, class... Lf, class... Mb, class NarrowRef>
void run_link_rows(link<L, loop_ref<Kernel, DomainOff, type_list<Lf...>, type_list<Mb...>>, NarrowRef>,
                   link_state<link<L, loop_ref<Kernel, DomainOff, type_list<Lf...>, type_list<Mb...>>, NarrowRef>>& st,
                   node_data<T>* data, chain_query q, std::size_t r0, std::size_t r1) {
  if constexpr (!std::is_same_v<NarrowRef, no_loop>) {
    if (q.fits(q.self, L, r0, r1)) {
      fused::narrow_rows(NarrowRef{}, st.narrow, st.inner, r0, r1);
    } else {
      Kernel::rows_loop(st.g, 0, st.inner, r0, r1);
    }
  } else {
    Kernel::rows_loop(st.g, 0, st.inner, r0, r1);
  }
  constexpr std::size_t R = Kernel::rank;
  constexpr std::uint32_t outer = (std::uint32_t{1} << (R - 1)) - 1;
  const auto round_rows = [&](std::uint32_t i) {
    node_data<T>& n = data[i];
    for (std::size_t r = r0; r < r1; ++r) n.storage[r] = static_cast<T>(n.acc[r]);
  };
  ((Mb::sum && Mb::rank == R && (Mb::unit & outer) == 0 ? round_rows(Mb::i) : void()), ...);
}

template <class T, std::uint32_t L, class Ref, class NarrowRef, class Outs>
void set_up_link(link<L, Ref, NarrowRef>, link_state<link<L, Ref, NarrowRef>>& st, node_data<T>* data, const extent* shapes,
                 const std::size_t* strides, const Outs& outs) {
  st.total = fused::set_up(Ref{}, st.g, data, shapes, strides, outs);
  if constexpr (!std::is_same_v<NarrowRef, no_loop>) fused::set_up(NarrowRef{}, st.narrow, data, shapes, strides, outs);
  st.inner = st.g.ext[Ref::kernel::rank - 1];
}
template <class T, std::uint32_t L, class Ref, class NarrowRef>
void finish_link(link<L, Ref, NarrowRef>, node_data<T>* data, const extent* shapes, std::size_t& bytes) {
  fused::finish(Ref{}, data, shapes, bytes, true);
}
/// A link run on its own, the whole loop at once (a chain over no element, see run_chain).
template <class T, std::uint32_t L, class Ref, class NarrowRef, class Outs>
void run_link_alone(link<L, Ref, NarrowRef>, node_data<T>* data, const extent* shapes, const std::size_t* strides,
                    const Outs& outs, chain_query q, std::size_t& bytes) {
  link_state<link<L, Ref, NarrowRef>> st{};
  fused::set_up_link(link<L, Ref, NarrowRef>{}, st, data, shapes, strides, outs);
  if (st.total != 0) fused::run_link_rows(link<L, Ref, NarrowRef>{}, st, data, q, 0, st.total / st.inner);
  fused::finish(Ref{}, data, shapes, bytes, st.total != 0);
}

/// How many rows of a chain run together: about 16384 elements of its widest loop (64 KiB of
/// float per array read, so that what the first loops bring into the cache is still there for
/// the last), a multiple of 4 (kernel::rows_loop sums over rows four at a time from the first
/// row it is given: with blocks of a multiple of 4, the sums group rows exactly as one pass).
inline std::size_t chain_block(std::size_t widest) {
  const std::size_t b = (std::size_t{16384} / (widest == 0 ? 1 : widest)) / 4 * 4;
  return b < 4 ? 4 : b;
}

/// Runs the loops of a chain block of rows by block of rows: each block through every loop in
/// turn, so that a row is read from memory once and from the cache by the loops after the first
/// (layer norm's statistics, its backward row sums, y and dx: three passes over x). The results
/// are those of the loops run one after another, bit for bit.
template <class T, class... Links, class Outs>
void run_chain(chain<Links...>, node_data<T>* data, const extent* shapes, const std::size_t* strides, const Outs& outs,
               chain_query q, std::size_t& bytes) {
  std::tuple<link_state<Links>...> st{};
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    (fused::set_up_link(Links{}, std::get<K>(st), data, shapes, strides, outs), ...);
    if (((std::get<K>(st).total == 0) || ...)) {  // a loop over no element: one after another
      (fused::run_link_alone(Links{}, data, shapes, strides, outs, q, bytes), ...);
      return;
    }
    const std::size_t rows = std::get<0>(st).total / std::get<0>(st).inner;
    std::size_t widest = 0;
    ((widest = std::max(widest, std::get<K>(st).inner)), ...);
    const std::size_t block = fused::chain_block(widest);
    for (std::size_t r0 = 0; r0 < rows; r0 += block) {
      const std::size_t r1 = std::min(rows, r0 + block);
      (fused::run_link_rows(Links{}, std::get<K>(st), data, q, r0, r1), ...);
    }
    (fused::finish_link(Links{}, data, shapes, bytes), ...);
  }(std::index_sequence_for<Links...>{});
}
template <class T, class Outs>
void run_chain(no_chain, node_data<T>*, const extent*, const std::size_t*, const Outs&, chain_query, std::size_t&) {}

}  // namespace fused

namespace fused {

// The descriptions of loops, per loop and node, as class templates at namespace scope taking
// the executor X as one type argument: a member class template of the executor would be
// instantiated with the executor's own arguments substituted again for each specialization.
// (When the executor was specialized on `type_list<Ns...>` that rebuilt the pack of every node,
// O(nodes) memory and time each, 60% of an L = 16 compile with GCC 12; the executor, plan_of,
// plan_nodes and graph_index now keep the order as one type for the same reason.)

/// The type loop L computes in, and the row type through which it reads leaf I.
template <class X, std::uint32_t L>
using compute_type = std::conditional_t<X::precise(L), typename X::A, typename X::value_type>;
template <class X, std::uint32_t L, std::uint32_t I>
using leaf_pointer_type =
    std::conditional_t<X::source_of(L, I) == source::count, compute_type<X, L>,
                       std::conditional_t<X::source_of(L, I) == source::acc, const typename X::A*, const typename X::value_type*>>;

template <class X, std::uint32_t I, class S = std::make_index_sequence<X::output_count(I)>>
struct output_sequence;
template <class X, std::uint32_t I, std::size_t... K>
struct output_sequence<X, I, std::index_sequence<K...>> {
  using type = std::index_sequence<X::output_position(I, K)...>;
};

/// The fused expression of node I read in loop L: a leaf, a count, a constant, or computed.
enum class read { leaf, count, constant, computed };
template <class X, std::uint32_t L, std::uint32_t I, read How = X::read_of(I)>
struct fx_value;
/// Node I computed from its operands (a broadcast: its operand's value). The operands are
/// found by place in the planner's table, not looked up by type.
template <class X, std::uint32_t L, std::uint32_t I, bool Broadcast = X::nodes::info[I].k == planning::kind::broadcast,
          class K = std::make_index_sequence<X::nodes::info[I].arity>>
struct fx_compute;
template <class X, std::uint32_t L, std::uint32_t I>
struct fx_value<X, L, I, read::constant> {
  using type = constant<typename X::nodes::template type<I>>;
};
template <class X, std::uint32_t L, std::uint32_t I>
struct fx_value<X, L, I, read::count> {
  using type = count<X::leaf_position(L, I), leaf_pointer_type<X, L, I>>;
};
template <class X, std::uint32_t L, std::uint32_t I>
struct fx_value<X, L, I, read::leaf> {
  using type = leaf<X::leaf_position(L, I), leaf_pointer_type<X, L, I>, X::inner_stride_at(I)>;
};
template <class X, std::uint32_t L, std::uint32_t I>
struct fx_value<X, L, I, read::computed> {
  using type = typename fx_compute<X, L, I>::type;
};
template <class X, std::uint32_t L, std::uint32_t I, class K>
struct fx_compute<X, L, I, true, K> {
  using type = typename fx_value<X, L, X::nodes::info[I].child[0]>::type;
};
template <class X, std::uint32_t L, std::uint32_t I, std::size_t... K>
struct fx_compute<X, L, I, false, std::index_sequence<K...>> {
  using type = apply<typename X::nodes::template type<I>::op, typename fx_value<X, L, X::nodes::info[I].child[K]>::type...>;
};

/// Member K of loop L: a sum of its operand, or its computed value.
template <class X, std::uint32_t L, std::size_t K, std::uint32_t I = X::member_v(L, K),
          bool Sum = X::nodes::info[I].k == planning::kind::reduction>
struct member_of;
template <class X, std::uint32_t L, std::size_t K, std::uint32_t I>
struct member_of<X, L, K, I, true> {
  using type = member<K, typename X::nodes::template type<I>::op, X::inner_stride_at(I), X::sched.buffer[I], X::has_acc[I],
                      std::index_sequence<>, typename fx_value<X, L, X::nodes::info[I].child[0]>::type>;
};
template <class X, std::uint32_t L, std::size_t K, std::uint32_t I>
struct member_of<X, L, K, I, false> {
  using type = member<K, void, X::inner_stride_at(I), X::sched.buffer[I], X::has_acc[I],
                      typename output_sequence<X, I>::type, typename fx_compute<X, L, I>::type>;
};

/// The description of fused loop L for run_fused (KL: its leaves, KM: its members).
template <class X, std::uint32_t L, class Outs, class KL = std::make_index_sequence<X::leaf_count(L)>,
          class KM = std::make_index_sequence<X::member_count(L)>>
struct loop_ref_of;
template <class X, std::uint32_t L, class Outs, std::size_t... KL, std::size_t... KM>
struct loop_ref_of<X, L, Outs, std::index_sequence<KL...>, std::index_sequence<KM...>> {
  static constexpr const auto& info = X::nodes::info;
  static constexpr std::uint32_t D = X::sched.loops[X::loop_of(L)].domain;
  using kernel_t = kernel<typename X::value_type, compute_type<X, L>, info[D].shape.rank,
                          rows<rk<KL, leaf_pointer_type<X, L, X::leaf_v(L, KL)>>...>,
                          type_list<typename member_of<X, L, KM>::type...>, typename out_pointers<Outs>::type,
                          X::loads_first(L)>;
  using type = std::conditional_t<
      X::sched.loops[X::loop_of(L)].copy, no_loop,
      loop_ref<kernel_t, X::rank_offset[D],
               type_list<leaf_ref<KL, X::leaf_v(L, KL), X::rank_offset[X::leaf_v(L, KL)], info[X::leaf_v(L, KL)].shape.rank,
                                  info[X::leaf_v(L, KL)].shape.unit_mask, X::source_of(L, X::leaf_v(L, KL)),
                                  leaf_pointer_type<X, L, X::leaf_v(L, KL)>>...>,
               type_list<member_ref<KM, X::member_v(L, KM), X::rank_offset[X::member_v(L, KM)],
                                    info[X::member_v(L, KM)].shape.rank, info[X::member_v(L, KM)].shape.unit_mask,
                                    info[X::member_v(L, KM)].k == planning::kind::reduction,
                                    X::sched.buffer[X::member_v(L, KM)], X::output_count(X::member_v(L, KM)),
                                    typename member_of<X, L, KM>::type>...>>>;
};

/// The variant of loop L computing in the data type (X::narrowable), or no loop for a loop that
/// has none (so that nothing is instantiated for it).
template <class X, std::uint32_t L, class Outs, bool Narrowable>
struct narrow_loop_ref_of {
  using type = no_loop;
};
template <class X, std::uint32_t L, class Outs>
struct narrow_loop_ref_of<X, L, Outs, true> {
  using type = typename loop_ref_of<X, L | X::narrow_bit, Outs>::type;
};

/// The chain that loop L starts (X::chain_length(L) > 1 loops), or no_chain.
template <class X, std::uint32_t L, class Outs, std::size_t Length = X::chain_length(L),
          class K = std::make_index_sequence<Length>>
struct chain_of {
  using type = no_chain;
};
template <class X, std::uint32_t L, class Outs, std::size_t Length, std::size_t... K>
  requires(Length > 1)
struct chain_of<X, L, Outs, Length, std::index_sequence<K...>> {
  using type = chain<link<L + K, typename loop_ref_of<X, L + K, Outs>::type,
                          typename narrow_loop_ref_of<X, L + K, Outs, X::narrowable(L + K)>::type>...>;
};

}  // namespace fused

}  // namespace ctgrad::detail

#if defined(__clang__)
#pragma clang diagnostic pop
#endif
