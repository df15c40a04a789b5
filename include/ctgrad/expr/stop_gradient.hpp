#pragma once
// ctgrad/expr/stop_gradient.hpp: the identity whose derivative is declared zero.
//
//   auto x = ctgrad::input<"x", 2>;
//   auto d = x - ctgrad::stop_gradient(ctgrad::mean<0>(x));   // a shift that gradients ignore
//
// Its use is a shift of a shift-invariant computation: normalization (x - mu) / sigma gives the
// same values whatever constant is subtracted from x first, so the gradient through that
// constant is exactly zero in exact arithmetic. Declaring it zero keeps the derived gradient
// from summing terms that cancel, and keeps the shift's reduction out of the backward pass
// (JAX's logsumexp stops the gradient of its max shift for the same reason). Anywhere else it
// changes the mathematics: the derivative of stop_gradient(f(x)) is 0, not f'(x).
#include <string>
#include <string_view>

#include "ctgrad/expr/arithmetic.hpp"

namespace ctgrad {

struct stop_gradient_op;

namespace detail {
/// True for stop_gradient(a). A class, not `requires { typename A::op; } && is_same<typename
/// A::op, ...>`: the second operand of that && is still substituted for an A without `op` (an
/// input), which made stop_gradient(x) of an input fail to compile.
template <class E>
struct is_stopped : std::false_type {};
template <class A>
struct is_stopped<node<stop_gradient_op, A>> : std::true_type {};
}  // namespace detail

/// The value of `a`, with a zero derivative (forward and reverse mode).
template <Expression A>
constexpr auto stop_gradient(A a) {
  return ctgrad::make_node<stop_gradient_op>(a);
}

/// stop_gradient(x): evaluates to x; every local rule returns no contribution.
struct stop_gradient_op : elementwise_base {
  static constexpr int cost = 1;  // per element, for the evaluation planner
  static constexpr notation kind = notation::call;
  static constexpr int prec = precedence::atom;
  static constexpr std::uint32_t no_derivative_operands = 0b1;  // the passes send nothing through it
  template <class...>
  static std::string symbol() { return "stop_gradient"; }
  static latex_operand latex(const latex_operand& a) { return {"\\operatorname{sg}\\left(" + a.tex + "\\right)", precedence::atom}; }
  static constexpr std::string_view rule_name = "stop_gradient: no contribution (its adjoint is zero)";
  static constexpr std::string_view rule_latex = "c = \\operatorname{sg}(a):\\quad \\bar{a} \\mathrel{+}= 0";

  template <class T>
  static constexpr T apply(T a) { return a; }

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G, Self, A) { return zero_node{}; }

  // stop_gradient of something without a derivative (a constant, a count) or of a stopped
  // value is that thing itself.
  template <class A>
  static constexpr auto simplify(A a) {
    if constexpr (is_constant<A>::value) return a;
    else if constexpr (detail::is_stopped<A>::value) return a;
    else return no_rewrite{};
  }
};

}  // namespace ctgrad
