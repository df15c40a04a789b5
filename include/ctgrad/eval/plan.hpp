#pragma once
// ctgrad/eval/plan.hpp: compiled evaluation plans, reusable across calls.
//
//   auto plan = ctgrad::compile<float>(ctgrad::exprs(y, dx, dgamma, dbeta));
//   plan.run(std::tuple{y_view, dx_view, dgamma_view, dbeta_view},        // caller-owned outputs
//            ctgrad::bind(x, x_view), ctgrad::bind(dy, dy_view), ...);
//   plan.run(...);   // again, on new data: no allocation when the extents are unchanged
//
// The loops are decided at compile time (eval/schedule.hpp): reductions are barriers between
// passes, elementwise work is fused into the loops that read it, reductions over the same
// domain in the same pass share one loop. A loop walks its domain row by row; the innermost
// axis is a plain counted loop over contiguous memory in which every operand is read at
// stride 1 or 0 (broadcast), known at compile time, so the compiler vectorizes it.
// Before planning, products are regrouped so that factors constant along a loop's rows are
// multiplied once per feature (eval/hoist.hpp).
// Float data: sums, the loops that compute what is summed, and loops over statistics (domains
// with an axis of extent 1) compute in double (the accumulator type), so that a mean or a
// deviation stored between passes keeps its precision; the other loops over whole data compute
// in float.
// Run-time extents are checked for every node before anything is computed or written; a
// mismatch throws ctgrad::shape_error naming the inputs, axes and extents.
#include <boost/hana/find_if.hpp>
#include <boost/hana/optional.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "ctgrad/core/pack.hpp"
#include "ctgrad/eval/bind.hpp"
#include "ctgrad/eval/hoist.hpp"
#include "ctgrad/eval/parallel.hpp"
#include "ctgrad/eval/schedule.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/expr/text.hpp"
#include "ctgrad/graph/topo.hpp"

// The fused loops ask the vectorizer to assume their iterations independent (they are: every
// buffer a loop writes is its own). Clang turns that request into a warning wherever it cannot
// vectorize after all, a sum into one accumulator (floating-point reduction, kept in order) or
// a call to exp or tanh: warnings a user of the library cannot act on, silenced here and in
// parallel.hpp (whose thread team runs these loops). -Rpass-missed=loop-vectorize still lists them.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpass-failed"
#endif
#if defined(__clang__)
#define CTGRAD_INDEPENDENT_ITERATIONS _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define CTGRAD_INDEPENDENT_ITERATIONS _Pragma("GCC ivdep")
#else
#define CTGRAD_INDEPENDENT_ITERATIONS
#endif

namespace ctgrad {

/// Thrown when bound extents do not fit together; the message names inputs, axes and extents.
struct shape_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

/// The type ctgrad computes in: double for float data (sums, and every intermediate, so that a
/// mean or a deviation stored between passes keeps its precision); double for double.
template <class T>
using accumulator_t = std::conditional_t<std::is_same<T, float>::value, double, T>;

namespace detail {

using planning::kind;

inline std::string describe(const extent& e) {
  if (e.input.empty()) return fmt::format("an extent of {}", e.n);
  return fmt::format("input '{}' axis {} has extent {}", e.input, e.axis, e.n);
}

/// The binding type for input `Name` among `Bs...`, as hana::just(type) or hana::nothing.
template <fixed_string Name, class... Bs>
constexpr auto find_binding() {
  return boost::hana::find_if(boost::hana::tuple_t<Bs...>, [](auto b) {
    return boost::hana::bool_c<std::remove_cvref_t<decltype(b)>::type::name == Name>;
  });
}

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
  /// Where the operand places of each node start in `operand_places` (edges in node order).
  static constexpr std::array<std::size_t, sizeof...(Ns) + 1> operand_first = [] {
    std::array<std::size_t, sizeof...(Ns) + 1> f{};
    constexpr std::size_t count[] = {children_t<Ns>::size..., 0};  // braced, not a fold: core/pack.hpp
    for (std::size_t i = 0; i < sizeof...(Ns); ++i) f[i + 1] = f[i] + count[i];
    return f;
  }();
  static constexpr std::array<std::uint32_t, index_t::edge_count + 1> operand_places = [] {
    std::array<std::uint32_t, index_t::edge_count + 1> p{};
    std::size_t e = 0;
    const auto add = [&](const auto& places) {
      for (std::size_t c : places) p[e++] = static_cast<std::uint32_t>(c);
    };
    in_order({(add(sequence_array<typename index_t::template operand_places<children_t<Ns>>::type>::value), 0)...});
    return p;
  }();
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

/// The fused loops, written against small descriptions of one loop rather than against node
/// types. GCC 12 gives every instantiated function a mangled name, and the substitution search
/// of its mangler makes a name cost time quadratic in the number of distinct types in it: a
/// function per node and loop named by the executor (whose name lists every node) or by deep
/// node types made compile time grow with the cube of the graph size (37% of the time of an
/// 8-block network went to mangle_decl). Here a loop is described by its leaves (row pointers
/// indexed by position), the fused expression of each member (ops over leaf positions and
/// constants) and integer flags; those names grow with one loop's fused subtree only.
namespace fused {

/// Leaf K of a loop as the loop reads it: a row pointer P (to the data or the accumulator
/// type), or for a count its value (P is then the compute type).
template <std::size_t K, class P>
struct rk {
  static constexpr std::size_t index = K;
  P p{};
};
template <class... Rk>
struct rows : Rk... {};

/// Fused expressions: a leaf's row K read at inner stride S (0: broadcast along the innermost
/// axis, 1: contiguous), a count's value, a constant node, an op applied to operands.
template <std::size_t K, class P, std::size_t S>
struct leaf {};
template <std::size_t K, class P>
struct count {};
template <class C>
struct constant {};
template <class Op, class... X>
struct apply {};

/// The value of fused expression X at inner index j, in the compute type CT.
template <class CT, class X>
struct fx;
template <class CT, std::size_t K, class P, std::size_t S>
struct fx<CT, leaf<K, P, S>> {
  template <class Rows>
  static CT get(const Rows& r, std::size_t j) {
    return static_cast<CT>(static_cast<const rk<K, P>&>(r).p[S * j]);
  }
};
template <class CT, std::size_t K, class P>
struct fx<CT, count<K, P>> {
  template <class Rows>
  static CT get(const Rows& r, std::size_t) {
    return static_cast<const rk<K, P>&>(r).p;
  }
};
template <class CT, class C>
struct fx<CT, constant<C>> {
  template <class Rows>
  static CT get(const Rows&, std::size_t) {
    return C::value.template as<CT>();
  }
};
template <class CT, class Op, class... X>
struct fx<CT, apply<Op, X...>> {
  template <class Rows>
  static CT get(const Rows& r, std::size_t j) {
    return static_cast<CT>(Op::apply(fx<CT, X>::get(r, j)...));
  }
};

/// Member K of a loop: a sum (into its accumulator row, or a running sum when its innermost
/// stride is 0) of X, or X stored into its buffer (Buf), its accumulator-type values (Acc) and
/// the requested outputs at positions Pos.
template <std::size_t K, bool Sum, std::size_t Stride, bool Buf, bool Acc, class Pos, class X>
struct member {
  static constexpr std::size_t index = K;
  static constexpr bool sum = Sum, buf = Buf, acc = Acc;
  static constexpr std::size_t stride = Stride;
  using pos = Pos;
  using x = X;
};

/// Where a loop writes member K: its buffer row, or for a sum its accumulator row and a running
/// sum; and the rows of the outputs it is (OutPtrs: a std::tuple of a pointer per output).
template <std::size_t K, class T, class A, class OutPtrs>
struct dk {
  T* buf = nullptr;
  A* acc = nullptr;
  A sum{};
  OutPtrs out{};
};
template <class... Dk>
struct dests : Dk... {};

/// A pointer plus an offset; a count's value stays as it is.
template <class U>
const U* add_offset(const U* p, std::size_t off) {
  return p + off;
}
template <class V>
  requires std::is_arithmetic_v<V>
V add_offset(V v, std::size_t) {
  return v;
}

/// How a loop reads a leaf: the bound input, the accumulator-type values, the buffer, a count.
enum class source : std::uint8_t { input, acc, storage, count };
template <class P, source S, class T, class A>
P leaf_base(const T* input, const A* acc, const T* storage, T scalar) {
  if constexpr (S == source::input) return input;
  else if constexpr (S == source::acc) return acc;
  else if constexpr (S == source::storage) return storage;
  else return static_cast<P>(scalar);
}

/// The strides, along each axis of a loop of rank R, of a node of static shape `sh` and
/// strides `st`, right-aligned; 0 along the axes it is broadcast over.
template <std::size_t RI>
std::array<std::size_t, RI> loop_strides(std::size_t R, const static_shape& sh, const std::size_t* st) {
  std::array<std::size_t, RI> out{};
  for (std::size_t j = 0; j < sh.rank; ++j)
    if (!sh.is_unit(j)) out[j + R - sh.rank] = st[j];
  return out;
}

template <class T, class A>
void round_sums(std::vector<T>& storage, const std::vector<A>& acc) {
  for (std::size_t i = 0; i < acc.size(); ++i) storage[i] = static_cast<T>(acc[i]);
}

/// One fused loop of rank R computing in CT: leaves Rk..., members Ms.... LoadsFirst: no
/// member reads another member's buffer back, so every value of an iteration can be computed
/// before anything is stored (which lets the compiler share subexpressions between members: a
/// store through a pointer could otherwise alias what a later member loads).
template <class T, class CT, std::size_t R, class Rows, class Members, class OutPtrs, bool LoadsFirst>
struct kernel;
template <class T, class CT, std::size_t R, class... Rk, class... Ms, class OutPtrs, bool LoadsFirst>
struct kernel<T, CT, R, rows<Rk...>, type_list<Ms...>, OutPtrs, LoadsFirst> {
  using A = accumulator_t<T>;
  using rows_t = rows<Rk...>;
  using dests_t = dests<dk<Ms::index, T, A, OutPtrs>...>;
  static constexpr std::size_t rank = R;
  static constexpr std::size_t RI = R == 0 ? 1 : R;
  using index_t = std::array<std::size_t, RI>;

  /// What the executor hands over: leaf rows and member rows at index 0, their strides along
  /// the loop's axes, and the loop's extents.
  struct args {
    rows_t base{};
    std::array<index_t, sizeof...(Rk)> leaf_strides{};
    dests_t dest_base{};
    std::array<index_t, sizeof...(Ms)> member_strides{};
    index_t ext{};
  };

  /// Offset of the row at outer index idx, for a node with loop strides st.
  static std::size_t offset(const index_t& idx, const index_t& st) {
    std::size_t off = 0;
    for (std::size_t a = 0; a + 1 < R; ++a) off += idx[a] * st[a];
    return off;
  }

  template <class M, class Outs>
  static void set_base(args& g, T* storage, A* acc, const Outs& outs) {
    auto& b = static_cast<dk<M::index, T, A, OutPtrs>&>(g.dest_base);
    if constexpr (M::sum) {
      b.acc = acc;
    } else if constexpr (M::buf) {
      b.buf = storage;
      if constexpr (M::acc) b.acc = acc;
    }
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((std::get<I>(b.out) = std::get<I>(outs).data), ...);
    }(typename M::pos{});
  }

  template <class M>
  static void set_dest(dests_t& d, const args& g, const index_t& idx) {
    auto& dm = static_cast<dk<M::index, T, A, OutPtrs>&>(d);
    const auto& b = static_cast<const dk<M::index, T, A, OutPtrs>&>(g.dest_base);
    const std::size_t off = offset(idx, g.member_strides[M::index]);
    if constexpr (M::sum) {
      dm.acc = b.acc + off;
    } else if constexpr (M::buf) {
      dm.buf = b.buf + off;
      if constexpr (M::acc) dm.acc = b.acc + off;
    }
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((std::get<I>(dm.out) = std::get<I>(b.out) + off), ...);
    }(typename M::pos{});
  }

  /// What member M contributes at inner index j: a summand (in the accumulator type), or a value.
  template <class M>
  using value_t = std::conditional_t<M::sum, A, CT>;
  template <class M>
  static value_t<M> value(const rows_t& r, std::size_t j) {
    return static_cast<value_t<M>>(fx<CT, typename M::x>::get(r, j));  // sums in the accumulator type
  }
  /// Adds member M's contribution to its sum, or stores its value where it goes.
  template <class M>
  static void store(dests_t& d, value_t<M> v, std::size_t j) {
    auto& dm = static_cast<dk<M::index, T, A, OutPtrs>&>(d);
    if constexpr (M::sum) {
      if constexpr (M::stride == 0) dm.sum += v;
      else dm.acc[j] += v;
    } else {
      if constexpr (M::buf) dm.buf[j] = static_cast<T>(v);
      if constexpr (M::acc) dm.acc[j] = v;
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((std::get<I>(dm.out)[j] = static_cast<std::remove_cvref_t<decltype(*std::get<I>(dm.out))>>(v)), ...);
      }(typename M::pos{});
    }
  }

  template <class M>
  static void flush(dests_t& d) {
    if constexpr (M::sum && M::stride == 0) {
      auto& dm = static_cast<dk<M::index, T, A, OutPtrs>&>(d);
      dm.acc[0] += dm.sum;
      dm.sum = A(0);
    }
  }

  template <std::size_t... I, class V>
  static void store_all(dests_t& d, const V& v, std::size_t j, std::index_sequence<I...>) {
    (store<Ms>(d, std::get<I>(v), j), ...);
  }

  static void inner_loop(const rows_t& r, dests_t& d, std::size_t j0, std::size_t j1) {
    if constexpr (LoadsFirst) {
      CTGRAD_INDEPENDENT_ITERATIONS
      for (std::size_t j = j0; j < j1; ++j) {
        const std::tuple<value_t<Ms>...> v{value<Ms>(r, j)...};
        store_all(d, v, j, std::index_sequence_for<Ms...>{});
      }
    } else {
      CTGRAD_INDEPENDENT_ITERATIONS
      for (std::size_t j = j0; j < j1; ++j) (store<Ms>(d, value<Ms>(r, j), j), ...);
    }
    (flush<Ms>(d), ...);
  }

  /// Sums over four rows at once (see rows_loop): every member is a sum along rows.
  static void four_rows_loop(const std::array<rows_t, 4>& q, dests_t& d, std::size_t j0, std::size_t j1) {
    CTGRAD_INDEPENDENT_ITERATIONS
    for (std::size_t j = j0; j < j1; ++j) {
      const std::tuple<value_t<Ms>...> v{
          ((value<Ms>(q[0], j) + value<Ms>(q[1], j)) + (value<Ms>(q[2], j) + value<Ms>(q[3], j)))...};
      store_all(d, v, j, std::index_sequence_for<Ms...>{});
    }
  }
  /// A loop that only sums over rows (per-feature sums of an m x n domain) takes four rows at a
  /// time: each accumulator is then loaded and stored once per four rows, and the four values
  /// are added pairwise first. The grouping depends on the row only, so a split of the columns
  /// between threads sums in the same order.
  static constexpr bool four_rows = R == 2 && ((Ms::sum && Ms::stride == 1) && ...);

  /// Rows [r0, r1) of the loop's domain (rows: every index of the outer axes, in row-major
  /// order), columns [c0, c1) of the innermost axis.
  static void rows_loop(const args& g, std::size_t c0, std::size_t c1, std::size_t r0, std::size_t r1) {
    rows_t r = g.base;  // counts keep their values; row pointers are set for every row
    dests_t d{};
    index_t idx{};
    if constexpr (R > 1) {  // the outer index of row r0
      std::size_t rest = r0;
      for (std::size_t a = R - 1; a-- > 0;) {
        idx[a] = rest % g.ext[a];
        rest /= g.ext[a];
      }
    }
    std::size_t row_index = r0;
    if constexpr (four_rows) {
      std::array<rows_t, 4> q{g.base, g.base, g.base, g.base};
      for (; row_index + 4 <= r1; row_index += 4) {
        (set_dest<Ms>(d, g, idx), ...);
        for (auto& qk : q) {
          ((static_cast<Rk&>(qk).p = add_offset(static_cast<const Rk&>(g.base).p, offset(idx, g.leaf_strides[Rk::index]))),
           ...);
          ++idx[0];
        }
        four_rows_loop(q, d, c0, c1);
      }
    }
    for (; row_index < r1; ++row_index) {
      ((static_cast<Rk&>(r).p = add_offset(static_cast<const Rk&>(g.base).p, offset(idx, g.leaf_strides[Rk::index]))),
       ...);
      (set_dest<Ms>(d, g, idx), ...);
      inner_loop(r, d, c0, c1);
      if constexpr (R > 1) {
        for (std::size_t a = R - 1; a-- > 0;) {
          if (++idx[a] < g.ext[a]) break;
          idx[a] = 0;
        }
      }
    }
  }

  /// Runs the loop over `total` elements, split between the threads of `team` (if any) when
  /// it is big enough to pay for the hand-over. Without sums, by rows: each thread streams its
  /// own contiguous block. With sums along the outer axes only, by columns of the innermost
  /// axis (multiples of 16): each thread then owns its columns of every accumulator, and each
  /// column is summed in the same order as on one thread. Sums along the innermost axis: one
  /// thread.
  static void run(const args& g, std::size_t total, thread_team* team, std::size_t threshold) {
    const std::size_t inner = R == 0 ? 1 : g.ext[R - 1];
    constexpr bool has_sums = (Ms::sum || ...);
    constexpr bool by_columns = R > 0 && has_sums && ((!Ms::sum || Ms::stride == 1) && ...);
    const std::size_t rows_count = total / inner;
    std::size_t parts = 1;
    if (team && total >= threshold) {
      if constexpr (!has_sums) parts = std::min(team->size(), rows_count);
      else if constexpr (by_columns) parts = std::min(team->size(), inner / 16);
    }
    if (parts <= 1) {
      rows_loop(g, 0, inner, 0, rows_count);
    } else {
      auto part = [&](std::size_t p) {
        if constexpr (!has_sums) {
          const std::size_t r0 = rows_count * p / parts, r1 = rows_count * (p + 1) / parts;
          rows_loop(g, 0, inner, r0, r1);
        } else {
          const std::size_t chunk = (inner / parts + 15) / 16 * 16;
          const std::size_t c0 = std::min(inner, p * chunk), c1 = p + 1 == parts ? inner : std::min(inner, c0 + chunk);
          rows_loop(g, c0, c1, 0, rows_count);
        }
      };
      team->run(parts, part);
    }
  }
};

/// The pointer types of a tuple of output views.
template <class Outs>
struct out_pointers;
template <class... Os>
struct out_pointers<std::tuple<Os...>> {
  using type = std::tuple<typename Os::element_type*...>;
};

/// How many of `outputs` are node i, and at which positions.
template <std::size_t E>
constexpr std::size_t count_of(const std::array<std::uint32_t, E>& outputs, std::uint32_t i) {
  std::size_t c = 0;
  for (std::uint32_t o : outputs) c += o == i;
  return c;
}
template <std::size_t C, std::size_t E>
constexpr std::array<std::size_t, C> positions_of(const std::array<std::uint32_t, E>& outputs, std::uint32_t i) {
  std::array<std::size_t, C> pos{};
  std::size_t k = 0;
  for (std::size_t e = 0; e < E; ++e)
    if (outputs[e] == i) pos[k++] = e;
  return pos;
}

}  // namespace fused

/// Per node, what a run keeps besides its extents and strides: for an input, the bound data;
/// for a node with a buffer, its values; for a reduction, also its sums in the accumulator
/// type; for a count, its value.
template <class T>
struct node_data {
  const T* input = nullptr;
  std::vector<T> storage;
  std::vector<accumulator_t<T>> acc;
  T scalar{};
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
template <class Op, class... Args>
struct count_axes_of<node<Op, Args...>> : count_axes_of_op<Op> {};

/// What the text of a node is made of (ctgrad::to_text, expr/text.hpp), in a table indexed by
/// place: an error message renders a node's text from it at run time, so that no text
/// function is instantiated per node and named by its (deep) type. Inputs and constants: their
/// text; nodes: their op's symbol, precedence and notation, and their operands' places.
struct text_entry {
  std::string (*symbol)() = nullptr;
  int prec = precedence::atom;
  bool leaf = true;
  notation how = notation::call;
  std::uint32_t arity = 0;
  std::array<std::uint32_t, planning::max_arity> operand{};
};
template <class N>
struct text_entry_of {
  static constexpr text_entry value{&text_of<N>::get, text_of<N>::prec};
};
/// A node's entry, named by its op and arity only where the op's symbol takes no operand types
/// (`template <class...> symbol()`, as every ctgrad op): an entry per node, and a symbol
/// function per node whose address it holds, would each have a mangled name holding the node.
template <class Op, std::uint32_t Arity>
struct text_entry_of_op {
  static constexpr text_entry value{&Op::template symbol<>, Op::prec, false, Op::kind, Arity};
};
template <class Op, class... Args>
struct text_entry_of_node {
  static constexpr text_entry value{&Op::template symbol<Args...>, Op::prec, false, Op::kind,
                                    static_cast<std::uint32_t>(sizeof...(Args))};
};
template <class Op, class... Args>
struct text_entry_of<node<Op, Args...>>
    : std::conditional_t<requires { Op::template symbol<>(); },
                         text_entry_of_op<Op, static_cast<std::uint32_t>(sizeof...(Args))>,
                         text_entry_of_node<Op, Args...>> {};
/// The entries, with their operands' places from the planner's table (named by the node only,
/// not by the graph: the operands of a count are its shape operand, those of every other node
/// are its children in order).
template <std::size_t S>
constexpr std::array<text_entry, S> with_operands(std::array<text_entry, S> t,
                                                  const std::array<planning::node_info, S>& info) {
  for (std::size_t i = 0; i < S; ++i) {
    if (t[i].leaf) continue;
    for (std::uint32_t k = 0; k < t[i].arity; ++k)
      t[i].operand[k] = info[i].k == planning::kind::count ? info[i].shape_child : info[i].child[k];
  }
  return t;
}

/// The text of the node at place i, as ctgrad::to_text gives it.
template <std::size_t S>
std::string render(const std::array<text_entry, S>& t, std::uint32_t i);
template <std::size_t S>
std::string render_wrapped(const std::array<text_entry, S>& t, std::uint32_t i, int min_prec) {
  std::string s = render(t, i);
  return t[i].prec < min_prec ? fmt::format("({})", s) : s;
}
template <std::size_t S>
std::string render(const std::array<text_entry, S>& t, std::uint32_t i) {
  const text_entry& e = t[i];
  if (e.leaf) return e.symbol();
  const std::string sym = e.symbol();
  if (e.how == notation::infix) {
    // a - (b + c), a / (b * c): the right operand of a non-associative operator needs
    // parentheses at equal precedence.
    const bool assoc = sym == "+" || sym == "*";
    return fmt::format("{} {} {}", render_wrapped(t, e.operand[0], e.prec), sym,
                       render_wrapped(t, e.operand[1], assoc ? e.prec : e.prec + 1));
  }
  std::string operands;
  if (e.how == notation::prefix || e.how == notation::postfix) {
    for (std::uint32_t k = 0; k < e.arity; ++k)
      operands += render_wrapped(t, e.operand[k], e.how == notation::prefix ? precedence::unary : precedence::atom);
    return e.how == notation::prefix ? fmt::format("{}{}", sym, operands) : fmt::format("{}{}", operands, sym);
  }
  for (std::uint32_t k = 0; k < e.arity; ++k) operands += (k > 0 ? ", " : "") + render(t, e.operand[k]);
  return fmt::format("{}({})", sym, operands);
}

[[noreturn]] inline void throw_mismatch(const std::string& text, const extent& a, const extent& b) {
  throw shape_error(fmt::format("ctgrad: extents do not match in `{}`: {}, but {}", text, describe(a), describe(b)));
}

inline std::size_t element_count(const extent* shape, std::size_t rank) {
  std::size_t n = 1;
  for (std::size_t a = 0; a < rank; ++a) n *= shape[a].n;
  return n;
}

inline void set_strides(const extent* shape, std::size_t* strides, std::size_t rank) {
  std::size_t st = 1;
  for (std::size_t a = rank; a-- > 0;) {
    strides[a] = st;
    st *= shape[a].n;
  }
}

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

/// Binds input N to its binding among bs: extents, data and strides.
template <class T, class N, class... Bs>
void bind_one(extent* shape, std::size_t* strides, const T*& input, const Bs&... bs) {
  using found = decltype(find_binding<N::name, Bs...>());
  if constexpr (decltype(boost::hana::is_nothing(found{}))::value) {
    raise<no_value_is_bound_for_input, N::name>();
  } else {
    using B = typename std::remove_cvref_t<decltype(found{}.value())>::type;
    if constexpr (B::rank != N::shape.rank) {
      raise<input_is_bound_to_a_tensor_of_another_rank, N::name>();
    } else {
      static_assert(std::is_same<typename B::value_type, T>::value,
                    "ctgrad::evaluate(): every bound tensor must have the same element type");
      const B& b = std::get<const B&>(std::forward_as_tuple(bs...));
      for (std::size_t a = 0; a < B::rank; ++a) shape[a] = extent{b.values.extents[a], N::name.view(), a};
      input = (B::rank == 0 && b.values.data == nullptr) ? &b.scalar : b.values.data;
      set_strides(shape, strides, B::rank);
    }
  }
}

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
struct loop_ref {};
/// A copy loop, seen from run_fused: nothing to do.
struct no_loop {};
template <class... Args>
void run_fused(no_loop, const Args&...) {}

/// Runs one fused loop: hands its rows at index 0, their strides and the extents to Kernel,
/// then rounds its sums and counts its bytes. A free function named by the loop's description
/// (integers and small types), not by the executor.
template <class T, class Kernel, std::size_t DomainOff, class... Lf, class... Mb, class Outs>
void run_fused(loop_ref<Kernel, DomainOff, type_list<Lf...>, type_list<Mb...>>, node_data<T>* data, const extent* shapes,
               const std::size_t* strides, const Outs& outs, thread_team* team, std::size_t threshold, std::size_t& bytes) {
  using A = accumulator_t<T>;
  constexpr std::size_t R = Kernel::rank;
  constexpr std::size_t RI = Kernel::RI;
  const extent* ext = shapes + DomainOff;
  std::size_t total = 1;
  for (std::size_t a = 0; a < R; ++a) total *= ext[a].n;
  if (total == 0) return;
  typename Kernel::args g{};
  for (std::size_t a = 0; a < R; ++a) g.ext[a] = ext[a].n;
  ((static_cast<rk<Lf::k, typename Lf::pointer>&>(g.base).p = leaf_base<typename Lf::pointer, Lf::src>(
        data[Lf::i].input, data[Lf::i].acc.data(), data[Lf::i].storage.data(), data[Lf::i].scalar)),
   ...);
  ((g.leaf_strides[Lf::k] = loop_strides<RI>(R, static_shape{Lf::rank, Lf::unit}, strides + Lf::off)), ...);
  (Kernel::template set_base<typename Mb::spec>(g, data[Mb::i].storage.data(), data[Mb::i].acc.data(), outs), ...);
  ((g.member_strides[Mb::k] = loop_strides<RI>(R, static_shape{Mb::rank, Mb::unit}, strides + Mb::off)), ...);
  Kernel::run(g, total, team, threshold);
  // A reduction's sums, complete after its loop, rounded to the data type for its readers.
  ((Mb::sum ? round_sums(data[Mb::i].storage, data[Mb::i].acc) : void()), ...);
  const auto count = [&](std::size_t off, std::size_t rank) {
    std::size_t n = 1;
    for (std::size_t a = 0; a < rank; ++a) n *= shapes[off + a].n;
    return n;
  };
  bytes += ((count(Lf::off, Lf::rank) * sizeof(T)) + ... + 0);
  bytes += ((((Mb::buf ? sizeof(T) : 0) + (Mb::sum ? sizeof(A) * 2 : 0) + Mb::outs * sizeof(T)) * count(Mb::off, Mb::rank)) +
            ... + 0);
}

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
  using type = member<K, true, X::inner_stride_at(I), X::sched.buffer[I], X::has_acc[I], std::index_sequence<>,
                      typename fx_value<X, L, X::nodes::info[I].child[0]>::type>;
};
template <class X, std::uint32_t L, std::size_t K, std::uint32_t I>
struct member_of<X, L, K, I, false> {
  using type = member<K, false, X::inner_stride_at(I), X::sched.buffer[I], X::has_acc[I],
                      typename output_sequence<X, I>::type, typename fx_compute<X, L, I>::type>;
};

/// The description of fused loop L for run_fused (KL: its leaves, KM: its members).
template <class X, std::uint32_t L, class Outs, class KL = std::make_index_sequence<X::leaf_count(L)>,
          class KM = std::make_index_sequence<X::member_count(L)>>
struct loop_ref_of;
template <class X, std::uint32_t L, class Outs, std::size_t... KL, std::size_t... KM>
struct loop_ref_of<X, L, Outs, std::index_sequence<KL...>, std::index_sequence<KM...>> {
  static constexpr const auto& info = X::nodes::info;
  static constexpr std::uint32_t D = X::sched.loops[L].domain;
  using kernel_t = kernel<typename X::value_type, compute_type<X, L>, info[D].shape.rank,
                          rows<rk<KL, leaf_pointer_type<X, L, X::leaf_v(L, KL)>>...>,
                          type_list<typename member_of<X, L, KM>::type...>, typename out_pointers<Outs>::type,
                          X::loads_first(L)>;
  using type = std::conditional_t<
      X::sched.loops[L].copy, no_loop,
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

}  // namespace fused

/// The state of a plan: extents, strides and data per unique node, in arrays indexed by
/// topological position (flat, above), and the byte count of the last run.
template <class T, class Order, class Outputs>
struct executor;

/// The executor's per-node constants that need the node types (computed once per graph).
template <class Order>
struct executor_tables;
template <class... Ns>
struct executor_tables<type_list<Ns...>> {
  static constexpr std::array<std::uint32_t, sizeof...(Ns)> count_axes{flat::count_axes_of<Ns>::value...};
  /// The value of every constant node (zero for the other nodes).
  static constexpr std::array<rational, sizeof...(Ns)> constants{flat::constant_of<Ns>::value...};
  static constexpr std::array<flat::text_entry, sizeof...(Ns)> texts = flat::with_operands(
      std::array<flat::text_entry, sizeof...(Ns)>{flat::text_entry_of<Ns>::value...}, node_tables<type_list<Ns...>>::info);
};

template <class T, class Order, class Outputs>
struct executor {
  using A = accumulator_t<T>;
  using value_type = T;
  using plan = plan_of<Order, Outputs>;
  using nodes = typename plan::nodes;
  static constexpr const auto& sched = plan::sched;
  static constexpr std::size_t size = nodes::size;
  static constexpr std::array<std::size_t, size + 1> rank_offset = flat::rank_offsets(nodes::info);

  std::array<extent, rank_offset[size] + 1> shapes{};        // + 1: no zero-sized arrays
  std::array<std::size_t, rank_offset[size] + 1> strides{};
  std::array<node_data<T>, size> data{};
  std::size_t bytes = 0;
  std::unique_ptr<thread_team> team;  // null: one thread
  /// Loops over fewer elements run on one thread.
  static constexpr std::size_t parallel_threshold = std::size_t{1} << 15;

  extent* shape(std::size_t i) { return shapes.data() + rank_offset[i]; }
  const extent* shape(std::size_t i) const { return shapes.data() + rank_offset[i]; }
  std::size_t* stride(std::size_t i) { return strides.data() + rank_offset[i]; }
  const std::size_t* stride(std::size_t i) const { return strides.data() + rank_offset[i]; }
  std::size_t element_count(std::size_t i) const { return flat::element_count(shape(i), nodes::info[i].shape.rank); }

  /// A loop over a domain with an axis of extent 1 (per-feature or per-sample statistics, from
  /// sums) computes in the accumulator type: that is where means and variances are combined,
  /// and where rounding sums to float first would lose what accumulating in double kept.
  /// Loops over whole data compute in the data type.
  //
  // Below, what the loops need to know about loop l and node i, as constexpr functions of
  // integers: a variable template member (precise<L>, source_of<L, I>, ...) is a variable per
  // loop and node whose mangled name holds the executor's (every node), which GCC computes for
  // each (about 3 ms each at 800 nodes); a function of integers is one function.
  static constexpr bool precise(std::uint32_t l) {
    return !sched.loops[l].copy && (nodes::info[sched.loops[l].domain].shape.unit_mask != 0 || sums_only(l));
  }
  /// True when every member of loop l is a sum: what it sums is computed in the accumulator type.
  static constexpr bool sums_only(std::uint32_t l) {
    for (std::uint32_t i = 0; i < size; ++i)
      if (sched.member[i] && sched.loop[i] == l && nodes::info[i].k != kind::reduction) return false;
    return true;
  }
  /// True when no member of loop l reads another member's buffer back (see fused::kernel).
  static constexpr bool loads_first(std::uint32_t l) {
    for (std::size_t k = 0; k < leaf_count(l); ++k) {
      const std::uint32_t i = leaf_v(l, k);
      if (sched.member[i] && sched.loop[i] == l) return false;
    }
    return true;
  }
  template <std::uint32_t L>
  using compute_t = std::conditional_t<precise(L), A, T>;
  /// Nodes whose values exist in the accumulator type: sums, and buffers of precise loops.
  static constexpr std::array<bool, size> has_acc = flat::acc_table(nodes::info, sched);
  /// How loop l reads leaf i: through a pointer to its values, precise where it has them and l
  /// is precise, or (a count) by value.
  static constexpr fused::source source_of(std::uint32_t l, std::uint32_t i) {
    return nodes::info[i].k == kind::input   ? fused::source::input
           : nodes::info[i].k == kind::count ? fused::source::count
           : has_acc[i] && precise(l)        ? fused::source::acc
                                             : fused::source::storage;
  }
  /// Stride of node i along the innermost axis of a loop: 1, or 0 where it is broadcast.
  static constexpr std::size_t inner_stride_at(std::uint32_t i) {
    return (nodes::info[i].shape.rank == 0 || nodes::info[i].shape.is_unit(nodes::info[i].shape.rank - 1)) ? 0 : 1;
  }
  static constexpr std::size_t loop_count = sched.loop_count;
  static constexpr auto member_lists = fused::make_lists<loop_count, fused::count_items(nodes::info, sched, false)>(
      nodes::info, sched, false);
  static constexpr auto leaf_lists = fused::make_lists<loop_count, fused::count_items(nodes::info, sched, true)>(
      nodes::info, sched, true);
  /// Leaf k and member k of loop l, their numbers, and the position of node i among the leaves.
  static constexpr std::uint32_t leaf_v(std::uint32_t l, std::size_t k) { return leaf_lists.item[leaf_lists.offset[l] + k]; }
  static constexpr std::uint32_t member_v(std::uint32_t l, std::size_t k) {
    return member_lists.item[member_lists.offset[l] + k];
  }
  static constexpr std::size_t leaf_count(std::uint32_t l) { return leaf_lists.offset[l + 1] - leaf_lists.offset[l]; }
  static constexpr std::size_t member_count(std::uint32_t l) { return member_lists.offset[l + 1] - member_lists.offset[l]; }
  static constexpr std::size_t leaf_position(std::uint32_t l, std::uint32_t i) {
    return fused::position_in(leaf_lists.item, leaf_lists.offset[l], leaf_lists.offset[l + 1], i);
  }
  /// How many requested expressions are node i, and the position of the k-th.
  static constexpr std::size_t output_count(std::uint32_t i) { return fused::count_of(plan::outputs, i); }
  static constexpr std::size_t output_position(std::uint32_t i, std::size_t k) {
    for (std::size_t e = 0; e < plan::outputs.size(); ++e)
      if (plan::outputs[e] == i && k-- == 0) return e;
    return plan::outputs.size();
  }
  /// The fused expression of node i read in a loop: a leaf, a count, a constant, or computed.
  static constexpr fused::read read_of(std::uint32_t i) {
    return nodes::info[i].k == kind::constant                     ? fused::read::constant
           : nodes::info[i].k == kind::count                      ? fused::read::count
           : (nodes::info[i].k == kind::input || sched.buffer[i]) ? fused::read::leaf
                                                                  : fused::read::computed;
  }

  // -- binding and shapes ------------------------------------------------------------------

  static constexpr std::size_t input_count = flat::count_kind(nodes::info, kind::input);
  static constexpr std::array<std::size_t, input_count> input_places =
      flat::places_of_kind<input_count>(nodes::info, kind::input);

  template <class... Bs>
  void bind_inputs(const Bs&... bs) {
    bind_inputs_at(std::make_index_sequence<input_count>{}, bs...);
  }
  template <std::size_t... K, class... Bs>
  void bind_inputs_at(std::index_sequence<K...>, const Bs&... bs) {
    (flat::bind_one<T, typename nodes::template type<input_places[K]>>(shape(input_places[K]), stride(input_places[K]),
                                                                       data[input_places[K]].input, bs...),
     ...);
  }

  static constexpr const auto& count_axes = executor_tables<Order>::count_axes;
  static constexpr const auto& texts = executor_tables<Order>::texts;

  /// Merges the extents of operand c into those of node i (rank R) being assembled in `out`.
  void merge(std::size_t i, std::size_t c, extent* out, std::array<bool, max_rank>& found) const {
    const static_shape& sc = nodes::info[c].shape;
    const std::size_t R = nodes::info[i].shape.rank;
    const extent* in = shape(c);
    for (std::size_t j = 0; j < sc.rank; ++j) {
      if (sc.is_unit(j)) continue;
      const std::size_t a = j + R - sc.rank;
      if (!found[a]) {
        out[a] = in[j];
        found[a] = true;
      } else if (out[a].n != in[j].n) {
        flat::throw_mismatch(flat::render(texts, static_cast<std::uint32_t>(i)), out[a], in[j]);
      }
    }
  }

  /// Every node's extents from its operands', in topological order (one loop over the
  /// planner's table).
  void infer_shapes() {
    for (std::size_t i = 0; i < size; ++i) {
      const planning::node_info& n = nodes::info[i];
      if (n.k == kind::input || n.k == kind::constant) continue;
      const std::size_t R = n.shape.rank;
      extent* out = shape(i);
      if (n.k == kind::count) {
        std::size_t c = 1;
        for (std::size_t a = 0; a < max_rank; ++a)
          if ((count_axes[i] >> a) & 1U) c *= shape(n.shape_child)[a].n;
        data[i].scalar = static_cast<T>(c);
      } else if (n.k == kind::reduction) {
        const extent* in = shape(n.child[0]);
        const std::size_t r = nodes::info[n.child[0]].shape.rank;
        for (std::size_t a = 0; a < R; ++a) out[a] = n.shape.is_unit(a) ? extent{} : in[a + r - R];
      } else if (n.k == kind::index_map) {
        const extent* in = shape(n.child[0]);
        for (std::size_t a = 0; a < R; ++a) {
          const int from = n.from_axis[a];
          out[a] = from < 0 ? extent{} : in[static_cast<std::size_t>(from)];
        }
      } else if (n.k == kind::broadcast) {
        const extent* ref = shape(n.shape_child);
        for (std::size_t a = 0; a < R; ++a) out[a] = ref[a];
        std::array<bool, max_rank> found{};
        for (std::size_t a = 0; a < R; ++a) found[a] = !n.shape.is_unit(a);
        merge(i, n.child[0], out, found);
      } else {
        std::array<bool, max_rank> found{};
        for (std::size_t a = 0; a < R; ++a) out[a] = extent{};
        for (std::size_t c = 0; c < n.arity; ++c) merge(i, n.child[c], out, found);
      }
      flat::set_strides(out, stride(i), R);
    }
  }

  /// Gives every buffer its size (no allocation when the extents did not grow).
  void prepare() {
    for (std::size_t i = 0; i < size; ++i) {
      if (!sched.buffer[i]) continue;
      node_data<T>& s = data[i];
      const std::size_t n = element_count(i);
      s.storage.resize(n);
      if (nodes::info[i].k == kind::reduction) s.acc.assign(n, A(0));
      else if (has_acc[i]) s.acc.resize(n);
    }
  }

  // -- the loops ----------------------------------------------------------------------------

  template <class Outs>
  void run(const Outs& outs) {
    bytes = 0;
    run_loops(outs, std::make_index_sequence<sched.loop_count>{});
    write_remaining(outs, std::make_index_sequence<plan::outputs.size()>{});
  }

  /// Every loop in order: copies through index maps here, fused loops by fused::run_fused
  /// (no function per loop named by the executor).
  template <class Outs, std::size_t... L>
  void run_loops(const Outs& outs, std::index_sequence<L...>) {
    ((sched.loops[L].copy ? copy_index_map(sched.loops[L].domain)
                          : fused::run_fused(typename fused::loop_ref_of<executor, static_cast<std::uint32_t>(L), Outs>::type{}, data.data(),
                                             shapes.data(), strides.data(), outs, team.get(), parallel_threshold, bytes)),
     ...);
  }
  // Copies through index maps and the results no loop writes are run-time loops over places,
  // one function each: functions per node (copy_index_map<M>, leaf_at<I>, write_one<I>) would
  // each be named by the executor, whose name lists every node (GCC 12 mangles every
  // instantiated function, in time quadratic in the name).

  /// Where the values of leaf i are (flat::leaf_source).
  using leaf_source = flat::leaf_source<T>;
  leaf_source source_of_leaf(std::uint32_t i) const {
    switch (nodes::info[i].k) {
      case kind::constant: return {nullptr, executor_tables<Order>::constants[i].template as<T>()};
      case kind::count: return {nullptr, data[i].scalar};
      case kind::input: return {data[i].input, T{}};
      default: return {data[i].storage.data(), T{}};
    }
  }
  /// Node c's strides along the axes of a loop over node i's shape, where axis a of i reads
  /// axis from[a] of c (-1: none); 0 where c is broadcast.
  std::array<std::size_t, max_rank> strides_through(std::uint32_t c, std::size_t r, const std::array<int, max_rank>* from) const {
    std::array<std::size_t, max_rank> st{};
    const static_shape& sc = nodes::info[c].shape;
    for (std::size_t a = 0; a < r; ++a) {
      const int j = from ? (*from)[a] : static_cast<int>(a + sc.rank) - static_cast<int>(r);
      if (j >= 0 && !sc.is_unit(static_cast<std::size_t>(j))) st[a] = stride(c)[j];
    }
    return st;
  }
  /// Writes leaf c's values, read through `st`, over the extents of node i to contiguous dst.
  template <class D>
  void copy_leaf(D* dst, std::uint32_t c, std::uint32_t i, const std::array<std::size_t, max_rank>& st) const {
    const leaf_source src = source_of_leaf(c);
    const std::size_t r = nodes::info[i].shape.rank;
    if (src.p != nullptr) {
      flat::copy_strided(dst, src.p, shape(i), r, st);
    } else {
      const std::size_t count = element_count(i);
      for (std::size_t k = 0; k < count; ++k) dst[k] = static_cast<D>(src.value);
    }
  }
  /// What a copy or a result reads is a leaf: an input, a constant, a count or a buffer.
  static constexpr bool is_leaf(std::uint32_t i) {
    return nodes::info[i].k == kind::input || nodes::info[i].k == kind::constant || nodes::info[i].k == kind::count ||
           sched.buffer[i];
  }
  /// True when loop l writes output i itself (its other outputs are written after the loops).
  static constexpr bool written_by_loop(std::uint32_t i) {
    return sched.member[i] && nodes::info[i].k != kind::reduction && nodes::info[i].k != kind::index_map;
  }
  static constexpr bool reads_leaves_only() {
    for (std::uint32_t l = 0; l < sched.loop_count; ++l)
      if (sched.loops[l].copy && !is_leaf(nodes::info[sched.loops[l].domain].child[0])) return false;
    for (const std::uint32_t i : plan::outputs)
      if (!written_by_loop(i) && nodes::info[i].k != kind::reduction && !is_leaf(i)) return false;
    return true;
  }
  static_assert(reads_leaves_only(), "ctgrad internal error: a copy or a result reads an unbuffered node");

  /// The index map at place m, computed from its operand (its buffer is contiguous).
  void copy_index_map(std::uint32_t m) {
    const planning::node_info& n = nodes::info[m];
    copy_leaf(data[m].storage.data(), n.child[0], m, strides_through(n.child[0], n.shape.rank, &n.from_axis));
    bytes += data[m].storage.size() * sizeof(T) * 2;
  }

  // -- results ------------------------------------------------------------------------------

  /// Requested expressions no loop writes: reductions (accumulated in A), copies through index
  /// maps, and inputs, constants and counts requested as they are.
  template <class Outs, std::size_t... K>
  void write_remaining(const Outs& outs, std::index_sequence<K...>) {
    (write_output(plan::outputs[K], std::get<K>(outs)), ...);
  }
  template <class V>
  void write_output(std::uint32_t i, const V& out) const {
    if (written_by_loop(i)) return;
    const std::size_t r = nodes::info[i].shape.rank;
    const auto st = strides_through(i, r, nullptr);
    if (nodes::info[i].k == kind::reduction) flat::copy_strided(out.data, data[i].acc.data(), shape(i), r, st);  // at full precision
    else copy_leaf(out.data, i, i, st);
  }

  /// The extents of requested expression k (of rank R).
  template <std::size_t R>
  std::array<std::size_t, R> extents_of_output(std::size_t k) const {
    std::array<std::size_t, R> e{};
    const extent* s = shape(plan::outputs[k]);
    for (std::size_t a = 0; a < R; ++a) e[a] = s[a].n;
    return e;
  }
};
template <class... Bs>
struct common_value_type {
  static_assert(sizeof...(Bs) > 0,
                "ctgrad::evaluate(): no bindings given; pass the element type explicitly, "
                "evaluate<double>(...)");
  using type = std::common_type_t<typename Bs::value_type...>;
  static_assert((std::is_same<type, typename Bs::value_type>::value && ...),
                "ctgrad::evaluate(): every bound tensor must have the same element type (all "
                "float or all double)");
};

template <class B, class... Bs>
constexpr void check_bound_once() {
  if constexpr (((Bs::name == B::name ? 1 : 0) + ...) > 1) raise<input_is_bound_twice, B::name>();
}

template <class... Bs>
constexpr void check_bindings() {
  static_assert((is_binding<Bs>::value && ...),
                "ctgrad::evaluate(): after the expressions, pass only ctgrad::bind(...) results");
  if constexpr ((is_binding<Bs>::value && ...)) (check_bound_once<Bs, Bs...>(), ...);
}

/// True when [a, a + na) and [b, b + nb) share memory.
inline bool overlaps(const void* a, std::size_t na, const void* b, std::size_t nb) {
  const auto* pa = static_cast<const unsigned char*>(a);
  const auto* pb = static_cast<const unsigned char*>(b);
  return na > 0 && nb > 0 && pa < pb + nb && pb < pa + na;
}

}  // namespace detail

/// A compiled evaluation of the expressions `Es...` on element type T (float or double): the
/// loops are fixed at compile time, the buffers are kept between calls.
///
///   auto plan = ctgrad::compile<float>(ctgrad::exprs(y, dx));
///   plan.run(std::tuple{y_out, dx_out}, ctgrad::bind(x, xv), ctgrad::bind(dy, dyv));
template <class T, class... Es>
class plan {
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value, "ctgrad::compile<T>(): T must be float or double");
  // What the loops compute: Es with products regrouped (eval/hoist.hpp); the same values.
  using state_t = detail::executor<T, topological_order_t<hoisted_t<Es>...>, type_list<hoisted_t<Es>...>>;
  state_t state_;

 public:
  using value_type = T;
  using schedule_type = detail::plan_of<topological_order_t<hoisted_t<Es>...>, type_list<hoisted_t<Es>...>>;

  /// Evaluates into caller-owned views, one per expression (extents must equal the results').
  /// Every extent is checked, and outputs are checked not to overlap the inputs or each other,
  /// before anything is written. Allocates only when a buffer has to grow.
  template <class... Vs, class... Bs>
  void run(const std::tuple<Vs...>& outs, const Bs&... bindings) {
    static_assert(sizeof...(Vs) == sizeof...(Es), "ctgrad::plan::run(): one output view per expression");
    static_assert(((Es::shape.rank == Vs::rank) && ...), "ctgrad::plan::run(): an output view has the wrong rank");
    detail::check_bindings<Bs...>();
    prepare(bindings...);
    check_extents(outs, std::index_sequence_for<Es...>{});
    check_no_overlap(outs, bindings...);
    state_.run(outs);
  }

  /// Evaluates into new tensors, returned as a std::tuple (one per expression).
  template <class... Bs>
  auto operator()(const Bs&... bindings) {
    detail::check_bindings<Bs...>();
    prepare(bindings...);
    std::tuple<tensor<T, Es::shape.rank>...> results = make_results(std::index_sequence_for<Es...>{});
    std::apply([&](auto&... r) { state_.run(std::tuple{r.as_view()...}); }, results);
    return results;
  }

  /// Splits the large loops over `n` threads (the caller's and n - 1 helper threads, started
  /// here and kept until the plan is destroyed). Loops over at least 2^15 elements are split by
  /// rows when they sum nothing, by columns of their innermost axis when they sum along outer
  /// axes only; results are the same as on one thread, bit for bit (each sum runs in the same
  /// order).
  void set_threads(std::size_t n) {
    state_.team = n > 1 ? std::make_unique<detail::thread_team>(n - 1) : nullptr;
  }
  [[nodiscard]] std::size_t threads() const { return state_.team ? state_.team->size() : 1; }

  /// Bytes read and written by the loops of the last run, each array counted once per loop.
  [[nodiscard]] std::size_t bytes_moved() const { return state_.bytes; }

  /// Number of loops of the plan.
  static constexpr std::size_t loop_count() { return schedule_type::sched.loop_count; }
  /// Number of passes (loops separated by reductions).
  static constexpr std::size_t pass_count() { return static_cast<std::size_t>(schedule_type::sched.passes); }
  /// Number of loops that read all of input `name` (each loop reads an array once; a copy of
  /// a slice, such as first<0>(x), does not count).
  static constexpr std::size_t passes_over(std::string_view name) {
    return count_reading(name, std::make_index_sequence<schedule_type::sched.loop_count>{});
  }

 private:
  template <std::size_t... K>
  std::tuple<tensor<T, Es::shape.rank>...> make_results(std::index_sequence<K...>) const {
    return {tensor<T, Es::shape.rank>(state_.template extents_of_output<Es::shape.rank>(K))...};
  }

  /// Throws shape_error when an output view's extents differ from its result's. The message
  /// shows the expression as the plan computes it, from the executor's text table (products
  /// regrouped, eval/hoist.hpp): ctgrad::to_text of the requested expression would instantiate a
  /// text function per node of it, named by its deep type (11 s of compile time for the 33
  /// outputs of the 16-block network of benchmarks/compile_scaling).
  template <class... Vs, std::size_t... K>
  void check_extents(const std::tuple<Vs...>& outs, std::index_sequence<K...>) const {
    (check_output(K, std::get<K>(outs).extents, state_.template extents_of_output<Vs::rank>(K)), ...);
  }
  template <std::size_t R>
  static void check_output(std::size_t k, const std::array<std::size_t, R>& have, const std::array<std::size_t, R>& want) {
    if (want != have)
      throw shape_error(fmt::format("ctgrad: output {} (`{}`) has extents [{}] but the result has [{}]", k,
                                    detail::flat::render(state_t::texts, state_t::plan::outputs[k]), fmt::join(have, ", "),
                                    fmt::join(want, ", ")));
  }

  template <std::size_t... L>
  static constexpr std::size_t count_reading(std::string_view name, std::index_sequence<L...>) {
    return (reads_input<static_cast<std::uint32_t>(L)>(name) + ... + 0);
  }
  template <std::uint32_t L>
  static constexpr std::size_t reads_input(std::string_view name) {
    using D = typename schedule_type::nodes::template type<schedule_type::sched.loops[L].domain>;
    if constexpr (schedule_type::sched.loops[L].copy) return reads_in_list<D>(name, children_t<D>{});
    else return reads_in_list<D>(name, typename schedule_type::template leaves_t<L>{});
  }
  template <class D, class... Ls>
  static constexpr std::size_t reads_in_list(std::string_view name, type_list<Ls...>) {
    return ((is_input<Ls>::value && name_of<Ls>() == name && whole<D, Ls>()) || ...) ? 1 : 0;
  }
  /// True when a loop over D's shape reads all of Ls (D is non-unit wherever Ls is).
  template <class D, class Ls>
  static constexpr bool whole() {
    constexpr std::size_t R = D::shape.rank, r = Ls::shape.rank;
    if constexpr (r > R) return false;
    else {
      for (std::size_t a = 0; a < r; ++a)
        if (!Ls::shape.is_unit(a) && D::shape.is_unit(a + R - r)) return false;
      return true;
    }
  }
  template <class L>
  static constexpr std::string_view name_of() {
    if constexpr (is_input<L>::value) return L::name.view();
    else return {};
  }

  template <class... Bs>
  void prepare(const Bs&... bindings) {
    state_.bind_inputs(bindings...);
    state_.infer_shapes();
    state_.prepare();
  }

  template <class... Vs, class... Bs>
  static void check_no_overlap(const std::tuple<Vs...>& outs, const Bs&... bindings) {
    std::size_t k = 0;
    std::apply([&](const auto&... o) {
      const auto one = [&](const auto& out) {
        const std::size_t bytes = out.size() * sizeof(*out.data);
        const auto against_input = [&](const auto& b) {
          if (detail::overlaps(out.data, bytes, b.values.data, b.values.size() * sizeof(T)))
            throw shape_error(fmt::format(
                "ctgrad: output {} overlaps the memory of input '{}'; evaluation reads its inputs in "
                "several passes, so an output must not share memory with an input",
                k, b.name.view()));
        };
        (against_input(bindings), ...);
        std::size_t k2 = 0;
        const auto against_output = [&](const auto& other) {
          if (k2 > k && detail::overlaps(out.data, bytes, other.data, other.size() * sizeof(*other.data)))
            throw shape_error(fmt::format("ctgrad: outputs {} and {} share memory", k, k2));
          ++k2;
        };
        (against_output(o), ...);
        ++k;
      };
      (one(o), ...);
    }, outs);
  }
};

/// Compiles the evaluation of a list of expressions (ctgrad::exprs(...), or what vjp returns)
/// for element type T.
template <class T, class... Es>
constexpr plan<T, Es...> compile(expr_list<Es...>) {
  return {};
}

}  // namespace ctgrad

#if defined(__clang__)
#pragma clang diagnostic pop
#endif
