#pragma once
// ctgrad/eval/evaluate.hpp: evaluating any set of expressions together.
//
//   auto [y, dx] = ctgrad::evaluate(ctgrad::exprs(y_expr, dx_expr),
//                                   ctgrad::bind(x, x_view), ctgrad::bind(dy, dy_view));
//   ctgrad::tensor<double, 2> only_y = ctgrad::evaluate(y_expr, ctgrad::bind(x, x_view));
//
// The plan is decided at compile time from the unique nodes of all requested expressions
// (forward and gradients together, so a gradient reuses the forward's statistics):
//   - sums are materialized; everything is computed in double when the data are float, and
//     only the results are rounded to float;
//   - an elementwise node is materialized when it has several consumers (an output counts as
//     one) or is read under a broadcast (it would otherwise be recomputed per element);
//   - everything else is fused into the loop of the node that reads it.
// Run-time extents are checked for every node before anything is computed or written; a
// mismatch throws ctgrad::shape_error naming the inputs, axes and extents.
#include <boost/hana/find_if.hpp>
#include <boost/hana/optional.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>

#include <array>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "ctgrad/eval/bind.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/expr/text.hpp"
#include "ctgrad/graph/topo.hpp"

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

template <class N, class List>
struct index_in;
template <class N, class... Ts>
struct index_in<N, type_list<Ts...>> {
  static constexpr std::size_t value = [] {
    constexpr bool hits[] = {std::is_same_v<N, Ts>..., false};
    std::size_t i = 0;
    while (!hits[i]) ++i;
    return i;
  }();
};

template <class N>
inline constexpr bool is_count_v = false;
template <class Axes, class A>
inline constexpr bool is_count_v<node<count_op<Axes>, A>> = true;
template <class N>
inline constexpr bool is_broadcast_v = false;
template <class G, class Ref>
inline constexpr bool is_broadcast_v<node<broadcast_op, G, Ref>> = true;
template <class N>
inline constexpr bool is_reduction_v = false;
template <class Op, class... A>
inline constexpr bool is_reduction_v<node<Op, A...>> = std::derived_from<Op, reduction_op>;
template <class N>
inline constexpr bool is_index_map_v = false;
template <class Op, class... A>
inline constexpr bool is_index_map_v<node<Op, A...>> = std::derived_from<Op, index_map_op>;

/// How P reads its operand N: the number of value reads, and whether any is under a broadcast.
template <class P, class N>
struct reads {
  static constexpr std::size_t count = 0;
  static constexpr bool broadcast = false;
};
template <class Op, class... Args, class N>
struct reads<node<Op, Args...>, N> {
  using P = node<Op, Args...>;
  static constexpr std::size_t count = [] {
    if constexpr (is_count_v<P>) return std::size_t{0};
    else if constexpr (is_broadcast_v<P>) return std::size_t{std::is_same_v<std::tuple_element_t<0, std::tuple<Args...>>, N>};
    else return (std::size_t{std::is_same_v<Args, N>} + ...);
  }();
  // An index-mapping parent (expand, squeeze) computes nothing itself, so whether its operand
  // would be recomputed depends on the parent's own readers: stay on the safe side.
  static constexpr bool broadcast =
      count > 0 && !is_reduction_v<P> && (is_index_map_v<P> || !(P::shape == N::shape));
};

template <class N, class Order, class Outputs>
struct materialize;

template <class N, class... Ps, class... Os>
struct materialize<N, type_list<Ps...>, type_list<Os...>> {
  static constexpr bool value = [] {
    if constexpr (is_input_v<N> || is_constant_v<N> || is_count_v<N> || is_broadcast_v<N> || is_index_map_v<N>)
      return false;
    else if constexpr (is_reduction_v<N>) return true;
    else {
      constexpr std::size_t uses = (reads<Ps, N>::count + ... + 0) + (std::size_t{std::is_same_v<Os, N>} + ... + 0);
      return uses >= 2 || (reads<Ps, N>::broadcast || ...);
    }
  }();
};

/// Per node: its run-time shape and strides; for an input, the bound data (element type T);
/// for a materialized node, its values in the compute type A (double for float data).
template <class T, class N>
struct slot {
  using A = accumulator_t<T>;
  static constexpr std::size_t rank = N::shape.rank;
  runtime_shape<rank> shape{};
  std::array<std::size_t, rank> strides{};
  const T* input = nullptr;
  const A* data = nullptr;
  std::vector<A> storage;
  A scalar{};
};

/// Calls f(index, linear) for every index of `shape` in row-major order.
template <std::size_t R, class F>
void for_each_index(const runtime_shape<R>& shape, F&& f) {
  if constexpr (R == 0) {
    f(std::array<std::size_t, 0>{}, std::size_t{0});
  } else {
    const std::size_t total = element_count(shape);
    if (total == 0) return;
    std::array<std::size_t, R> idx{};
    const std::size_t inner = shape[R - 1].n;
    for (std::size_t lin = 0; lin < total;) {
      for (idx[R - 1] = 0; idx[R - 1] < inner; ++idx[R - 1], ++lin) f(idx, lin);
      for (std::size_t a = R - 1; a-- > 0;) {
        if (++idx[a] < shape[a].n) break;
        idx[a] = 0;
      }
    }
  }
}

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

/// The state of one evaluation: a slot (run-time shape, and buffer if materialized) per node.
template <class T, class Order, class Outputs>
struct executor;

// The slots are base classes, one per unique node, rather than a std::tuple: std::tuple's
// constructor constraints cost compile time exponential in the depth of deeply nested node
// types with GCC 12, while a base-class lookup by type is cheap.
template <class T, class... Ns, class Outputs>
struct executor<T, type_list<Ns...>, Outputs> : slot<T, Ns>... {
  using order = type_list<Ns...>;

  template <class N>
  static constexpr bool materialized = materialize<N, order, Outputs>::value;

  template <class N>
  slot<T, N>& at() { return static_cast<slot<T, N>&>(*this); }
  template <class N>
  const slot<T, N>& at() const { return static_cast<const slot<T, N>&>(*this); }

  // -- binding and shapes ------------------------------------------------------------------

  template <class... Bs>
  void bind_inputs(const std::tuple<Bs...>& bs) {
    (bind_input<Ns>(bs), ...);
  }
  template <class N, class... Bs>
  void bind_input(const std::tuple<Bs...>& bs) {
    if constexpr (is_input_v<N>) {
      using found = decltype(find_binding<N::name, Bs...>());
      if constexpr (decltype(boost::hana::is_nothing(found{}))::value) {
        raise<no_value_is_bound_for_input, N::name>();
      } else {
        using B = typename std::remove_cvref_t<decltype(found{}.value())>::type;
        const B& b = std::get<B>(bs);
        if constexpr (B::rank != N::shape.rank) {
          raise<input_is_bound_to_a_tensor_of_another_rank, N::name>();
        } else {
          static_assert(std::is_same_v<typename B::value_type, T>,
                        "ctgrad::evaluate(): every bound tensor must have the same element type");
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

  /// Merges operand A's extents into a result of rank R being assembled in `out`.
  template <class E, class A, std::size_t R>
  void merge(runtime_shape<R>& out, std::array<bool, R>& found) const {
    constexpr std::size_t r = A::shape.rank;
    for (std::size_t j = 0; j < r; ++j) {
      if (A::shape.is_unit(j)) continue;
      const std::size_t a = j + R - r;
      const extent& e = at<A>().shape[j];
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
    auto& out = at<N>().shape;
    if constexpr (is_count_v<N>) {
      // rank 0; its value is computed in run()
    } else if constexpr (is_reduction_v<N>) {
      using A = std::tuple_element_t<0, std::tuple<Args...>>;
      constexpr std::size_t r = A::shape.rank;
      for (std::size_t a = 0; a < R; ++a)
        out[a] = N::shape.is_unit(a) ? extent{} : at<A>().shape[a + r - R];
    } else if constexpr (is_index_map_v<N>) {
      using A = std::tuple_element_t<0, std::tuple<Args...>>;
      const auto& in = at<A>().shape;
      if constexpr (R >= A::shape.rank) {  // expand: operand axis j goes to positions[j]
        for (std::size_t a = 0; a < R; ++a) out[a] = extent{};
        for (std::size_t j = 0; j < A::shape.rank; ++j) out[N::op::positions[j]] = in[j];
      } else {  // squeeze: drop the listed axes
        std::size_t k = 0;
        for (std::size_t a = 0; a < A::shape.rank; ++a)
          if (!((N::op::axes::mask >> a) & 1U)) out[k++] = in[a];
      }
    } else if constexpr (is_broadcast_v<N>) {
      using G = std::tuple_element_t<0, std::tuple<Args...>>;
      using Ref = std::tuple_element_t<1, std::tuple<Args...>>;
      out = at<Ref>().shape;
      std::array<bool, R> found{};
      for (std::size_t a = 0; a < R; ++a) found[a] = !N::shape.is_unit(a);
      merge<N, G>(out, found);
    } else {
      std::array<bool, R> found{};
      out = {};
      (merge<N, Args>(out, found), ...);
    }
  }

  // -- computing --------------------------------------------------------------------------

  template <class E, std::size_t R>
  std::size_t offset(const std::array<std::size_t, R>& idx) const {
    constexpr std::size_t r = E::shape.rank;
    std::size_t off = 0;
    const auto& st = at<E>().strides;
    for (std::size_t j = 0; j < r; ++j)
      if (!E::shape.is_unit(j)) off += idx[j + R - r] * st[j];
    return off;
  }

  using compute_t = accumulator_t<T>;

  /// The value of E at `idx`, an index into a loop of rank R >= E's rank (right-aligned).
  template <class E, std::size_t R>
  compute_t read(const std::array<std::size_t, R>& idx) const {
    if constexpr (is_constant_v<E>) return E::value.template as<compute_t>();
    else if constexpr (is_input_v<E>) return static_cast<compute_t>(at<E>().input[offset<E>(idx)]);
    else if constexpr (materialized<E>) return at<E>().data[offset<E>(idx)];
    else if constexpr (is_count_v<E>) return at<E>().scalar;
    else return compute<E>(idx, children_t<E>{});
  }

  template <class E, std::size_t R, class... Args>
  compute_t compute(const std::array<std::size_t, R>& idx, type_list<Args...>) const {
    if constexpr (is_broadcast_v<E>) {
      return read<std::tuple_element_t<0, std::tuple<Args...>>>(idx);
    } else if constexpr (is_index_map_v<E>) {
      using A = std::tuple_element_t<0, std::tuple<Args...>>;
      constexpr std::size_t r = E::shape.rank, ra = A::shape.rank;
      std::array<std::size_t, ra> inner{};
      if constexpr (r >= ra) {  // expand: operand axis j sits at positions[j] of E
        for (std::size_t j = 0; j < ra; ++j) inner[j] = idx[E::op::positions[j] + R - r];
      } else {  // squeeze: the dropped axes have extent 1
        std::size_t k = 0;
        for (std::size_t a = 0; a < ra; ++a)
          inner[a] = ((E::op::axes::mask >> a) & 1U) ? 0 : idx[(k++) + R - r];
      }
      return read<A>(inner);
    } else {
      return static_cast<compute_t>(E::op::apply(read<Args>(idx)...));
    }
  }

  void run() { (run_node<Ns>(), ...); }

  template <class N>
  void run_node() {
    auto& s = at<N>();
    if constexpr (is_count_v<N>) {
      s.scalar = static_cast<compute_t>(count_value<N>(children_t<N>{}));
    } else if constexpr (materialized<N> && is_reduction_v<N>) {
      using A = std::tuple_element_t<0, typename to_tuple<children_t<N>>::type>;
      s.storage.assign(element_count(s.shape), compute_t(0));
      for_each_index(at<A>().shape, [&](const auto& idx, std::size_t) { s.storage[offset<N>(idx)] += read<A>(idx); });
      s.data = s.storage.data();
    } else if constexpr (materialized<N>) {
      s.storage.resize(element_count(s.shape));
      for_each_index(s.shape, [&](const auto& idx, std::size_t lin) { s.storage[lin] = compute<N>(idx, children_t<N>{}); });
      s.data = s.storage.data();
    }
  }

  template <class L>
  struct to_tuple;
  template <class... Ts>
  struct to_tuple<type_list<Ts...>> {
    using type = std::tuple<Ts...>;
  };

  template <class N, class A>
  std::size_t count_value(type_list<A>) const {
    std::size_t n = 1;
    for (std::size_t a : N::op::axes_list()) n *= at<A>().shape[a].n;
    return n;
  }

  template <class E>
  std::array<std::size_t, E::shape.rank> extents_of() const {
    std::array<std::size_t, E::shape.rank> e{};
    for (std::size_t a = 0; a < E::shape.rank; ++a) e[a] = at<E>().shape[a].n;
    return e;
  }

  template <class E, class U>
  void write(view<U, E::shape.rank> out) const {
    for_each_index(at<E>().shape, [&](const auto& idx, std::size_t lin) { out.data[lin] = static_cast<U>(read<E>(idx)); });
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

/// The executor for evaluating Es... in element type T. It is created as a plain local object:
/// std::make_unique of it costs GCC 12 compile time exponential in the nesting depth of the
/// node types (measured with a chain of 8 tanh blocks: 20 s against 2 s).
template <class T, class... Es>
using executor_for = executor<T, topological_order_t<Es...>, type_list<Es...>>;

}  // namespace detail

/// Evaluates a list of expressions (ctgrad::exprs(...), or what vjp returns) together; returns
/// a std::tuple of owned tensors, one per expression.
template <class T = void, class... Es, class... Bs>
auto evaluate(expr_list<Es...>, Bs... bindings) {
  detail::check_bindings<Bs...>();
  using V = std::conditional_t<std::is_void_v<T>, typename detail::common_value_type<Bs...>::type, T>;
  const std::tuple<Bs...> bs{bindings...};
  detail::executor_for<V, Es...> state;
  state.bind_inputs(bs);
  state.infer_shapes();
  state.run();
  std::tuple<tensor<V, Es::shape.rank>...> results{tensor<V, Es::shape.rank>(state.template extents_of<Es>())...};
  std::apply([&](auto&... r) { (state.template write<Es>(r.as_view()), ...); }, results);
  return results;
}

/// Evaluates one expression; returns an owned tensor.
template <class T = void, Expression E, class... Bs>
auto evaluate(E, Bs... bindings) {
  return std::get<0>(evaluate<T>(expr_list<E>{}, bindings...));
}

/// Evaluates into caller-owned buffers: `outs` is a tuple of views, one per expression, whose
/// extents must equal the results'. Every extent is checked before anything is written.
template <class T = void, class... Es, class... Us, std::size_t... Rs, class... Bs>
void evaluate_into(expr_list<Es...>, std::tuple<view<Us, Rs>...> outs, Bs... bindings) {
  static_assert(sizeof...(Es) == sizeof...(Us), "ctgrad::evaluate_into(): one output view per expression");
  static_assert(((Es::shape.rank == Rs) && ...), "ctgrad::evaluate_into(): an output view has the wrong rank");
  detail::check_bindings<Bs...>();
  using V = std::conditional_t<std::is_void_v<T>, typename detail::common_value_type<Bs...>::type, T>;
  const std::tuple<Bs...> bs{bindings...};
  detail::executor_for<V, Es...> state;
  state.bind_inputs(bs);
  state.infer_shapes();
  std::size_t k = 0;
  auto check = [&](auto e, const auto& out) {
    const auto want = state.template extents_of<decltype(e)>();
    if (want != out.extents)
      throw shape_error(fmt::format("ctgrad::evaluate_into(): output {} (`{}`) has extents [{}] but the result has [{}]",
                                    k, ctgrad::to_text(e), fmt::join(out.extents, ", "), fmt::join(want, ", ")));
    ++k;
  };
  std::apply([&](const auto&... o) { (check(Es{}, o), ...); }, outs);
  state.run();
  std::apply([&](const auto&... o) { (state.template write<Es>(o), ...); }, outs);
}

}  // namespace ctgrad
