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

#include "ctgrad/eval/bind.hpp"
#include "ctgrad/eval/hoist.hpp"
#include "ctgrad/eval/parallel.hpp"
#include "ctgrad/eval/schedule.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/expr/text.hpp"
#include "ctgrad/graph/topo.hpp"

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
using accumulator_t = std::conditional_t<std::is_same_v<T, float>, double, T>;

namespace detail {

using planning::kind;

inline std::string describe(const extent& e) {
  if (e.input.empty()) return fmt::format("an extent of {}", e.n);
  return fmt::format("input '{}' axis {} has extent {}", e.input, e.axis, e.n);
}

template <class E>
[[noreturn]] void throw_mismatch(const extent& a, const extent& b) {
  throw shape_error(fmt::format("ctgrad: extents do not match in `{}`: {}, but {}", ctgrad::to_text(E{}),
                                describe(a), describe(b)));
}

/// The binding type for input `Name` among `Bs...`, as hana::just(type) or hana::nothing.
template <fixed_string Name, class... Bs>
constexpr auto find_binding() {
  return boost::hana::find_if(boost::hana::tuple_t<Bs...>, [](auto b) {
    return boost::hana::bool_c<std::remove_cvref_t<decltype(b)>::type::name == Name>;
  });
}

template <std::size_t R>
std::size_t element_count_of(const runtime_shape<R>& s) {
  std::size_t n = 1;
  for (const extent& e : s) n *= e.n;
  return n;
}

/// Calls f(index) for every index of `shape` in row-major order (used by copies through index
/// maps and for requested inputs and constants; the fused loops have their own walk).
template <std::size_t R, class F>
void for_each_index(const runtime_shape<R>& shape, F&& f) {
  const std::size_t total = element_count_of(shape);
  if (total == 0) return;
  std::array<std::size_t, R> idx{};
  for (std::size_t lin = 0; lin < total; ++lin) {
    f(idx);
    for (std::size_t a = R; a-- > 0;) {
      if (++idx[a] < shape[a].n) break;
      idx[a] = 0;
    }
  }
}

/// The node types of a plan, their table and their schedule.
template <class... Ns>
struct plan_nodes {
  using index_t = graph_index<type_list<Ns...>>;
  static constexpr std::size_t size = sizeof...(Ns);
  static constexpr std::array<planning::node_info, sizeof...(Ns)> info{
      planning::info_for<index_t, Ns>::value...};
  template <class N>
  static constexpr std::uint32_t index = static_cast<std::uint32_t>(index_t::template place_t<N>::value);
  template <std::size_t I>
  using type = typename index_t::template node_at<I>;
};

template <class Nodes, class Outputs>
struct plan_of;
template <class... Ns, class... Es>
struct plan_of<type_list<Ns...>, type_list<Es...>> {
  using nodes = plan_nodes<Ns...>;
  static constexpr std::array<std::uint32_t, sizeof...(Es)> outputs{nodes::template index<Es>...};
  static constexpr planning::schedule<sizeof...(Ns)> sched = planning::make_schedule(nodes::info, outputs);

  /// The members of loop L (topological order), as indices.
  template <std::uint32_t L>
  static constexpr auto members() {
    constexpr std::size_t count = [] {
      std::size_t c = 0;
      for (std::uint32_t i = 0; i < sizeof...(Ns); ++i) c += sched.member[i] && sched.loop[i] == L;
      return c;
    }();
    std::array<std::uint32_t, count> m{};
    std::size_t k = 0;
    for (std::uint32_t i = 0; i < sizeof...(Ns); ++i)
      if (sched.member[i] && sched.loop[i] == L) m[k++] = i;
    return m;
  }

  /// What loop L reads from memory: inputs, counts and buffers, found through the fused nodes
  /// of its members. A buffer its own loop computes is read back at the same index, after the
  /// member that writes it (members run in topological order), so it is computed once.
  template <std::uint32_t L>
  static constexpr auto leaves() {
    constexpr std::size_t N = sizeof...(Ns);
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
  static auto member_types(std::index_sequence<I...>) -> type_list<typename nodes::template type<members<L>()[I]>...>;
  template <std::uint32_t L, std::size_t... I>
  static auto leaf_types(std::index_sequence<I...>) -> type_list<typename nodes::template type<leaves<L>()[I]>...>;

  template <std::uint32_t L>
  using members_t = decltype(member_types<L>(std::make_index_sequence<members<L>().size()>{}));
  template <std::uint32_t L>
  using leaves_t = decltype(leaf_types<L>(std::make_index_sequence<leaves<L>().size()>{}));
  template <std::uint32_t L>
  using domain_t = typename nodes::template type<sched.loops[L].domain>;
};

/// Per node: its run-time shape and strides; for an input, the bound data; for a node with a
/// buffer, its values; for a reduction, also its sums in the accumulator type.
template <class T, class N>
struct slot {
  static constexpr std::size_t rank = N::shape.rank;
  runtime_shape<rank> shape{};
  std::array<std::size_t, rank> strides{};
  const T* input = nullptr;
  std::vector<T> storage;
  std::vector<accumulator_t<T>> acc;
  T scalar{};
};

/// The row pointer (or, for a count, the value) a fused loop reads leaf L through: P is a
/// pointer to the data type or to the accumulator type, or the value type of a count.
template <class P, class L>
struct row {
  P p{};
};
template <class... Rs>
struct rows : Rs... {};

/// Where a fused loop writes member M: its buffer row, or for a reduction its accumulator row
/// and a running sum when the innermost axis is reduced; and the rows of the outputs it is.
template <class T, class M, class Outs, class Es>
struct dest;
template <class T, class M, class... Os, class... Es>
struct dest<T, M, std::tuple<Os...>, type_list<Es...>> {
  T* buf = nullptr;
  accumulator_t<T>* acc = nullptr;
  accumulator_t<T> sum{};
  std::tuple<typename Os::element_type*...> out{};
};
template <class T, class Ms, class Outs, class Es>
struct dests;
template <class T, class... Ms, class Outs, class Es>
struct dests<T, type_list<Ms...>, Outs, Es> : dest<T, Ms, Outs, Es>... {};

/// The state of a plan: a slot per unique node (as base classes rather than a std::tuple,
/// whose constructor constraints cost GCC 12 compile time exponential in the nesting depth of
/// node types), and the byte count of the last run.
template <class T, class Order, class Outputs>
struct executor;

template <class T, class... Ns, class... Es>
struct executor<T, type_list<Ns...>, type_list<Es...>> : slot<T, Ns>... {
  using A = accumulator_t<T>;
  using plan = plan_of<type_list<Ns...>, type_list<Es...>>;
  using nodes = typename plan::nodes;
  static constexpr const auto& sched = plan::sched;

  std::size_t bytes = 0;
  std::unique_ptr<thread_team> team;  // null: one thread
  /// Loops over fewer elements run on one thread.
  static constexpr std::size_t parallel_threshold = std::size_t{1} << 15;

  template <class N>
  slot<T, N>& at() { return static_cast<slot<T, N>&>(*this); }
  template <class N>
  const slot<T, N>& at() const { return static_cast<const slot<T, N>&>(*this); }
  template <class N>
  static constexpr std::uint32_t id = nodes::template index<N>;
  template <class N>
  static constexpr bool buffered = sched.buffer[id<N>];

  /// A loop over a domain with an axis of extent 1 (per-feature or per-sample statistics, from
  /// sums) computes in the accumulator type: that is where means and variances are combined,
  /// and where rounding sums to float first would lose what accumulating in double kept.
  /// Loops over whole data compute in the data type.
  template <std::uint32_t L>
  static constexpr bool sums_only = [] {
    for (std::uint32_t i : plan::template members<L>())
      if (nodes::info[i].k != kind::reduction) return false;
    return true;
  }();
  template <std::uint32_t L>
  static constexpr bool precise =
      !sched.loops[L].copy && (nodes::info[sched.loops[L].domain].shape.unit_mask != 0 || sums_only<L>);
  template <std::uint32_t L>
  using compute_t = std::conditional_t<precise<L>, A, T>;
  /// Nodes whose values exist in the accumulator type: sums, and buffers of precise loops.
  template <class N>
  static constexpr bool has_acc = planning::kind_v<N> == kind::reduction ||
                                  (buffered<N> && sched.member[id<N>] && precise<sched.loop[id<N>]>);
  /// How loop L reads leaf N: through a pointer to its values, precise where it has them and L
  /// is precise, or (a count) by value.
  template <std::uint32_t L, class N>
  using row_t = row<std::conditional_t<planning::kind_v<N> == kind::count, compute_t<L>,
                                       std::conditional_t<has_acc<N> && precise<L>, const A*, const T*>>,
                    N>;

  // -- binding and shapes ------------------------------------------------------------------

  template <class... Bs>
  void bind_inputs(const Bs&... bs) {
    (bind_input<Ns>(bs...), ...);
  }
  template <class N, class... Bs>
  void bind_input(const Bs&... bs) {
    if constexpr (is_input_v<N>) {
      using found = decltype(find_binding<N::name, Bs...>());
      if constexpr (decltype(boost::hana::is_nothing(found{}))::value) {
        raise<no_value_is_bound_for_input, N::name>();
      } else {
        using B = typename std::remove_cvref_t<decltype(found{}.value())>::type;
        if constexpr (B::rank != N::shape.rank) {
          raise<input_is_bound_to_a_tensor_of_another_rank, N::name>();
        } else {
          static_assert(std::is_same_v<typename B::value_type, T>,
                        "ctgrad::evaluate(): every bound tensor must have the same element type");
          const B& b = std::get<const B&>(std::forward_as_tuple(bs...));
          auto& s = at<N>();
          for (std::size_t a = 0; a < B::rank; ++a) s.shape[a] = extent{b.values.extents[a], N::name.view(), a};
          s.input = (B::rank == 0 && b.values.data == nullptr) ? &b.scalar : b.values.data;
          set_strides<N>();
        }
      }
    }
  }

  template <class N>
  void set_strides() {
    auto& s = at<N>();
    std::size_t st = 1;
    for (std::size_t a = N::shape.rank; a-- > 0;) {
      s.strides[a] = st;
      st *= s.shape[a].n;
    }
  }

  void infer_shapes() { (infer<Ns>(), ...); }

  template <class N>
  void infer() {
    if constexpr (!is_input_v<N> && !is_constant_v<N>) {
      infer_node<N>(children_t<N>{});
      set_strides<N>();
    }
  }

  /// Merges operand C's extents into a result of rank R being assembled in `out`.
  template <class E, class C, std::size_t R>
  void merge(runtime_shape<R>& out, std::array<bool, R>& found) const {
    constexpr std::size_t r = C::shape.rank;
    for (std::size_t j = 0; j < r; ++j) {
      if (C::shape.is_unit(j)) continue;
      const std::size_t a = j + R - r;
      const extent& e = at<C>().shape[j];
      if (!found[a]) {
        out[a] = e;
        found[a] = true;
      } else if (out[a].n != e.n) {
        throw_mismatch<E>(out[a], e);
      }
    }
  }

  template <class N, class... Args>
  void infer_node(type_list<Args...>) {
    constexpr std::size_t R = N::shape.rank;
    constexpr kind k = planning::kind_v<N>;
    using C0 = std::tuple_element_t<0, std::tuple<Args...>>;
    auto& out = at<N>().shape;
    if constexpr (k == kind::count) {
      std::size_t n = 1;
      for (std::size_t a : N::op::axes_list()) n *= at<C0>().shape[a].n;
      at<N>().scalar = static_cast<T>(n);
    } else if constexpr (k == kind::reduction) {
      constexpr std::size_t r = C0::shape.rank;
      for (std::size_t a = 0; a < R; ++a) out[a] = N::shape.is_unit(a) ? extent{} : at<C0>().shape[a + r - R];
    } else if constexpr (k == kind::index_map) {
      const auto& in = at<C0>().shape;
      for (std::size_t a = 0; a < R; ++a) {
        const int from = nodes::info[id<N>].from_axis[a];
        out[a] = from < 0 ? extent{} : in[static_cast<std::size_t>(from)];
      }
    } else if constexpr (k == kind::broadcast) {
      using Ref = std::tuple_element_t<1, std::tuple<Args...>>;
      out = at<Ref>().shape;
      std::array<bool, R> found{};
      for (std::size_t a = 0; a < R; ++a) found[a] = !N::shape.is_unit(a);
      merge<N, C0>(out, found);
    } else {
      std::array<bool, R> found{};
      out = {};
      (merge<N, Args>(out, found), ...);
    }
  }

  /// Gives every buffer its size (no allocation when the extents did not grow).
  void prepare() { (prepare_node<Ns>(), ...); }
  template <class N>
  void prepare_node() {
    if constexpr (buffered<N>) {
      auto& s = at<N>();
      const std::size_t n = element_count_of(s.shape);
      s.storage.resize(n);
      if constexpr (planning::kind_v<N> == kind::reduction) s.acc.assign(n, A(0));
      else if constexpr (has_acc<N>) s.acc.resize(n);
    }
  }

  // -- the loops ----------------------------------------------------------------------------

  template <class Outs>
  void run(const Outs& outs) {
    bytes = 0;
    run_loops(outs, std::make_index_sequence<sched.loop_count>{});
    write_remaining(outs, std::index_sequence_for<Es...>{});
  }

  template <class Outs, std::size_t... L>
  void run_loops(const Outs& outs, std::index_sequence<L...>) {
    (run_loop<static_cast<std::uint32_t>(L)>(outs), ...);
  }

  /// Offset of node E's element at loop index idx (rank R >= E's rank, right-aligned; unit
  /// axes of E are broadcast).
  template <class E, std::size_t R>
  std::size_t offset(const std::array<std::size_t, R>& idx) const {
    constexpr std::size_t r = E::shape.rank;
    std::size_t off = 0;
    const auto& st = at<E>().strides;
    for (std::size_t j = 0; j < r; ++j)
      if (!E::shape.is_unit(j)) off += idx[j + R - r] * st[j];
    return off;
  }

  /// Stride of E along the innermost axis of a loop: 1, or 0 where E is broadcast.
  template <class E>
  static constexpr std::size_t inner_stride = (E::shape.rank == 0 || E::shape.is_unit(E::shape.rank - 1)) ? 0 : 1;

  template <class E>
  static constexpr std::size_t bytes_of_element = sizeof(T);

  template <std::uint32_t L, class Outs>
  void run_loop(const Outs& outs) {
    if constexpr (sched.loops[L].copy) {
      using M = typename nodes::template type<sched.loops[L].domain>;
      copy_through_index_map<M>(children_t<M>{});
    } else {
      using D = typename plan::template domain_t<L>;
      using Ms = typename plan::template members_t<L>;
      using Ls = typename plan::template leaves_t<L>;
      fused_loop<L, D>(outs, Ms{}, Ls{});
    }
  }

  template <class M, class C>
  void copy_through_index_map(type_list<C>) {
    auto& s = at<M>();
    constexpr std::size_t r = M::shape.rank, rc = C::shape.rank;
    for_each_index(s.shape, [&](const std::array<std::size_t, r>& idx) {
      std::array<std::size_t, rc> in{};
      for (std::size_t a = 0; a < r; ++a) {
        const int from = nodes::info[id<M>].from_axis[a];
        if (from >= 0) in[static_cast<std::size_t>(from)] = idx[a];
      }
      s.storage[offset<M>(idx)] = leaf_at<C>(in);
    });
    bytes += s.storage.size() * sizeof(T) * 2;
  }

  /// The value of a leaf (input, constant, count, buffer) at a full index of its own rank.
  template <class E, std::size_t R>
  T leaf_at(const std::array<std::size_t, R>& idx) const {
    if constexpr (is_constant_v<E>) return E::value.template as<T>();
    else if constexpr (is_input_v<E>) return at<E>().input[offset<E>(idx)];
    else if constexpr (planning::kind_v<E> == kind::count) return at<E>().scalar;
    else if constexpr (buffered<E>) return at<E>().storage[offset<E>(idx)];
    else static_assert(buffered<E>, "ctgrad internal error: a copy reads an unbuffered node");
  }

  /// Positions k of the requested expressions that are node M.
  template <class M>
  static constexpr auto output_positions() {
    constexpr std::size_t count = (std::size_t{std::is_same_v<M, Es>} + ... + 0);
    std::array<std::size_t, count> pos{};
    std::size_t k = 0, i = 0;
    ((std::is_same_v<M, Es> ? (pos[k++] = i, ++i) : ++i), ...);
    return pos;
  }

  template <std::uint32_t L, class D, class Outs, class... Ms, class... Ls>
  void fused_loop(const Outs& outs, type_list<Ms...>, type_list<Ls...>) {
    constexpr std::size_t R = D::shape.rank;
    const auto& ext = at<D>().shape;
    const std::size_t total = element_count_of(ext);
    if (total == 0) return;
    const std::size_t inner = R == 0 ? 1 : ext[R - 1].n;
    // Work is split between threads when the loop is big enough to pay for the hand-over.
    // Without sums, by rows: each thread streams its own contiguous block. With sums along the
    // outer axes only, by columns of the innermost axis (multiples of 16): each thread then
    // owns its columns of every accumulator, and each column is summed in the same order as
    // on one thread. Sums along the innermost axis: one thread.
    constexpr bool has_sums = ((planning::kind_v<Ms> == kind::reduction) || ...);
    constexpr bool by_columns = R > 0 && has_sums && ((planning::kind_v<Ms> != kind::reduction || inner_stride<Ms> == 1) && ...);
    const std::size_t rows_count = total / inner;
    std::size_t parts = 1;
    if (team && total >= parallel_threshold) {
      if constexpr (!has_sums) parts = std::min(team->size(), rows_count);
      else if constexpr (by_columns) parts = std::min(team->size(), inner / 16);
    }
    if (parts <= 1) {
      rows_loop<L, D, Outs>(outs, 0, inner, 0, rows_count, type_list<Ms...>{}, type_list<Ls...>{});
    } else {
      auto part = [&](std::size_t p) {
        if constexpr (!has_sums) {
          const std::size_t r0 = rows_count * p / parts, r1 = rows_count * (p + 1) / parts;
          rows_loop<L, D, Outs>(outs, 0, inner, r0, r1, type_list<Ms...>{}, type_list<Ls...>{});
        } else {
          const std::size_t chunk = (inner / parts + 15) / 16 * 16;
          const std::size_t c0 = std::min(inner, p * chunk), c1 = p + 1 == parts ? inner : std::min(inner, c0 + chunk);
          rows_loop<L, D, Outs>(outs, c0, c1, 0, rows_count, type_list<Ms...>{}, type_list<Ls...>{});
        }
      };
      team->run(parts, part);
    }
    (finish<Ms>(), ...);
    bytes += ((element_count_of(at<Ls>().shape) * bytes_of_element<Ls>) + ... + 0);
    bytes += (member_bytes<Ms>(outs) + ... + 0);
  }

  /// Rows [r0, r1) of loop L's domain (rows: every index of the outer axes, in row-major
  /// order), columns [c0, c1) of the innermost axis.
  template <std::uint32_t L, class D, class Outs, class... Ms, class... Ls>
  void rows_loop(const Outs& outs, std::size_t c0, std::size_t c1, std::size_t r0, std::size_t r1, type_list<Ms...>,
                 type_list<Ls...>) {
    constexpr std::size_t R = D::shape.rank;
    const auto& ext = at<D>().shape;
    rows<row_t<L, Ls>...> r;
    dests<T, type_list<Ms...>, Outs, type_list<Es...>> d;
    (init_count<L, Ls>(r), ...);
    std::array<std::size_t, (R == 0 ? 1 : R)> idx{};
    if constexpr (R > 1) {  // the outer index of row r0
      std::size_t rest = r0;
      for (std::size_t a = R - 1; a-- > 0;) {
        idx[a] = rest % ext[a].n;
        rest /= ext[a].n;
      }
    }
    std::size_t row_index = r0;
    // A loop that only sums over rows (per-feature sums of an m x n domain) takes four rows at
    // a time: each accumulator is then loaded and stored once per four rows, and the four
    // values are added pairwise first. The grouping depends on the row only, so a split of the
    // columns between threads sums in the same order.
    constexpr bool four_rows = R == 2 && ((planning::kind_v<Ms> == kind::reduction && inner_stride<Ms> == 1) && ...);
    if constexpr (four_rows) {
      std::array<rows<row_t<L, Ls>...>, 4> q;
      for (auto& qk : q) (init_count<L, Ls>(qk), ...);
      for (; row_index + 4 <= r1; row_index += 4) {
        (set_dest<Ms, R>(d, outs, idx), ...);
        for (auto& qk : q) {
          (set_row<L, Ls, R>(qk, idx), ...);
          ++idx[0];
        }
        four_rows_loop<L, Outs>(q, d, c0, c1, type_list<Ms...>{});
      }
    }
    for (; row_index < r1; ++row_index) {
      (set_row<L, Ls, R>(r, idx), ...);
      (set_dest<Ms, R>(d, outs, idx), ...);
      inner_loop<L, Outs>(r, d, c0, c1, type_list<Ms...>{});
      if constexpr (R > 1) {
        for (std::size_t a = R - 1; a-- > 0;) {
          if (++idx[a] < ext[a].n) break;
          idx[a] = 0;
        }
      }
    }
  }

  /// A reduction's sums, complete after its loop, rounded to the data type for its readers.
  template <class M>
  void finish() {
    if constexpr (planning::kind_v<M> == kind::reduction) {
      auto& s = at<M>();
      for (std::size_t i = 0; i < s.acc.size(); ++i) s.storage[i] = static_cast<T>(s.acc[i]);
    }
  }

  template <class M, class Outs>
  std::size_t member_bytes(const Outs&) const {
    const std::size_t n = element_count_of(at<M>().shape);
    return (buffered<M> ? n * sizeof(T) : 0) + (planning::kind_v<M> == kind::reduction ? n * sizeof(A) * 2 : 0) +
           output_positions<M>().size() * n * sizeof(T);
  }

  template <std::uint32_t L, class Lf, class Rows>
  void init_count(Rows& r) const {
    if constexpr (planning::kind_v<Lf> == kind::count)
      static_cast<row_t<L, Lf>&>(r).p = static_cast<compute_t<L>>(at<Lf>().scalar);
  }

  template <std::uint32_t L, class Lf, std::size_t R, class Rows, std::size_t RI>
  void set_row(Rows& r, const std::array<std::size_t, RI>& idx) const {
    if constexpr (planning::kind_v<Lf> != kind::count) {
      std::array<std::size_t, R> full{};
      for (std::size_t a = 0; a + 1 < R; ++a) full[a] = idx[a];
      auto& p = static_cast<row_t<L, Lf>&>(r).p;
      if constexpr (is_input_v<Lf>) p = at<Lf>().input + offset<Lf>(full);
      else if constexpr (has_acc<Lf> && precise<L>) p = at<Lf>().acc.data() + offset<Lf>(full);
      else p = at<Lf>().storage.data() + offset<Lf>(full);
    }
  }

  template <class M, std::size_t R, class Dests, class Outs, std::size_t RI>
  void set_dest(Dests& d, const Outs& outs, const std::array<std::size_t, RI>& idx) {
    auto& dm = static_cast<dest<T, M, Outs, type_list<Es...>>&>(d);
    std::array<std::size_t, R> full{};
    for (std::size_t a = 0; a + 1 < R; ++a) full[a] = idx[a];
    if constexpr (planning::kind_v<M> == kind::reduction) {
      dm.acc = at<M>().acc.data() + offset<M>(full);
    } else if constexpr (buffered<M>) {
      dm.buf = at<M>().storage.data() + offset<M>(full);
      if constexpr (has_acc<M>) dm.acc = at<M>().acc.data() + offset<M>(full);
    }
    constexpr auto pos = output_positions<M>();
    if constexpr (pos.size() > 0 && planning::kind_v<M> != kind::reduction) {
      const std::size_t off = offset<M>(full);
      set_outputs<M>(dm, outs, off, std::make_index_sequence<pos.size()>{});
    }
  }
  template <class M, class Dm, class Outs, std::size_t... I>
  static void set_outputs(Dm& dm, const Outs& outs, std::size_t off, std::index_sequence<I...>) {
    constexpr auto pos = output_positions<M>();
    ((std::get<pos[I]>(dm.out) = std::get<pos[I]>(outs).data + off), ...);
  }

  /// True when no member of loop L reads another member's buffer back (see plan_of::leaves):
  /// then every value of an iteration can be computed before anything is stored, which lets
  /// the compiler share subexpressions between members (a store through a pointer could
  /// otherwise alias what a later member loads).
  template <std::uint32_t L>
  static constexpr bool loads_before_stores = [] {
    for (std::uint32_t i : plan::template leaves<L>())
      if (sched.member[i] && sched.loop[i] == L) return false;
    return true;
  }();

  template <std::uint32_t L, class Outs, class Rows, class Dests, class... Ms>
  static void inner_loop(const Rows& r, Dests& d, std::size_t j0, std::size_t j1, type_list<Ms...>) {
    if constexpr (loads_before_stores<L>) {
      CTGRAD_INDEPENDENT_ITERATIONS
      for (std::size_t j = j0; j < j1; ++j) {
        const std::tuple<member_t<L, Ms>...> v{member_value<L, Ms>(r, j)...};
        store_members<L, Outs, Ms...>(d, v, j, std::index_sequence_for<Ms...>{});
      }
    } else {
      CTGRAD_INDEPENDENT_ITERATIONS
      for (std::size_t j = j0; j < j1; ++j) (store_member<L, Outs, Ms>(d, member_value<L, Ms>(r, j), j), ...);
    }
    (flush<Outs, Ms>(d), ...);
  }

  /// Sums over four rows at once (see rows_loop): every member is a reduction along rows.
  template <std::uint32_t L, class Outs, class Rows, class Dests, class... Ms>
  static void four_rows_loop(const std::array<Rows, 4>& q, Dests& d, std::size_t j0, std::size_t j1, type_list<Ms...>) {
    CTGRAD_INDEPENDENT_ITERATIONS
    for (std::size_t j = j0; j < j1; ++j) {
      const std::tuple<member_t<L, Ms>...> v{
          ((member_value<L, Ms>(q[0], j) + member_value<L, Ms>(q[1], j)) +
           (member_value<L, Ms>(q[2], j) + member_value<L, Ms>(q[3], j)))...};
      store_members<L, Outs, Ms...>(d, v, j, std::index_sequence_for<Ms...>{});
    }
  }

  /// What member M contributes at inner index j: the summand of a reduction (in the
  /// accumulator type), or the value of an elementwise node.
  template <std::uint32_t L, class M>
  using member_t = std::conditional_t<planning::kind_v<M> == kind::reduction, A, compute_t<L>>;
  template <std::uint32_t L, class M, class Rows>
  static member_t<L, M> member_value(const Rows& r, std::size_t j) {
    if constexpr (planning::kind_v<M> == kind::reduction) {
      using C = std::tuple_element_t<0, typename to_tuple<children_t<M>>::type>;
      return static_cast<A>(value<L, C>(r, j));  // summed in the accumulator type
    } else {
      return compute<L, M>(r, j);
    }
  }
  template <std::uint32_t L, class Outs, class... Ms, class Dests, class V, std::size_t... I>
  static void store_members(Dests& d, const V& v, std::size_t j, std::index_sequence<I...>) {
    (store_member<L, Outs, Ms>(d, std::get<I>(v), j), ...);
  }
  /// Adds member M's contribution to its sum, or stores its value where it goes.
  template <std::uint32_t L, class Outs, class M, class Dests>
  static void store_member(Dests& d, member_t<L, M> v, std::size_t j) {
    auto& dm = static_cast<dest<T, M, Outs, type_list<Es...>>&>(d);
    if constexpr (planning::kind_v<M> == kind::reduction) {
      if constexpr (inner_stride<M> == 0) dm.sum += v;
      else dm.acc[j] += v;
    } else {
      if constexpr (buffered<M>) dm.buf[j] = static_cast<T>(v);
      if constexpr (has_acc<M>) dm.acc[j] = v;
      if constexpr (output_positions<M>().size() > 0)
        store_outputs<M>(dm, v, j, std::make_index_sequence<output_positions<M>().size()>{});
    }
  }
  template <class M, class Dm, class V, std::size_t... I>
  static void store_outputs(Dm& dm, V v, std::size_t j, std::index_sequence<I...>) {
    constexpr auto pos = output_positions<M>();
    ((std::get<pos[I]>(dm.out)[j] = static_cast<std::remove_cvref_t<decltype(*std::get<pos[I]>(dm.out))>>(v)), ...);
  }

  template <class Outs, class M, class Dests>
  static void flush(Dests& d) {
    if constexpr (planning::kind_v<M> == kind::reduction && inner_stride<M> == 0) {
      auto& dm = static_cast<dest<T, M, Outs, type_list<Es...>>&>(d);
      dm.acc[0] += dm.sum;
      dm.sum = A(0);
    }
  }

  template <class L>
  struct to_tuple;
  template <class... Ts>
  struct to_tuple<type_list<Ts...>> {
    using type = std::tuple<Ts...>;
  };

  /// The value of E at inner index j of loop L: read from a row, or computed (fused).
  template <std::uint32_t L, class E, class Rows>
  static compute_t<L> value(const Rows& r, std::size_t j) {
    constexpr std::uint32_t i = id<E>;
    constexpr kind k = planning::kind_v<E>;
    if constexpr (k == kind::constant) {
      return E::value.template as<compute_t<L>>();
    } else if constexpr (k == kind::count) {
      return static_cast<const row_t<L, E>&>(r).p;
    } else if constexpr (k == kind::input || sched.buffer[i]) {
      return static_cast<compute_t<L>>(static_cast<const row_t<L, E>&>(r).p[inner_stride<E> * j]);
    } else {
      return compute<L, E>(r, j);
    }
  }
  /// The value of E at inner index j of loop L, computed from its operands.
  template <std::uint32_t L, class E, class Rows>
  static compute_t<L> compute(const Rows& r, std::size_t j) {
    if constexpr (planning::kind_v<E> == kind::broadcast)
      return value<L, std::tuple_element_t<0, typename to_tuple<children_t<E>>::type>>(r, j);
    else
      return apply_op<L, E>(r, j, children_t<E>{});
  }
  template <std::uint32_t L, class E, class Rows, class... Args>
  static compute_t<L> apply_op(const Rows& r, std::size_t j, type_list<Args...>) {
    return static_cast<compute_t<L>>(E::op::apply(value<L, Args>(r, j)...));
  }

  // -- results ------------------------------------------------------------------------------

  /// Requested expressions no loop writes: reductions (accumulated in A), copies through index
  /// maps, and inputs, constants and counts requested as they are.
  template <class Outs, std::size_t... K>
  void write_remaining(const Outs& outs, std::index_sequence<K...>) {
    (write_one<std::tuple_element_t<K, std::tuple<Es...>>>(std::get<K>(outs)), ...);
  }
  template <class E, class V>
  void write_one(const V& out) {
    constexpr kind k = planning::kind_v<E>;
    if constexpr (!(sched.member[id<E>] && k != kind::reduction && k != kind::index_map)) {
      using U = std::remove_cvref_t<decltype(*out.data)>;
      constexpr std::size_t R = E::shape.rank;
      std::size_t lin = 0;
      if constexpr (k == kind::reduction) {  // at full precision
        for_each_index(at<E>().shape, [&](const std::array<std::size_t, R>& idx) {
          out.data[lin++] = static_cast<U>(at<E>().acc[offset<E>(idx)]);
        });
      } else {
        for_each_index(at<E>().shape, [&](const std::array<std::size_t, R>& idx) {
          out.data[lin++] = static_cast<U>(leaf_at<E>(idx));
        });
      }
    }
  }

  template <class E>
  std::array<std::size_t, E::shape.rank> extents_of() const {
    std::array<std::size_t, E::shape.rank> e{};
    for (std::size_t a = 0; a < E::shape.rank; ++a) e[a] = at<E>().shape[a].n;
    return e;
  }
};

template <class... Bs>
struct common_value_type {
  static_assert(sizeof...(Bs) > 0,
                "ctgrad::evaluate(): no bindings given; pass the element type explicitly, "
                "evaluate<double>(...)");
  using type = std::common_type_t<typename Bs::value_type...>;
  static_assert((std::is_same_v<type, typename Bs::value_type> && ...),
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
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "ctgrad::compile<T>(): T must be float or double");
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
    std::size_t k = 0;
    const auto check = [&](auto e, const auto& out) {
      const auto want = state_.template extents_of<hoisted_t<decltype(e)>>();
      if (want != out.extents)
        throw shape_error(fmt::format("ctgrad: output {} (`{}`) has extents [{}] but the result has [{}]", k,
                                      ctgrad::to_text(e), fmt::join(out.extents, ", "), fmt::join(want, ", ")));
      ++k;
    };
    std::apply([&](const auto&... o) { (check(Es{}, o), ...); }, outs);
    check_no_overlap(outs, bindings...);
    state_.run(outs);
  }

  /// Evaluates into new tensors, returned as a std::tuple (one per expression).
  template <class... Bs>
  auto operator()(const Bs&... bindings) {
    detail::check_bindings<Bs...>();
    prepare(bindings...);
    std::tuple<tensor<T, Es::shape.rank>...> results{tensor<T, Es::shape.rank>(state_.template extents_of<hoisted_t<Es>>())...};
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
    return ((is_input_v<Ls> && name_of<Ls>() == name && whole<D, Ls>()) || ...) ? 1 : 0;
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
    if constexpr (is_input_v<L>) return L::name.view();
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
            throw std::invalid_argument(fmt::format(
                "ctgrad: output {} overlaps the memory of input '{}'; evaluation reads its inputs in "
                "several passes, so an output must not share memory with an input",
                k, b.name.view()));
        };
        (against_input(bindings), ...);
        std::size_t k2 = 0;
        const auto against_output = [&](const auto& other) {
          if (k2 > k && detail::overlaps(out.data, bytes, other.data, other.size() * sizeof(*other.data)))
            throw std::invalid_argument(fmt::format("ctgrad: outputs {} and {} share memory", k, k2));
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
