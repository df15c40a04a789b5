#pragma once
// ctgrad/diff/jvp.hpp: forward mode at compile time.
//
//   auto x = ctgrad::input<"x", 2>;  auto v = ctgrad::input<"v", 2>;
//   auto y = ctgrad::exp(x) * x;
//   auto [ty] = ctgrad::jvp(ctgrad::outputs(y), ctgrad::tangents(v), ctgrad::wrt(x));
//   // ty = v * x * exp(x) + v * exp(x): the directional derivative of y along v
//
// The tangent of a node is the sum, over its operands, of the operation's forward rule applied
// to the operand's tangent. Operations define their forward rule next to their reverse rule
// (`jvp<I>` beside `vjp<I>`); an elementwise operation needs none, because its local Jacobian
// is diagonal, so its reverse rule applied to a tangent *is* its forward rule. Tangents are
// class templates instantiated once per unique node, like adjoints.
#include <type_traits>

#include "ctgrad/diff/accumulate.hpp"
#include "ctgrad/diff/vjp.hpp"

namespace ctgrad {

/// The tangents (directions), one per wrt input, each an expression of that input's shape.
template <class... Es>
struct tangents_t {};

template <Expression... Es>
constexpr tangents_t<Es...> tangents(Es...) { return {}; }

namespace detail {

template <class Op, std::size_t I, class T, class N, class... Args>
concept has_forward_rule = requires { Op::template jvp<I>(T{}, N{}, Args{}...); };

/// Operand I's contribution to the tangent of N = node<Op, Args...>, given its tangent T.
template <class Op, std::size_t I, class T, class N, class... Args>
constexpr auto forward_rule(T t, N n, Args... args) {
  if constexpr (has_forward_rule<Op, I, T, N, Args...>) {
    return Op::template jvp<I>(t, n, args...);
  } else {
    static_assert(op_traits<Op>::category == op_category::elementwise,
                  "ctgrad::jvp(): an operation that is not elementwise must define a forward rule "
                  "jvp<I>(tangent, self, operands...) next to its vjp<I>");
    return Op::template vjp<I>(t, n, args...);  // diagonal Jacobian: J^T t == J t
  }
}

template <class Wrt, class Tangents>
struct forward_pass;

template <class... Ws, class... Ts>
struct forward_pass<wrt_t<Ws...>, tangents_t<Ts...>> {
  static_assert(sizeof...(Ws) == sizeof...(Ts), "ctgrad::jvp() needs exactly one tangent per wrt input");

  template <class N>
  struct tangent {
    using type = no_adjoint;  // constants and inputs not differentiated
  };
  template <fixed_string Name, std::size_t R>
    requires(std::is_same<input_node<Name, R>, Ws>::value || ...)
  struct tangent<input_node<Name, R>> {
    using N = input_node<Name, R>;
    using type = decltype(detail::sum_contributions(detail::fit_to<N>(std::conditional_t<std::is_same<Ws, N>::value, Ts, no_adjoint>{})...));
  };
  template <class Op, class... Args>
  struct tangent<node<Op, Args...>> {
    using N = node<Op, Args...>;
    template <std::size_t... I>
    static constexpr auto contributions(std::index_sequence<I...>) {
      return detail::sum_contributions(operand_contribution<I, Args>()...);
    }
    template <std::size_t I, class A>
    static constexpr auto operand_contribution() {
      using t = typename tangent<A>::type;
      if constexpr (CTGRAD_DETAIL_SAME_TYPE(t, no_adjoint) || !op_traits<Op>::has_derivative(I)) return no_adjoint{};
      else return detail::forward_rule<Op, I>(t{}, N{}, Args{}...);
    }
    using type = decltype(detail::fit_to<N>(contributions(std::index_sequence_for<Args...>{})));
  };

  template <class O>
  static constexpr auto output_tangent() {
    using t = typename tangent<O>::type;
    if constexpr (CTGRAD_DETAIL_SAME_TYPE(t, no_adjoint)) return ctgrad::zeros_like(O{});
    else return t{};
  }
};

}  // namespace detail

/// Jacobian-vector product: the directional derivative of each output along the tangents (one
/// per wrt input), as an expr_list of expressions of the outputs' shapes.
template <class... Os, class... Ts, class... Ws>
constexpr auto jvp(outputs_t<Os...>, tangents_t<Ts...>, wrt_t<Ws...>) {
  using pass = detail::forward_pass<wrt_t<Ws...>, tangents_t<Ts...>>;
  return expr_list<decltype(pass::template output_tangent<Os>())...>{};
}

}  // namespace ctgrad
