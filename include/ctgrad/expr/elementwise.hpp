#pragma once
// ctgrad/expr/elementwise.hpp: elementwise functions: square, sqrt, rsqrt, exp, log, tanh,
// integer powers, log1p, expm1, sigmoid and softplus. Each is defined in one place:
// evaluation, local rule, printing, rewrites. (Piecewise ones, comparisons and where:
// expr/piecewise.hpp.)
//
//   auto x = ctgrad::input<"x", 1>;
//   auto y = ctgrad::tanh(ctgrad::exp(x)) + ctgrad::pow<3>(x);
//
// Local rules reuse the node's own value where that is cheaper (d exp(x) = exp(x) dx,
// d sqrt(x) = dx / (2 sqrt(x))), so a derived gradient shares nodes with the forward pass.
#include <cmath>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "ctgrad/expr/reduction.hpp"

namespace ctgrad {

struct square_op;
struct sqrt_op;
struct rsqrt_op;
struct exp_op;
struct log_op;
struct tanh_op;
template <int N>
struct pow_op;
struct log1p_op;
struct expm1_op;
struct sigmoid_op;
struct softplus_op;

template <Expression A> constexpr auto square(A) { return detail::made_t<square_op, A>{}; }
template <Expression A> constexpr auto sqrt(A) { return detail::made_t<sqrt_op, A>{}; }
template <Expression A> constexpr auto rsqrt(A) { return detail::made_t<rsqrt_op, A>{}; }
template <Expression A> constexpr auto exp(A) { return detail::made_t<exp_op, A>{}; }
template <Expression A> constexpr auto log(A) { return detail::made_t<log_op, A>{}; }
template <Expression A> constexpr auto tanh(A) { return detail::made_t<tanh_op, A>{}; }
/// x^N for an integer N (negative allowed); pow<1>(x) is x, pow<2>(x) is square(x).
template <int N, Expression A> constexpr auto pow(A) { return detail::made_t<pow_op<N>, A>{}; }
/// log(1 + x), accurate for small x.
template <Expression A> constexpr auto log1p(A) { return detail::made_t<log1p_op, A>{}; }
/// exp(x) - 1, accurate for small x.
template <Expression A> constexpr auto expm1(A) { return detail::made_t<expm1_op, A>{}; }
/// 1 / (1 + exp(-x)), without overflow for large |x|.
template <Expression A> constexpr auto sigmoid(A) { return detail::made_t<sigmoid_op, A>{}; }
/// log(1 + exp(x)), without overflow for large x and exact to rounding for large -x.
template <Expression A> constexpr auto softplus(A) { return detail::made_t<softplus_op, A>{}; }

/// Base of unary functions printed as calls: name(x).
struct unary_function_base : elementwise_base {
  static constexpr notation kind = notation::call;
  static constexpr int prec = precedence::atom;
  // Rough per-element cost for the evaluation planner (an add is 1): a node holding one of
  // these functions is computed once into a buffer when several nodes read it.
  static constexpr int cost = 10;
};

/// x^2
struct square_op : elementwise_base {
  static constexpr int cost = 1;  // per element, for the evaluation planner
  static constexpr notation kind = notation::postfix;
  static constexpr int prec = precedence::power;
  template <class...>
  static std::string symbol() { return "^2"; }
  static latex_operand latex(const latex_operand& a) { return {a.wrapped(precedence::atom) + "^{2}", precedence::power}; }
  static constexpr std::string_view rule_name = "power rule";
  static constexpr std::string_view rule_latex = "c = a^{2}:\\quad \\bar{a} \\mathrel{+}= \\bar{c} \\odot 2a";

  template <class T>
  static constexpr T apply(T a) { return a * a; }

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A a) { return ctgrad::multiply(g, ctgrad::multiply(constant<2>, a)); }
};

/// sqrt(x)
struct sqrt_op : unary_function_base {
  template <class...>
  static std::string symbol() { return "sqrt"; }
  static latex_operand latex(const latex_operand& a) { return {"\\sqrt{" + a.tex + "}", precedence::atom}; }
  static constexpr std::string_view rule_name = "chain rule through the square root";
  static constexpr std::string_view rule_latex = "c = \\sqrt{a}:\\quad \\bar{a} \\mathrel{+}= \\frac{\\bar{c}}{2c}";
  template <class T>
  static T apply(T a) { using std::sqrt; return sqrt(a); }
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self self, A) { return ctgrad::divide(g, ctgrad::multiply(constant<2>, self)); }
};

/// 1/sqrt(x)
struct rsqrt_op : unary_function_base {
  template <class...>
  static std::string symbol() { return "rsqrt"; }
  static latex_operand latex(const latex_operand& a) { return {"\\frac{1}{\\sqrt{" + a.tex + "}}", precedence::unary}; }
  static constexpr std::string_view rule_name = "chain rule through the reciprocal square root";
  static constexpr std::string_view rule_latex =
      "c = \\frac{1}{\\sqrt{a}}:\\quad \\bar{a} \\mathrel{+}= -\\frac{1}{2} \\frac{\\bar{c} \\odot c}{a}";
  template <class T>
  static T apply(T a) { using std::sqrt; return T(1) / sqrt(a); }
  // d x^(-1/2) = -1/2 x^(-3/2) dx, computed as -1/2 (g c) / x with c = rsqrt(x): never as
  // c^3 or c / x, which is x^(-3/2) on its own and leaves the range of the type long before the
  // gradient does (double x = 1e220: c^3 = 1e-330 underflows, while g, a sum of terms of the
  // order of sqrt(x), brings the product back into range). g c is of the order of g / sqrt(x)
  // and (g c) / x of the gradient itself (batch norm's dx for data of standard deviation 1e150
  // in double, 1e30 in float: tests/runtime/nn_numerics_range.cpp).
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self self, A a) {
    return ctgrad::multiply(constant<-1, 2>, ctgrad::divide(ctgrad::multiply(g, self), a));
  }
};

/// exp(x)
struct exp_op : unary_function_base {
  template <class...>
  static std::string symbol() { return "exp"; }
  static latex_operand latex(const latex_operand& a) { return {"\\exp\\left(" + a.tex + "\\right)", precedence::atom}; }
  static constexpr std::string_view rule_name = "chain rule through exp";
  static constexpr std::string_view rule_latex = "c = \\exp(a):\\quad \\bar{a} \\mathrel{+}= \\bar{c} \\odot c";
  template <class T>
  static T apply(T a) { using std::exp; return exp(a); }
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self self, A) { return ctgrad::multiply(g, self); }
};

/// log(x), the natural logarithm
struct log_op : unary_function_base {
  template <class...>
  static std::string symbol() { return "log"; }
  static latex_operand latex(const latex_operand& a) { return {"\\log\\left(" + a.tex + "\\right)", precedence::atom}; }
  static constexpr std::string_view rule_name = "chain rule through log";
  static constexpr std::string_view rule_latex = "c = \\log(a):\\quad \\bar{a} \\mathrel{+}= \\frac{\\bar{c}}{a}";
  template <class T>
  static T apply(T a) { using std::log; return log(a); }
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A a) { return ctgrad::divide(g, a); }
};

/// tanh(x)
struct tanh_op : unary_function_base {
  template <class...>
  static std::string symbol() { return "tanh"; }
  static latex_operand latex(const latex_operand& a) { return {"\\tanh\\left(" + a.tex + "\\right)", precedence::atom}; }
  static constexpr std::string_view rule_name = "chain rule through tanh";
  static constexpr std::string_view rule_latex =
      "c = \\tanh(a):\\quad \\bar{a} \\mathrel{+}= \\bar{c} \\odot (1 - c^{2})";
  template <class T>
  static T apply(T a) { using std::tanh; return tanh(a); }
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self self, A) {
    return ctgrad::multiply(g, ctgrad::subtract(constant<1>, ctgrad::square(self)));
  }
};

/// log1p(x) = log(1 + x)
struct log1p_op : unary_function_base {
  template <class...>
  static std::string symbol() { return "log1p"; }
  static latex_operand latex(const latex_operand& a) { return {"\\log\\left(1 + " + a.tex + "\\right)", precedence::atom}; }
  static constexpr std::string_view rule_name = "chain rule through log(1 + a)";
  static constexpr std::string_view rule_latex = "c = \\log(1 + a):\\quad \\bar{a} \\mathrel{+}= \\frac{\\bar{c}}{1 + a}";
  template <class T>
  static T apply(T a) { using std::log1p; return log1p(a); }
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A a) { return ctgrad::divide(g, ctgrad::add(constant<1>, a)); }
};

/// expm1(x) = exp(x) - 1
struct expm1_op : unary_function_base {
  template <class...>
  static std::string symbol() { return "expm1"; }
  static latex_operand latex(const latex_operand& a) { return {"\\left(e^{" + a.tex + "} - 1\\right)", precedence::atom}; }
  static constexpr std::string_view rule_name = "chain rule through exp(a) - 1";
  static constexpr std::string_view rule_latex = "c = e^{a} - 1:\\quad \\bar{a} \\mathrel{+}= \\bar{c} \\odot (c + 1)";
  template <class T>
  static T apply(T a) { using std::expm1; return expm1(a); }
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self self, A) { return ctgrad::multiply(g, ctgrad::add(constant<1>, self)); }
};

/// sigmoid(x) = 1 / (1 + exp(-x))
struct sigmoid_op : unary_function_base {
  template <class...>
  static std::string symbol() { return "sigmoid"; }
  static latex_operand latex(const latex_operand& a) { return {"\\sigma\\left(" + a.tex + "\\right)", precedence::atom}; }
  static constexpr std::string_view rule_name = "chain rule through the logistic sigmoid";
  static constexpr std::string_view rule_latex = "c = \\sigma(a):\\quad \\bar{a} \\mathrel{+}= \\bar{c} \\odot c \\odot (1 - c)";
  // exp of a non-positive number only: no overflow, and no 1 - tiny cancellation for x << 0
  template <class T>
  static T apply(T a) {
    using std::exp;
    if (a >= T(0)) return T(1) / (T(1) + exp(-a));
    const T e = exp(a);
    return e / (T(1) + e);
  }
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self self, A) {
    return ctgrad::multiply(g, ctgrad::multiply(self, ctgrad::subtract(constant<1>, self)));
  }
};

/// softplus(x) = log(1 + exp(x))
struct softplus_op : unary_function_base {
  template <class...>
  static std::string symbol() { return "softplus"; }
  static latex_operand latex(const latex_operand& a) {
    return {"\\operatorname{softplus}\\left(" + a.tex + "\\right)", precedence::atom};
  }
  static constexpr std::string_view rule_name = "chain rule through softplus (its derivative is the sigmoid)";
  static constexpr std::string_view rule_latex =
      "c = \\log(1 + e^{a}):\\quad \\bar{a} \\mathrel{+}= \\bar{c} \\odot \\sigma(a)";
  // max(x, 0) + log1p(exp(-|x|)): exp of a non-positive number only
  template <class T>
  static T apply(T a) {
    using std::exp;
    using std::log1p;
    const T pos = a > T(0) ? a : T(0);
    const T neg_abs = a > T(0) ? -a : a;
    return pos + log1p(exp(neg_abs));
  }
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A a) { return ctgrad::multiply(g, ctgrad::sigmoid(a)); }
};

/// x^N, N an integer other than 0, 1 and 2 (those are rewritten to ones_like(x), x, square(x)).
template <int N>
struct pow_op : elementwise_base {
  static constexpr int cost = (N < 0 ? 4 - N : N);  // per element, for the evaluation planner
  static constexpr notation kind = notation::postfix;
  static constexpr int prec = precedence::power;
  template <class...>
  static std::string symbol() { return N < 0 ? fmt::format("^({})", N) : fmt::format("^{}", N); }
  static latex_operand latex(const latex_operand& a) {
    return {fmt::format("{}^{{{}}}", a.wrapped(precedence::atom), N), precedence::power};
  }
  static constexpr std::string_view rule_name = "power rule";
  static constexpr std::string_view rule_latex =
      "c = a^{n}:\\quad \\bar{a} \\mathrel{+}= n \\bar{c} \\odot a^{n-1}";

  template <class T>
  static constexpr T apply(T a) {
    T r = 1;
    T b = N < 0 ? T(1) / a : a;
    for (int k = N < 0 ? -N : N; k > 0; --k) r *= b;
    return r;
  }

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A a) {
    return ctgrad::multiply(constant<N>, ctgrad::multiply(g, ctgrad::pow<N - 1>(a)));
  }

  template <class A>
  static constexpr auto simplify(A a) {
    if constexpr (N == 0) return ctgrad::ones_like(a);
    else if constexpr (N == 1) return a;
    else if constexpr (N == 2) return ctgrad::square(a);
    else return no_rewrite{};
  }
};

}  // namespace ctgrad
