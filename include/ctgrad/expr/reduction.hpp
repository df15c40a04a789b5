#pragma once
// ctgrad/expr/reduction.hpp: sums over axes and the broadcasts that are their adjoints.
//
//   auto x  = ctgrad::input<"x", 2>;
//   auto s  = ctgrad::sum<0>(x);              // shape 1 x n: reduced axes are kept with extent 1
//   auto c  = x - s;                          // s broadcasts along axis 0 (statically known)
//
// Primitives here:
//   sum<Axes...>(x)           sum over a compile-time set of axes, keeping them with extent 1;
//   reduce_to<S>(x)           sum x down to the static shape S (fewer leading axes, unit axes):
//                             the adjoint of an implicit broadcast;
//   broadcast_like(g, ref)    g expanded to the shape of ref: the adjoint of a sum. ref is only
//                             read for its shape, never differentiated;
//   count<Axes...>(x)         the number of elements a sum over Axes adds up (a run-time extent
//                             product, rank 0): what turns sum into mean.
#include <string>

#include <fmt/format.h>

#include "ctgrad/expr/arithmetic.hpp"

namespace ctgrad {

/// Reads only the *shape* of some of its operands (count, broadcast_like's reference).
struct shape_function_op {};

template <class Axes>
struct sum_op;
template <static_shape S>
struct reduce_to_op;
template <class Axes>
struct count_op;

namespace detail {

/// The node whose run-time extents are those of E, found without evaluating anything: an
/// elementwise node has the extents of any operand of the same static shape. Used to
/// canonicalize shape-only references, so count<0>(square(x - mean<0>(x))) is count<0>(x).
template <class E>
struct shape_rep {
  using type = E;
};

template <class E, class... Args>
struct first_same_shape {
  using type = E;
};
template <class E, class A, class... Rest>
struct first_same_shape<E, A, Rest...> {
  using type = std::conditional_t<A::shape == E::shape, typename shape_rep<A>::type,
                                  typename first_same_shape<E, Rest...>::type>;
};

template <class Op, class... Args>
  requires std::derived_from<Op, elementwise_op>
struct shape_rep<node<Op, Args...>> {
  using type = typename first_same_shape<node<Op, Args...>, Args...>::type;
};
template <class G, class Ref>
struct shape_rep<node<broadcast_op, G, Ref>> {
  using type = typename shape_rep<Ref>::type;
};

template <class E>
using shape_rep_t = typename shape_rep<E>::type;

template <class Axes>
std::string axes_label() {
  return fmt::format("{}", fmt::join(Axes::list, ","));
}

template <class Axes, class A>
constexpr bool axes_in_range() {
  for (std::size_t a : Axes::list)
    if (a >= A::shape.rank) return false;
  return true;
}

/// A broadcast whose payload is unit on every axis in Mask: summing it over Mask multiplies.
template <class E>
struct broadcast_parts {
  static constexpr bool value = false;
};
template <class G, class Ref>
struct broadcast_parts<node<broadcast_op, G, Ref>> {
  static constexpr bool value = true;
  using payload = G;
  using reference = Ref;
};

}  // namespace detail

/// `broadcast_like(g, ref)`: g expanded to ref's shape.
struct broadcast_op : shape_function_op {
  template <class G, class Ref>
  static constexpr static_shape result_shape() {
    static_assert(detail::covers(Ref::shape, G::shape),
                  "ctgrad: broadcast_like(g, ref) needs g's rank <= ref's and g's non-unit axes "
                  "non-unit in ref");
    return Ref::shape;
  }
  static constexpr notation kind = notation::call;
  static constexpr int prec = precedence::atom;
  template <class...>
  static std::string symbol() { return "broadcast_like"; }

  template <std::size_t I, class G, class Self, class Gv, class Ref>
  static constexpr auto vjp(G g, Self, Gv, Ref) {
    if constexpr (I == 0) return ctgrad::make_node<reduce_to_op<Gv::shape>>(g);
    else return zero_node{};  // ref is read for its shape only
  }
  // forward rule: broadcasting is linear, so the tangent is broadcast the same way
  template <std::size_t I, class T, class Self, class Gv, class Ref>
  static constexpr auto jvp(T t, Self, Gv, Ref ref) {
    if constexpr (I == 0) return ctgrad::make_node<broadcast_op>(t, ref);
    else return zero_node{};
  }

  template <class G, class Ref>
  static constexpr auto simplify(G g, Ref) {
    if constexpr (G::shape == Ref::shape) return g;
    else if constexpr (detail::negated<G>::value)
      return ctgrad::negate(ctgrad::make_node<broadcast_op>(typename detail::negated<G>::operand{}, Ref{}));
    else if constexpr (detail::broadcast_parts<G>::value)
      return ctgrad::make_node<broadcast_op>(typename detail::broadcast_parts<G>::payload{}, Ref{});
    else if constexpr (!std::is_same_v<detail::shape_rep_t<Ref>, Ref>)
      return ctgrad::make_node<broadcast_op>(g, detail::shape_rep_t<Ref>{});
    else return no_rewrite{};
  }
};

/// `count<Axes...>(x)`: the number of elements of x along Axes (rank 0).
template <std::size_t... Axes>
struct count_op<axes_t<Axes...>> : shape_function_op {
  static constexpr auto axes_list() { return axes_t<Axes...>::list; }
  template <class A>
  static constexpr static_shape result_shape() { return {0, 0}; }
  static constexpr notation kind = notation::call;
  static constexpr int prec = precedence::atom;
  template <class...>
  static std::string symbol() { return fmt::format("count<{}>", detail::axes_label<axes_t<Axes...>>()); }

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G, Self, A) { return zero_node{}; }  // a count is not differentiable
  template <std::size_t, class T, class Self, class A>
  static constexpr auto jvp(T, Self, A) { return zero_node{}; }

  template <class A>
  static constexpr auto simplify(A) {
    if constexpr (!std::is_same_v<detail::shape_rep_t<A>, A>)
      return ctgrad::make_node<count_op>(detail::shape_rep_t<A>{});
    else return no_rewrite{};
  }
};

/// `sum<Axes...>(x)`: sum over Axes, which are kept with extent 1.
template <std::size_t... Axes>
struct sum_op<axes_t<Axes...>> : reduction_op {
  using axes = axes_t<Axes...>;
  template <class A>
  static constexpr static_shape result_shape() { return {A::shape.rank, A::shape.unit_mask | axes::mask}; }
  static constexpr notation kind = notation::call;
  static constexpr int prec = precedence::atom;
  template <class...>
  static std::string symbol() { return fmt::format("sum<{}>", detail::axes_label<axes>()); }

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A a) { return ctgrad::make_node<broadcast_op>(g, a); }
  // forward rule: a sum is linear, the tangent is summed the same way
  template <std::size_t, class T, class Self, class A>
  static constexpr auto jvp(T t, Self, A) { return ctgrad::make_node<sum_op>(t); }

  template <class A>
  static constexpr auto simplify(A) {
    constexpr bool already_unit = (A::shape.unit_mask & axes::mask) == axes::mask;
    if constexpr (already_unit) return A{};
    else if constexpr (detail::negated<A>::value)
      return ctgrad::negate(ctgrad::make_node<sum_op>(typename detail::negated<A>::operand{}));
    else if constexpr (detail::broadcast_parts<A>::value) {
      // sum over Axes of broadcast_like(g, ref), g unit on those axes: count * g
      using g = typename detail::broadcast_parts<A>::payload;
      using ref = typename detail::broadcast_parts<A>::reference;
      if constexpr (g::shape.rank == A::shape.rank && (g::shape.unit_mask & axes::mask) == axes::mask &&
                    (A::shape.unit_mask | axes::mask) == (g::shape.unit_mask))
        return ctgrad::multiply(ctgrad::make_node<count_op<axes>>(ref{}), g{});
      else return no_rewrite{};
    } else return no_rewrite{};
  }
};

/// `reduce_to<S>(x)`: sum x down to the static shape S (the adjoint of broadcasting to x).
template <static_shape S>
struct reduce_to_op : reduction_op {
  template <class A>
  static constexpr static_shape result_shape() {
    static_assert(detail::covers(A::shape, S), "ctgrad: reduce_to<S>(x) needs S to be a broadcast source of x");
    return S;
  }
  static constexpr notation kind = notation::call;
  static constexpr int prec = precedence::atom;
  template <class...>
  static std::string symbol() {
    std::string s;
    for (std::size_t a = 0; a < S.rank; ++a) s += fmt::format("{}{}", a ? "," : "", S.is_unit(a) ? '1' : '_');
    return fmt::format("sum_to<{}>", s);
  }

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A a) { return ctgrad::make_node<broadcast_op>(g, a); }
  template <std::size_t, class T, class Self, class A>
  static constexpr auto jvp(T t, Self, A) { return ctgrad::make_node<reduce_to_op>(t); }

  template <class A>
  static constexpr auto simplify(A a) {
    if constexpr (A::shape == S) return a;
    else if constexpr (A::shape.rank == S.rank)  // no axis dropped: a plain sum, shared with sum<...>
      return ctgrad::make_node<sum_op<detail::axes_from_mask_t<S.unit_mask & ~A::shape.unit_mask>>>(a);
    else if constexpr (detail::negated<A>::value)
      return ctgrad::negate(ctgrad::make_node<reduce_to_op>(typename detail::negated<A>::operand{}));
    else return no_rewrite{};
  }
};

/// Sum over the compile-time axes `Axes...`, keeping them with extent 1 (like keepdims=True).
template <std::size_t... Axes, Expression A>
constexpr auto sum(A a) {
  static_assert(sizeof...(Axes) > 0, "ctgrad: sum<Axes...>(x) needs at least one axis");
  static_assert(detail::axes_in_range<axes_t<Axes...>, A>(),
                "ctgrad: sum<Axes...>(x) names an axis that x does not have (every axis must be "
                "less than x's rank)");
  return ctgrad::make_node<sum_op<axes_t<Axes...>>>(a);
}

/// The number of elements of x along `Axes...` (a run-time value, rank 0).
template <std::size_t... Axes, Expression A>
constexpr auto count(A a) {
  static_assert(detail::axes_in_range<axes_t<Axes...>, A>(),
                "ctgrad: count<Axes...>(x) names an axis that x does not have");
  return ctgrad::make_node<count_op<axes_t<Axes...>>>(a);
}

/// g expanded to the shape of ref (ref is read for its shape only).
template <Expression G, Expression Ref>
constexpr auto broadcast_like(G g, Ref ref) { return ctgrad::make_node<broadcast_op>(g, ref); }

/// Zeros of ref's shape: the typed zero gradient of an input the outputs do not depend on.
template <Expression Ref>
constexpr auto zeros_like(Ref ref) { return ctgrad::broadcast_like(zero_node{}, ref); }

/// Ones of ref's shape.
template <Expression Ref>
constexpr auto ones_like(Ref ref) { return ctgrad::broadcast_like(one_node{}, ref); }

/// Sum x down to the static shape S.
template <static_shape S, Expression A>
constexpr auto reduce_to(A a) { return ctgrad::make_node<reduce_to_op<S>>(a); }

}  // namespace ctgrad
