#pragma once
// ctgrad/expr/extremum.hpp: the max and min reductions.
//
//   auto x = ctgrad::input<"x", 2>;
//   auto m = ctgrad::max<1>(x);                        // m x 1: each row's largest entry
//   auto shifted = x - ctgrad::stop_gradient(m);       // the stable-softmax shift
//
// Like sum, they keep the reduced axes with extent 1. NaN propagates (a row holding NaN has
// max NaN), as torch.amax and jnp.max do; over zero elements max is -inf and min +inf (the
// identities). Reverse rule: the adjoint is split evenly among the entries equal to the
// extremum, as torch.amax and jnp.max do: d max(x) = sum([x = max] dx) / sum([x = max]); the
// forward rule is the same average of the tangent. Both compare x with the result, so the
// planner stores a computed operand once (op_traits::exact_operand) and every reader sees the
// very values the reduction saw.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "ctgrad/expr/piecewise.hpp"

namespace ctgrad {

template <class Axes, bool Max>
struct extremum_op;
/// The max over Axes; `min_op` the min.
template <class Axes>
using max_op = extremum_op<Axes, true>;
template <class Axes>
using min_op = extremum_op<Axes, false>;

template <std::size_t... Axes, bool Max>
struct extremum_op<axes_t<Axes...>, Max> : reduction_op {
  using axes = axes_t<Axes...>;
  static constexpr bool exact_operand = true;
  template <class A>
  static constexpr static_shape result_shape() { return {A::shape.rank, A::shape.unit_mask | axes::mask}; }
  template <class...>
  static std::string symbol() { return fmt::format("{}<{}>", Max ? "max" : "min", detail::axes_label<axes>()); }
  static latex_operand latex(const latex_operand& a) {
    return {fmt::format("\\{}_{{{}}} {}", Max ? "max" : "min", detail::latex_axes(axes::mask), a.wrapped(precedence::multiplicative)),
            precedence::multiplicative, true};
  }
  static constexpr std::string_view rule_name =
      Max ? "adjoint of a max = its adjoint shared by the entries equal to the max"
          : "adjoint of a min = its adjoint shared by the entries equal to the min";
  static constexpr std::string_view rule_latex =
      Max ? "c = \\max_{@} a:\\quad \\bar{a} \\mathrel{+}= \\frac{\\bar{c}}{\\sum_{@} [a = c]} \\odot [a = c]"
          : "c = \\min_{@} a:\\quad \\bar{a} \\mathrel{+}= \\frac{\\bar{c}}{\\sum_{@} [a = c]} \\odot [a = c]";

  template <class T>
  static constexpr T identity() {
    return Max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  }
  // v wins when it is beyond acc, or NaN (and a NaN acc is never replaced)
  template <class T>
  static constexpr T combine(T acc, T v) {
    if constexpr (Max) return (v > acc || v != v) ? v : acc;
    else return (v < acc || v != v) ? v : acc;
  }

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self self, A a) {
    const auto at_extremum = ctgrad::equal(a, self);
    return ctgrad::multiply(ctgrad::divide(g, ctgrad::make_node<sum_op<axes>>(at_extremum)), at_extremum);
  }
  template <std::size_t, class T, class Self, class A>
  static constexpr auto jvp(T t, Self self, A a) {
    const auto at_extremum = ctgrad::equal(a, self);
    return ctgrad::divide(ctgrad::make_node<sum_op<axes>>(ctgrad::multiply(t, at_extremum)),
                          ctgrad::make_node<sum_op<axes>>(at_extremum));
  }

  template <class A>
  static constexpr auto simplify(A a) {
    if constexpr ((A::shape.unit_mask & axes::mask) == axes::mask) return a;  // nothing to reduce
    else return no_rewrite{};
  }
};

/// The max over the compile-time axes `Axes...`, keeping them with extent 1 (keepdims=True).
template <std::size_t... Axes, Expression A>
constexpr auto max(A a) {
  static_assert(sizeof...(Axes) > 0, "ctgrad: max<Axes...>(x) needs at least one axis");
  static_assert(detail::axes_in_range(axes_t<Axes...>::list, A::shape.rank),
                "ctgrad: max<Axes...>(x) names an axis that x does not have (every axis must be less than x's rank)");
  return ctgrad::make_node<max_op<axes_t<Axes...>>>(a);
}

/// The min over the compile-time axes `Axes...`, keeping them with extent 1 (keepdims=True).
template <std::size_t... Axes, Expression A>
constexpr auto min(A a) {
  static_assert(sizeof...(Axes) > 0, "ctgrad: min<Axes...>(x) needs at least one axis");
  static_assert(detail::axes_in_range(axes_t<Axes...>::list, A::shape.rank),
                "ctgrad: min<Axes...>(x) names an axis that x does not have (every axis must be less than x's rank)");
  return ctgrad::make_node<min_op<axes_t<Axes...>>>(a);
}

}  // namespace ctgrad
