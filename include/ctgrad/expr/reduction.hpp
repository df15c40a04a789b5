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
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "ctgrad/expr/arithmetic.hpp"
#include "ctgrad/expr/reshape.hpp"

namespace ctgrad {

template <class Axes>
struct sum_op;
template <static_shape S>
struct reduce_to_op;
template <class Axes>
struct count_op;

struct stop_gradient_op;
struct square_op;

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
  requires(op_traits<Op>::category == op_category::elementwise)
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

/// The axes of a rank-R operand that reduce_to<S> sums over: its leading axes S does not have,
/// and the axes S keeps with extent 1 where the operand is not unit.
constexpr std::uint32_t reduced_axes_mask(static_shape s, static_shape operand) {
  std::uint32_t m = 0;
  for (std::size_t a = 0; a < operand.rank; ++a) {
    const bool dropped = a + s.rank < operand.rank;
    if (dropped ? true : (s.is_unit(a + s.rank - operand.rank) && !operand.is_unit(a))) m |= std::uint32_t{1} << a;
  }
  return m;
}
/// The axes along which broadcast_like(g, ref) repeats g (shape `g`), numbered in ref's shape.
constexpr std::uint32_t broadcast_axes_mask(static_shape g, static_shape ref) {
  std::uint32_t m = 0;
  for (std::size_t a = 0; a < ref.rank; ++a) {
    const bool missing = a + g.rank < ref.rank;
    if (!ref.is_unit(a) && (missing || g.is_unit(a + g.rank - ref.rank))) m |= std::uint32_t{1} << a;
  }
  return m;
}

// '@' in a rule text stands for the axes the operation acts along (see expr/operation.hpp).
inline constexpr std::string_view reduction_rule_latex =
    "c = \\sum_{@} a:\\quad \\bar{a} \\mathrel{+}= \\bar{c} \\text{ repeated along } @";

/// True when a node of shape `e` (right-aligned in a rank-r result) is constant along the axes
/// in `mask`. A function of the shape, not of the node: GCC 12 mangles the name of every
/// function template instance, at a cost that grows faster than linearly with the node types
/// in it, so helpers of the simplifier take values or are class templates.
constexpr bool invariant_along(static_shape e, std::uint32_t mask, std::size_t r) {
  for (std::size_t a = 0; a < r; ++a) {
    if (!((mask >> a) & 1U) || a + e.rank < r) continue;
    if (!e.is_unit(a + e.rank - r)) return false;
  }
  return true;
}

/// A product split into its factors constant along the axes in Mask (`invariant`) and the
/// rest (`variant`), either of which may be 1: sum_a(u * v) = v * sum_a(u) when v does not
/// vary along a. Products, negations and divisions by invariant factors are looked through.
template <class E, std::uint32_t Mask, std::size_t R>
struct factors {
  using invariant = std::conditional_t<detail::invariant_along(E::shape, Mask, R), E, one_node>;
  using variant = std::conditional_t<detail::invariant_along(E::shape, Mask, R), one_node, E>;
};
template <class A, class B, std::uint32_t Mask, std::size_t R>
  requires(!detail::invariant_along(node<mul_op, A, B>::shape, Mask, R))
struct factors<node<mul_op, A, B>, Mask, R> {
  using invariant = detail::made_t<mul_op, typename factors<A, Mask, R>::invariant, typename factors<B, Mask, R>::invariant>;
  using variant = detail::made_t<mul_op, typename factors<A, Mask, R>::variant, typename factors<B, Mask, R>::variant>;
};
template <class A, std::uint32_t Mask, std::size_t R>
  requires(!detail::invariant_along(node<neg_op, A>::shape, Mask, R))
struct factors<node<neg_op, A>, Mask, R> {
  using invariant = detail::made_t<neg_op, typename factors<A, Mask, R>::invariant>;
  using variant = typename factors<A, Mask, R>::variant;
};
template <class A, class B, std::uint32_t Mask, std::size_t R>
  requires(!detail::invariant_along(node<div_op, A, B>::shape, Mask, R) && detail::invariant_along(B::shape, Mask, R))
struct factors<node<div_op, A, B>, Mask, R> {
  using invariant = detail::made_t<div_op, typename factors<A, Mask, R>::invariant, B>;
  using variant = typename factors<A, Mask, R>::variant;
};

/// True when E contains a sum: its value is known only after a pass over its operand.
template <class E>
struct has_sum : std::false_type {};
template <class Op, class... Args>
struct has_sum<node<Op, Args...>> : std::bool_constant<std::derived_from<Op, reduction_op> || (has_sum<Args>::value || ...)> {};

/// True for data minus a shift, w - stop_gradient(s): centered up to the spread of the data.
template <class E>
struct is_shifted_data : std::false_type {};
template <class W, class S>
struct is_shifted_data<node<sub_op, W, node<stop_gradient_op, S>>> : std::true_type {};

/// A product u * (v - c) (or u * (v + c), either order) where v is shifted data (see
/// is_shifted_data) and c is constant along the axes in Mask and computed from a sum (a
/// statistic of v, such as its mean): summed over Mask, it is sum(u * v) -/+ c * sum(u), two
/// sums that no longer wait for c, so they run in the pass that computes c's own sums (for
/// batch norm: dgamma and dx need one pass over x and dy instead of two). Only for shifted
/// data: c is then of the order of the data's spread and the subtraction cancels nothing;
/// for raw data (x - mean(x)) the split would be the cancellation-prone E[x y] - E[x] E[y]
/// form, and it is not made.
template <class E, std::uint32_t Mask, std::size_t R>
struct shifted_by_statistic : std::false_type {};
template <class Op, class V, class C, std::uint32_t Mask, std::size_t R>
  requires(std::is_same<Op, sub_op>::value || std::is_same<Op, add_op>::value)
struct shifted_by_statistic<node<Op, V, C>, Mask, R>
    : std::bool_constant<is_shifted_data<V>::value && has_sum<C>::value && detail::invariant_along(C::shape, Mask, R) &&
                         V::shape == node<Op, V, C>::shape> {
  using v = V;
  using c = C;
  using minus = std::bool_constant<std::is_same<Op, sub_op>::value>;
};

// (Facts about deep node types are base classes such as std::bool_constant, never static data
// members: GCC 12 emits and mangles each static data member of each instantiated class.)
template <class A, std::uint32_t Mask>
struct distributes : std::false_type {};
template <class P, class Q, std::uint32_t Mask, std::size_t R = node<mul_op, P, Q>::shape.rank,
          bool Right = shifted_by_statistic<Q, Mask, R>::value && P::shape == node<mul_op, P, Q>::shape,
          bool Left = !Right && shifted_by_statistic<P, Mask, R>::value && Q::shape == node<mul_op, P, Q>::shape>
struct distributes_product : std::bool_constant<Left || Right> {
  using shifted = std::conditional_t<Right, shifted_by_statistic<Q, Mask, R>, shifted_by_statistic<P, Mask, R>>;
  using u = std::conditional_t<Right, P, Q>;
};
template <class P, class Q, std::uint32_t Mask>
struct distributes<node<mul_op, P, Q>, Mask> : distributes_product<P, Q, Mask> {};

/// square(v - c) for shifted data v and a statistic c (see shifted_by_statistic).
template <class A, std::uint32_t Mask>
struct squared_shift : std::false_type {};
template <class B, std::uint32_t Mask>
struct squared_shift<node<square_op, B>, Mask> : std::bool_constant<shifted_by_statistic<B, Mask, B::shape.rank>::value> {
  using shifted = shifted_by_statistic<B, Mask, B::shape.rank>;
};

/// True when sum over Mask of A can take constant factors out: A is a product with factors of
/// both kinds, and the varying part alone still has A's shape.
template <class A, std::uint32_t Mask, class F = factors<A, Mask, A::shape.rank>,
          bool Split = !std::is_same<typename F::invariant, one_node>::value && !std::is_same<typename F::variant, one_node>::value>
struct factors_out : std::false_type {};
template <class A, std::uint32_t Mask, class F>
struct factors_out<A, Mask, F, true> : std::bool_constant<F::variant::shape == A::shape> {};

/// True when every axis in `axes` is less than `rank`.
template <std::size_t N>
constexpr bool axes_in_range(const std::array<std::size_t, N>& axes, std::size_t rank) {
  for (std::size_t a : axes)
    if (a >= rank) return false;
  return true;
}

/// A broadcast whose payload is unit on every axis in Mask: summing it over Mask multiplies.
template <class E>
struct broadcast_parts : std::false_type {};
template <class G, class Ref>
struct broadcast_parts<node<broadcast_op, G, Ref>> : std::true_type {
  using payload = G;
  using reference = Ref;
};

}  // namespace detail

/// What sums (sum, reduce_to) share: they accumulate from 0 by addition.
struct summing_reduction : reduction_op {
  template <class T>
  static constexpr T identity() { return T(0); }
  template <class T>
  static constexpr T combine(T acc, T v) { return acc + v; }
};

/// `broadcast_like(g, ref)`: g expanded to ref's shape.
struct broadcast_op {
  // its own kind for the planner: operand 0 repeated to the shape of operand 1 (read for its
  // shape only)
  static constexpr op_category category = op_category::broadcast;
  static constexpr std::uint32_t shape_only_operands = 0b10;
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
  // Written as its payload: broadcasting is implicit in the formulas, as in NumPy and in the
  // reference document (a 1 x n row meets an m x n array by repetition along i). Constants
  // spread over a shape are bold: 0, 1, c 1.
  static latex_operand latex(const latex_operand& g, const latex_operand&) {
    if (g.constant && g.value == rational{0}) return {"\\mathbf{0}", precedence::atom};
    if (g.constant && g.value == rational{1}) return {"\\mathbf{1}", precedence::atom};
    if (g.constant) return {g.wrapped(precedence::multiplicative, true) + " \\mathbf{1}", precedence::multiplicative};
    return g;
  }
  static constexpr std::string_view rule_name = "adjoint of a broadcast = sum over those axes";
  static constexpr std::string_view rule_latex =
      "c = a \\text{ repeated along } @:\\quad \\bar{a} \\mathrel{+}= \\sum_{@} \\bar{c}";

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
    else if constexpr (detail::scaled<G>::value)  // constant factors move out, to meet others and fold
      return ctgrad::multiply(typename detail::scaled<G>::factor{},
                              ctgrad::make_node<broadcast_op>(typename detail::scaled<G>::operand{}, Ref{}));
    else if constexpr (detail::broadcast_parts<G>::value)
      return ctgrad::make_node<broadcast_op>(typename detail::broadcast_parts<G>::payload{}, Ref{});
    else if constexpr (!std::is_same<detail::shape_rep_t<Ref>, Ref>::value)
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
  static latex_operand latex(const latex_operand& a) {
    return {fmt::format("\\operatorname{{count}}_{{{}}}\\left({}\\right)", detail::latex_axes(axes_t<Axes...>::mask), a.tex),
            precedence::atom};
  }
  static constexpr std::string_view rule_name = "no derivative (a count of elements is a shape, not a value)";
  static constexpr std::string_view rule_latex = "";

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G, Self, A) { return zero_node{}; }  // a count is not differentiable
  template <std::size_t, class T, class Self, class A>
  static constexpr auto jvp(T, Self, A) { return zero_node{}; }

  template <class A>
  static constexpr auto simplify(A) {
    if constexpr (!std::is_same<detail::shape_rep_t<A>, A>::value)
      return ctgrad::make_node<count_op>(detail::shape_rep_t<A>{});
    else return no_rewrite{};
  }
};

/// `sum<Axes...>(x)`: sum over Axes, which are kept with extent 1.
template <std::size_t... Axes>
struct sum_op<axes_t<Axes...>> : summing_reduction {
  using axes = axes_t<Axes...>;
  template <class A>
  static constexpr static_shape result_shape() { return {A::shape.rank, A::shape.unit_mask | axes::mask}; }
  static constexpr notation kind = notation::call;
  static constexpr int prec = precedence::atom;
  template <class...>
  static std::string symbol() { return fmt::format("sum<{}>", detail::axes_label<axes>()); }
  static latex_operand latex(const latex_operand& a) {
    return {fmt::format("\\sum_{{{}}} {}", detail::latex_axes(axes::mask), a.wrapped(precedence::multiplicative)),
            precedence::multiplicative, true};
  }
  static constexpr std::string_view rule_name = "adjoint of a reduction = broadcast";
  static constexpr std::string_view rule_latex = detail::reduction_rule_latex;

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
    } else if constexpr (detail::factors_out<A, axes::mask>::value) {
      // constant factors move out of the sum: fewer operations per element, and sums of the
      // same varying part (dy * xhat in dgamma and in dx) become one node, summed once
      using f = detail::factors<A, axes::mask, A::shape.rank>;
      return ctgrad::multiply(typename f::invariant{}, ctgrad::make_node<sum_op>(typename f::variant{}));
    } else if constexpr (detail::distributes<A, axes::mask>::value) {
      using d = detail::distributes<A, axes::mask>;
      using sh = typename d::shifted;
      const auto uv = ctgrad::make_node<sum_op>(ctgrad::multiply(typename d::u{}, typename sh::v{}));
      const auto cu = ctgrad::multiply(typename sh::c{}, ctgrad::make_node<sum_op>(typename d::u{}));
      if constexpr (sh::minus::value) return ctgrad::subtract(uv, cu);
      else return ctgrad::add(uv, cu);
    } else if constexpr (detail::shifted_by_statistic<A, axes::mask, A::shape.rank>::value) {
      // the same split for a plain sum: sum(v - c) = sum(v) - c * count
      using sh = detail::shifted_by_statistic<A, axes::mask, A::shape.rank>;
      const auto cn = ctgrad::multiply(typename sh::c{}, ctgrad::make_node<count_op<axes>>(typename sh::v{}));
      const auto sv = ctgrad::make_node<sum_op>(typename sh::v{});
      if constexpr (sh::minus::value) return ctgrad::subtract(sv, cn);
      else return ctgrad::add(sv, cn);
    } else if constexpr (detail::squared_shift<A, axes::mask>::value) {
      // and for a square: sum((v - c)^2) = sum(v^2) - c * (2 sum(v) - c * count), the variance
      // of shifted data in one pass (Welford's shifted-data form), summed in the accumulator type
      using sh = typename detail::squared_shift<A, axes::mask>::shifted;
      using v = typename sh::v;
      using c = typename sh::c;
      static_assert(sh::minus::value, "ctgrad internal error: squared_shift matches differences only");
      const auto n = ctgrad::make_node<count_op<axes>>(v{});
      const auto twice_sum = ctgrad::multiply(constant<2>, ctgrad::make_node<sum_op>(v{}));
      return ctgrad::subtract(ctgrad::make_node<sum_op>(ctgrad::make_node<square_op>(v{})),
                              ctgrad::multiply(c{}, ctgrad::subtract(twice_sum, ctgrad::multiply(c{}, n))));
    } else return no_rewrite{};
  }
};

/// `reduce_to<S>(x)`: sum x down to the static shape S (the adjoint of broadcasting to x).
template <static_shape S>
struct reduce_to_op : summing_reduction {
  /// S widened to A's rank: A's extra leading axes kept with extent 1.
  static constexpr std::uint32_t leading_unit_mask(std::size_t rank) {
    const std::size_t k = rank - S.rank;
    return ((std::uint32_t{1} << k) - 1U) | (S.unit_mask << k);
  }
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
  static latex_operand latex(const latex_operand& a) {
    return {fmt::format("\\sum_{{{}}} {}", detail::latex_axes(detail::reduced_axes_mask(S, a.shape)), a.wrapped(precedence::multiplicative)),
            precedence::multiplicative, true};
  }
  static constexpr std::string_view rule_name = "adjoint of a reduction = broadcast";
  static constexpr std::string_view rule_latex = detail::reduction_rule_latex;

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A a) { return ctgrad::make_node<broadcast_op>(g, a); }
  template <std::size_t, class T, class Self, class A>
  static constexpr auto jvp(T t, Self, A) { return ctgrad::make_node<reduce_to_op>(t); }

  template <class A>
  static constexpr auto simplify(A a) {
    if constexpr (A::shape == S) return a;
    else if constexpr (A::shape.rank == S.rank)  // no axis dropped: a plain sum, shared with sum<...>
      return ctgrad::make_node<sum_op<detail::axes_from_mask_t<S.unit_mask & ~A::shape.unit_mask>>>(a);
    else if constexpr (A::shape.rank > S.rank)  // leading axes dropped: a sum keeping them, squeezed
      return ctgrad::make_node<squeeze_op<detail::axes_from_mask_t<(std::uint32_t{1} << (A::shape.rank - S.rank)) - 1U>>>(
          ctgrad::make_node<reduce_to_op<static_shape{A::shape.rank, leading_unit_mask(A::shape.rank)}>>(a));
    else if constexpr (detail::negated<A>::value)
      return ctgrad::negate(ctgrad::make_node<reduce_to_op>(typename detail::negated<A>::operand{}));
    else return no_rewrite{};
  }
};

/// Sum over the compile-time axes `Axes...`, keeping them with extent 1 (like keepdims=True).
template <std::size_t... Axes, Expression A>
constexpr auto sum(A a) {
  static_assert(sizeof...(Axes) > 0, "ctgrad: sum<Axes...>(x) needs at least one axis");
  static_assert(detail::axes_in_range(axes_t<Axes...>::list, A::shape.rank),
                "ctgrad: sum<Axes...>(x) names an axis that x does not have (every axis must be "
                "less than x's rank)");
  return ctgrad::make_node<sum_op<axes_t<Axes...>>>(a);
}

/// The number of elements of x along `Axes...` (a run-time value, rank 0).
template <std::size_t... Axes, Expression A>
constexpr auto count(A a) {
  static_assert(detail::axes_in_range(axes_t<Axes...>::list, A::shape.rank),
                "ctgrad: count<Axes...>(x) names an axis that x does not have");
  return ctgrad::make_node<count_op<axes_t<Axes...>>>(a);
}

/// g expanded to the shape of ref (ref is read for its shape only).
template <Expression G, Expression Ref>
constexpr auto broadcast_like(G, Ref) { return detail::made_t<broadcast_op, G, Ref>{}; }

/// Zeros of ref's shape: the typed zero gradient of an input the outputs do not depend on.
template <Expression Ref>
constexpr auto zeros_like(Ref ref) { return ctgrad::broadcast_like(zero_node{}, ref); }

/// Ones of ref's shape.
template <Expression Ref>
constexpr auto ones_like(Ref ref) { return ctgrad::broadcast_like(one_node{}, ref); }

/// Sum x down to the static shape S.
template <static_shape S, Expression A>
constexpr auto reduce_to(A) { return detail::made_t<reduce_to_op<S>, A>{}; }

}  // namespace ctgrad
