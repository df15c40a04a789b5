#pragma once
// ctgrad/expr/arithmetic.hpp: + - * / and unary minus, each op defined in one place:
// evaluation, local vector-Jacobian rules, printing and simplification.
//
//   auto x = ctgrad::input<"x", 2>;
//   auto y = (x - ctgrad::constant<1>) * x / ctgrad::constant<2>;
//
// Operands broadcast as described in ctgrad/core/shape.hpp. Simplifications (as you build):
// x+0, x-0, x*1, x/1, --x, constant folding, constants moved to the left of a product so that
// 2*x and x*2 are the same type, and x/c rewritten as (1/c)*x.
#include <string>
#include <string_view>

#include "ctgrad/expr/node.hpp"

namespace ctgrad {

namespace detail {
template <class E>
struct is_zero_impl : std::bool_constant<is_constant_value<E, rational{0}>::value> {};
template <class Ref>
struct is_zero_impl<node<broadcast_op, zero_node, Ref>> : std::true_type {};
}  // namespace detail

/// True for the constant 0 and for `zeros_like(x)`.
template <class E>
struct is_zero : detail::is_zero_impl<std::remove_cvref_t<E>> {};
template <class E>
inline constexpr bool is_zero_v = is_zero<E>::value;

/// Elementwise operations share their shape rule: the broadcast of the operands' shapes.
struct elementwise_base : elementwise_op {
  template <class... Args>
  static constexpr static_shape result_shape() {
    return detail::broadcast_shapes(std::array<static_shape, sizeof...(Args)>{Args::shape...});
  }
};

struct neg_op;
struct add_op;
struct sub_op;
struct mul_op;
struct div_op;

// Named forms of the operators. ctgrad's own code calls these *qualified* (ctgrad::multiply)
// and never the operators: an operator or an unqualified call makes the compiler compute the
// argument-dependent-lookup set of its operand types, which clang 14 does by walking a node
// type's template arguments as a tree, exponential in the depth of a derived gradient's type.
template <Expression A>
constexpr auto negate(A) { return detail::made_t<neg_op, A>{}; }
template <Expression A, Expression B>
constexpr auto add(A, B) { return detail::made_t<add_op, A, B>{}; }
template <Expression A, Expression B>
constexpr auto subtract(A, B) { return detail::made_t<sub_op, A, B>{}; }
template <Expression A, Expression B>
constexpr auto multiply(A, B) { return detail::made_t<mul_op, A, B>{}; }
template <Expression A, Expression B>
constexpr auto divide(A, B) { return detail::made_t<div_op, A, B>{}; }

template <Expression A>
constexpr auto operator-(A a) { return ctgrad::negate(a); }
template <Expression A, Expression B>
constexpr auto operator+(A a, B b) { return ctgrad::add(a, b); }
template <Expression A, Expression B>
constexpr auto operator-(A a, B b) { return ctgrad::subtract(a, b); }
template <Expression A, Expression B>
constexpr auto operator*(A a, B b) { return ctgrad::multiply(a, b); }
template <Expression A, Expression B>
constexpr auto operator/(A a, B b) { return ctgrad::divide(a, b); }

namespace detail {
// The simplifier's facts about operands are class templates deriving from std::bool_constant:
// GCC 12 emits, and mangles the name of, every variable template instance and every static
// data member of an instantiated class, at a cost growing faster than linearly with the node
// types in the name, while a class that only carries types and a shared base costs nothing.
template <class E>
struct negated : std::false_type {};
template <class X>
struct negated<node<neg_op, X>> : std::true_type {
  using operand = X;
};
/// A product whose left factor is a constant: `c * x` (`factor::value` is c).
template <class E>
struct scaled : std::false_type {};
template <rational C, class X>
struct scaled<node<mul_op, constant_node<C>, X>> : std::true_type {
  using factor = constant_node<C>;
  using operand = X;
};
/// `broadcast_like(c, ref)` for a constant c: c spread over ref's shape.
template <class E>
struct spread_constant : std::false_type {};
template <rational C, class Ref>
struct spread_constant<node<broadcast_op, constant_node<C>, Ref>> : std::true_type {
  using constant = constant_node<C>;
};
/// Dropping an operand is only a simplification when it leaves the static shape unchanged.
constexpr bool keeps_shape(static_shape kept, static_shape a, static_shape b) {
  return kept == broadcast_shapes(std::array<static_shape, 2>{a, b});
}
}  // namespace detail

/// -a
struct neg_op : elementwise_base {
  static constexpr int cost = 1;  // per element, for the evaluation planner
  static constexpr notation kind = notation::prefix;
  static constexpr int prec = precedence::unary;
  template <class...>
  static std::string symbol() { return "-"; }

  template <class T>
  static constexpr T apply(T a) { return -a; }

  // Documentation (ctgrad/doc): LaTeX and the local rule a derivation cites.
  static latex_operand latex(const latex_operand& a) {
    std::string text = "-";  // not "-" + ...: GCC 12 warns -Wrestrict on that concatenation
    text += a.wrapped(precedence::multiplicative);
    return {std::move(text), precedence::additive, a.open_right};
  }
  static constexpr std::string_view rule_name = "negation";
  static constexpr std::string_view rule_latex = "c = -a:\\quad \\bar{a} \\mathrel{+}= -\\bar{c}";

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A) { return ctgrad::negate(g); }

  template <class A>
  static constexpr auto simplify(A) {
    if constexpr (is_constant<A>::value) return constant_node<-A::value>{};
    else if constexpr (detail::negated<A>::value) return typename detail::negated<A>::operand{};
    else if constexpr (detail::scaled<A>::value)
      return ctgrad::multiply(constant_node<-detail::scaled<A>::factor::value>{}, typename detail::scaled<A>::operand{});
    else return no_rewrite{};
  }
};

/// a + b
struct add_op : elementwise_base {
  static constexpr int cost = 1;  // per element, for the evaluation planner
  static constexpr notation kind = notation::infix;
  static constexpr int prec = precedence::additive;
  static constexpr bool associative = true;
  template <class...>
  static std::string symbol() { return "+"; }

  template <class T>
  static constexpr T apply(T a, T b) { return a + b; }
  static latex_operand latex(const latex_operand& a, const latex_operand& b) {
    return {a.wrapped(precedence::additive) + " + " + b.wrapped(precedence::additive), precedence::additive};
  }
  static constexpr std::string_view rule_name = "sum rule";
  static constexpr std::string_view rule_latex =
      "c = a + b:\\quad \\bar{a} \\mathrel{+}= \\bar{c},\\quad \\bar{b} \\mathrel{+}= \\bar{c}";

  template <std::size_t, class G, class Self, class A, class B>
  static constexpr auto vjp(G g, Self, A, B) { return g; }

  template <class A, class B>
  static constexpr auto simplify(A a, B b) {
    if constexpr (is_constant<A>::value && is_constant<B>::value) return constant_node<A::value + B::value>{};
    else if constexpr (is_zero<A>::value && detail::keeps_shape(B::shape, A::shape, B::shape)) return b;
    else if constexpr (is_zero<B>::value && detail::keeps_shape(A::shape, A::shape, B::shape)) return a;
    else if constexpr (detail::negated<B>::value) return ctgrad::subtract(a, typename detail::negated<B>::operand{});
    else if constexpr (detail::negated<A>::value) return ctgrad::subtract(b, typename detail::negated<A>::operand{});
    else return no_rewrite{};
  }
};

/// a - b
struct sub_op : elementwise_base {
  static constexpr int cost = 1;  // per element, for the evaluation planner
  static constexpr notation kind = notation::infix;
  static constexpr int prec = precedence::additive;
  template <class...>
  static std::string symbol() { return "-"; }

  template <class T>
  static constexpr T apply(T a, T b) { return a - b; }
  static latex_operand latex(const latex_operand& a, const latex_operand& b) {
    return {a.wrapped(precedence::additive) + " - " + b.wrapped_right(precedence::additive + 1), precedence::additive};
  }
  static constexpr std::string_view rule_name = "difference rule";
  static constexpr std::string_view rule_latex =
      "c = a - b:\\quad \\bar{a} \\mathrel{+}= \\bar{c},\\quad \\bar{b} \\mathrel{+}= -\\bar{c}";

  template <std::size_t I, class G, class Self, class A, class B>
  static constexpr auto vjp(G g, Self, A, B) {
    if constexpr (I == 0) return g;
    else return ctgrad::negate(g);
  }

  template <class A, class B>
  static constexpr auto simplify(A a, B b) {
    if constexpr (is_constant<A>::value && is_constant<B>::value) return constant_node<A::value - B::value>{};
    else if constexpr (is_zero<B>::value && detail::keeps_shape(A::shape, A::shape, B::shape)) return a;
    else if constexpr (is_zero<A>::value && detail::keeps_shape(B::shape, A::shape, B::shape)) return ctgrad::negate(b);
    else if constexpr (detail::negated<B>::value) return ctgrad::add(a, typename detail::negated<B>::operand{});
    else return no_rewrite{};
  }
};

/// a * b
struct mul_op : elementwise_base {
  static constexpr int cost = 1;  // per element, for the evaluation planner
  static constexpr notation kind = notation::infix;
  static constexpr int prec = precedence::multiplicative;
  static constexpr bool associative = true;
  template <class...>
  static std::string symbol() { return "*"; }

  template <class T>
  static constexpr T apply(T a, T b) { return a * b; }

  // A scalar factor (a constant, a count, eps) is written next to the other; two tensors get
  // the elementwise product sign.
  static latex_operand latex(const latex_operand& a, const latex_operand& b) {
    const char* sign = a.shape.rank == 0 || b.shape.rank == 0 ? " " : " \\odot ";
    const std::string right = b.wrapped_right(precedence::multiplicative);
    return {a.wrapped(precedence::multiplicative, true) + sign + right, precedence::multiplicative,
            b.open_right && right == b.tex};
  }
  static constexpr std::string_view rule_name = "product rule";
  static constexpr std::string_view rule_latex =
      "c = a \\odot b:\\quad \\bar{a} \\mathrel{+}= \\bar{c} \\odot b,\\quad \\bar{b} \\mathrel{+}= \\bar{c} \\odot a";

  template <std::size_t I, class G, class Self, class A, class B>
  static constexpr auto vjp(G g, Self, A a, B b) {
    if constexpr (I == 0) return ctgrad::multiply(g, b);
    else return ctgrad::multiply(g, a);
  }

  template <class A, class B>
  static constexpr auto simplify(A a, B b) {
    if constexpr (is_constant<A>::value && is_constant<B>::value) return constant_node<A::value * B::value>{};
    else if constexpr (is_constant_value<A, rational{1}>::value) return b;
    else if constexpr (is_constant_value<B, rational{1}>::value) return a;
    else if constexpr (is_constant_value<A, rational{-1}>::value) return ctgrad::negate(b);
    else if constexpr (is_constant_value<B, rational{-1}>::value) return ctgrad::negate(a);
    else if constexpr (is_constant<B>::value) return ctgrad::multiply(b, a);  // constants to the left: 2*x == x*2
    // broadcast_like(c, ref) * b == c * b when b already has ref's shape
    else if constexpr (detail::spread_constant<A>::value && B::shape == A::shape)
      return ctgrad::multiply(typename detail::spread_constant<A>::constant{}, b);
    else if constexpr (detail::spread_constant<B>::value && A::shape == B::shape)
      return ctgrad::multiply(typename detail::spread_constant<B>::constant{}, a);
    else if constexpr (is_constant<A>::value && detail::scaled<B>::value)
      return ctgrad::multiply(constant_node<A::value * detail::scaled<B>::factor::value>{}, typename detail::scaled<B>::operand{});
    // constant factors move out of products, where they meet and fold: (c x)(d y) == (c d)(x y)
    else if constexpr (detail::scaled<A>::value && !is_constant<B>::value)
      return ctgrad::multiply(typename detail::scaled<A>::factor{}, ctgrad::multiply(typename detail::scaled<A>::operand{}, b));
    else if constexpr (detail::scaled<B>::value && !is_constant<A>::value)
      return ctgrad::multiply(typename detail::scaled<B>::factor{}, ctgrad::multiply(a, typename detail::scaled<B>::operand{}));
    else if constexpr (detail::negated<A>::value && detail::negated<B>::value)
      return ctgrad::multiply(typename detail::negated<A>::operand{}, typename detail::negated<B>::operand{});
    else if constexpr (detail::negated<B>::value) return ctgrad::negate(ctgrad::multiply(a, typename detail::negated<B>::operand{}));
    else if constexpr (detail::negated<A>::value && !is_constant<B>::value)
      return ctgrad::negate(ctgrad::multiply(typename detail::negated<A>::operand{}, b));
    else return no_rewrite{};
  }
};

/// a / b
struct div_op : elementwise_base {
  static constexpr int cost = 4;  // per element, for the evaluation planner
  // a / count over no elements (a mean over an empty axis) is an error of the run, not 0 / 0
  static constexpr std::uint32_t divisor_operands = 0b10;
  static constexpr notation kind = notation::infix;
  static constexpr int prec = precedence::multiplicative;
  template <class...>
  static std::string symbol() { return "/"; }

  template <class T>
  static constexpr T apply(T a, T b) { return a / b; }
  static latex_operand latex(const latex_operand& a, const latex_operand& b) {
    return {"\\frac{" + a.tex + "}{" + b.tex + "}", precedence::unary};
  }
  static constexpr std::string_view rule_name = "quotient rule";
  static constexpr std::string_view rule_latex =
      "c = \\frac{a}{b}:\\quad \\bar{a} \\mathrel{+}= \\frac{\\bar{c}}{b},\\quad \\bar{b} \\mathrel{+}= "
      "-\\frac{\\bar{c} \\odot c}{b}";

  // d(a/b)/da = 1/b; d(a/b)/db = -a/b^2 = -(a/b)/b, which reuses the node a/b itself.
  template <std::size_t I, class G, class Self, class A, class B>
  static constexpr auto vjp(G g, Self self, A, B b) {
    if constexpr (I == 0) return ctgrad::divide(g, b);
    else return ctgrad::negate(ctgrad::divide(ctgrad::multiply(g, self), b));
  }

  template <class A, class B>
  static constexpr auto simplify(A a, B b) {
    if constexpr (is_constant<B>::value) {
      static_assert(B::value.num != 0, "ctgrad: division by the constant 0");
      if constexpr (is_constant<A>::value) return constant_node<A::value / B::value>{};
      else return ctgrad::multiply(constant_node<rational{1} / B::value>{}, a);
    } else if constexpr (detail::negated<A>::value && detail::negated<B>::value) {
      return ctgrad::divide(typename detail::negated<A>::operand{}, typename detail::negated<B>::operand{});
    } else if constexpr (detail::negated<A>::value) {
      return ctgrad::negate(ctgrad::divide(typename detail::negated<A>::operand{}, b));
    } else if constexpr (detail::scaled<A>::value) {  // (c a) / b == c (a / b): constants move out
      return ctgrad::multiply(typename detail::scaled<A>::factor{}, ctgrad::divide(typename detail::scaled<A>::operand{}, b));
    } else if constexpr (detail::scaled<B>::value) {  // a / (c b) == (1/c) (a / b)
      return ctgrad::multiply(constant_node<rational{1} / detail::scaled<B>::factor::value>{},
                              ctgrad::divide(a, typename detail::scaled<B>::operand{}));
    } else {
      return no_rewrite{};
    }
  }
};

}  // namespace ctgrad
