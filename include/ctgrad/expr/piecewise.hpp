#pragma once
// ctgrad/expr/piecewise.hpp: piecewise elementwise primitives: comparisons, where, abs, sign,
// maximum, minimum, relu. Each is defined in one place: evaluation, local rule, printing.
//
//   auto x = ctgrad::input<"x", 2>;
//   auto y = ctgrad::where(ctgrad::greater(x, ctgrad::constant<0>), x, ctgrad::constant<0>);  // relu
//   auto z = ctgrad::maximum(x, ctgrad::abs(x - ctgrad::constant<1>));
//
// Values: comparisons give 1 or 0 in the data type; where(c, a, b) is a where c != 0, else b.
// NaN propagates through abs, sign, maximum, minimum and relu (as in PyTorch); a comparison
// with NaN is 0 except `not equal`, which ctgrad does not have.
// Derivatives at kinks and ties, as PyTorch and JAX define them: relu'(0) = 0, abs'(0) = 0
// (sign(0) = 0), and maximum/minimum split the adjoint evenly between tied operands.
// Comparisons and sign have derivative zero (op_traits: no_derivative_operands), as where's
// condition: the passes send nothing through them.
#include <cstdint>
#include <string>
#include <string_view>

#include "ctgrad/expr/elementwise.hpp"

// Clang reports loops the fused kernel asked to vectorize but could not (an in-order sum, a
// select it will not if-convert) at the innermost code inlined into them, which may be here:
// warnings a user cannot act on, silenced as in eval/kernel.hpp.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

namespace ctgrad {

/// The five comparisons, one op template.
enum class comparison : std::uint8_t { greater, less, greater_equal, less_equal, equal };

template <comparison C>
struct compare_op;
struct where_op;
struct abs_op;
struct sign_op;
template <bool Max>
struct pairwise_extremum_op;
struct relu_op;

/// 1 where a > b, else 0 (and the other comparisons below); broadcast like arithmetic.
template <Expression A, Expression B> constexpr auto greater(A, B) { return detail::made_t<compare_op<comparison::greater>, A, B>{}; }
template <Expression A, Expression B> constexpr auto less(A, B) { return detail::made_t<compare_op<comparison::less>, A, B>{}; }
template <Expression A, Expression B>
constexpr auto greater_equal(A, B) { return detail::made_t<compare_op<comparison::greater_equal>, A, B>{}; }
template <Expression A, Expression B>
constexpr auto less_equal(A, B) { return detail::made_t<compare_op<comparison::less_equal>, A, B>{}; }
template <Expression A, Expression B> constexpr auto equal(A, B) { return detail::made_t<compare_op<comparison::equal>, A, B>{}; }
/// a where c != 0, else b (all three broadcast against each other).
template <Expression C, Expression A, Expression B> constexpr auto where(C, A, B) { return detail::made_t<where_op, C, A, B>{}; }
/// |a|, with abs'(0) = 0.
template <Expression A> constexpr auto abs(A) { return detail::made_t<abs_op, A>{}; }
/// 1, 0 or -1 (NaN for NaN); derivative 0.
template <Expression A> constexpr auto sign(A) { return detail::made_t<sign_op, A>{}; }
/// The elementwise larger of a and b; at a tie each gets half of the adjoint.
template <Expression A, Expression B> constexpr auto maximum(A, B) { return detail::made_t<pairwise_extremum_op<true>, A, B>{}; }
/// The elementwise smaller of a and b; at a tie each gets half of the adjoint.
template <Expression A, Expression B> constexpr auto minimum(A, B) { return detail::made_t<pairwise_extremum_op<false>, A, B>{}; }
/// max(a, 0), with relu'(0) = 0.
template <Expression A> constexpr auto relu(A) { return detail::made_t<relu_op, A>{}; }

namespace detail {
struct comparison_text {
  std::string_view name, tex;
};
constexpr comparison_text comparison_texts[] = {
    {"greater", ">"}, {"less", "<"}, {"greater_equal", "\\geq"}, {"less_equal", "\\leq"}, {"equal", "="}};
}  // namespace detail

/// [a > b], [a < b], [a >= b], [a <= b], [a == b]: 1 or 0.
template <comparison C>
struct compare_op : elementwise_base {
  static constexpr int cost = 1;
  static constexpr std::uint32_t no_derivative_operands = 0b11;
  template <class...>
  static std::string symbol() { return std::string(detail::comparison_texts[static_cast<int>(C)].name); }
  // The Iverson bracket: [a > b] is 1 where the condition holds, 0 elsewhere.
  static latex_operand latex(const latex_operand& a, const latex_operand& b) {
    return {"\\left[" + a.tex + " " + std::string(detail::comparison_texts[static_cast<int>(C)].tex) + " " + b.tex + "\\right]",
            precedence::atom};
  }
  static constexpr std::string_view rule_name = "a comparison has derivative zero";
  static constexpr std::string_view rule_latex = "c = [a > b]:\\quad \\bar{a} \\mathrel{+}= 0,\\quad \\bar{b} \\mathrel{+}= 0";

  template <class T>
  static constexpr T apply(T a, T b) {
    if constexpr (C == comparison::greater) return T(a > b);
    else if constexpr (C == comparison::less) return T(a < b);
    else if constexpr (C == comparison::greater_equal) return T(a >= b);
    else if constexpr (C == comparison::less_equal) return T(a <= b);
    else return T(a == b);
  }
  template <class A, class B>
  static constexpr auto simplify(A, B) {
    if constexpr (is_constant<A>::value && is_constant<B>::value) {
      constexpr bool holds = C == comparison::greater         ? B::value < A::value
                             : C == comparison::less          ? A::value < B::value
                             : C == comparison::greater_equal ? !(A::value < B::value)
                             : C == comparison::less_equal    ? !(B::value < A::value)
                                                              : A::value == B::value;
      return constant_node<rational{holds ? 1 : 0}>{};
    } else {
      return no_rewrite{};
    }
  }
};

/// where(c, a, b): a where c != 0, else b.
struct where_op : elementwise_base {
  static constexpr int cost = 1;
  static constexpr std::uint32_t no_derivative_operands = 0b001;  // the condition
  template <class...>
  static std::string symbol() { return "where"; }
  static latex_operand latex(const latex_operand& c, const latex_operand& a, const latex_operand& b) {
    return {"\\begin{cases}" + a.tex + " & " + c.tex + " \\neq 0\\\\ " + b.tex + " & \\text{otherwise}\\end{cases}",
            precedence::atom};
  }
  static constexpr std::string_view rule_name = "selection: the adjoint goes to the selected operand";
  static constexpr std::string_view rule_latex =
      "c = \\operatorname{where}(s, a, b):\\quad \\bar{a} \\mathrel{+}= [s \\neq 0] \\bar{c},\\quad \\bar{b} "
      "\\mathrel{+}= [s = 0] \\bar{c}";

  template <class T>
  static constexpr T apply(T c, T a, T b) { return c != T(0) ? a : b; }

  template <std::size_t I, class G, class Self, class C, class A, class B>
  static constexpr auto vjp(G g, Self, C c, A, B) {
    if constexpr (I == 1) return ctgrad::where(c, g, zero_node{});
    else if constexpr (I == 2) return ctgrad::where(c, zero_node{}, g);
    else return zero_node{};
  }
  template <class C, class A, class B>
  static constexpr auto simplify(C, A a, B b) {
    constexpr static_shape whole = detail::broadcast_shapes(std::array<static_shape, 3>{C::shape, A::shape, B::shape});
    if constexpr (is_constant<C>::value && !is_constant_value<C, rational{0}>::value && A::shape == whole) return a;
    else if constexpr (is_constant_value<C, rational{0}>::value && B::shape == whole) return b;
    else if constexpr (std::is_same<A, B>::value && A::shape == whole) return a;
    else return no_rewrite{};
  }
};

/// |a|
struct abs_op : unary_function_base {
  static constexpr int cost = 1;
  template <class...>
  static std::string symbol() { return "abs"; }
  static latex_operand latex(const latex_operand& a) { return {"\\left|" + a.tex + "\\right|", precedence::atom}; }
  static constexpr std::string_view rule_name = "chain rule through abs (abs'(0) = 0)";
  static constexpr std::string_view rule_latex =
      "c = |a|:\\quad \\bar{a} \\mathrel{+}= \\bar{c} \\odot \\operatorname{sign}(a)";
  template <class T>
  static T apply(T a) { using std::abs; return abs(a); }
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A a) { return ctgrad::multiply(g, ctgrad::sign(a)); }
  template <class A>
  static constexpr auto simplify([[maybe_unused]] A a) {
    if constexpr (is_constant<A>::value) return constant_node<((A::value < rational{0}) ? -A::value : A::value)>{};
    else if constexpr (detail::negated<A>::value) return ctgrad::abs(typename detail::negated<A>::operand{});
    else return no_rewrite{};
  }
};

/// sign(a): 1, 0 or -1
struct sign_op : unary_function_base {
  static constexpr int cost = 1;
  static constexpr std::uint32_t no_derivative_operands = 0b1;
  template <class...>
  static std::string symbol() { return "sign"; }
  static constexpr std::string_view rule_name = "sign has derivative zero";
  static constexpr std::string_view rule_latex = "c = \\operatorname{sign}(a):\\quad \\bar{a} \\mathrel{+}= 0";
  template <class T>
  static constexpr T apply(T a) { return a > T(0) ? T(1) : (a < T(0) ? T(-1) : a); }  // +-0 and NaN as they are
  template <class A>
  static constexpr auto simplify(A) {
    if constexpr (is_constant<A>::value)
      return constant_node<rational{(A::value.num > 0) ? 1 : ((A::value.num < 0) ? -1 : 0)}>{};
    else return no_rewrite{};
  }
};

/// maximum(a, b) (Max) and minimum(a, b)
template <bool Max>
struct pairwise_extremum_op : elementwise_base {
  static constexpr int cost = 1;
  template <class...>
  static std::string symbol() { return Max ? "maximum" : "minimum"; }
  static latex_operand latex(const latex_operand& a, const latex_operand& b) {
    return {std::string(Max ? "\\max" : "\\min") + "\\left(" + a.tex + ", " + b.tex + "\\right)", precedence::atom};
  }
  static constexpr std::string_view rule_name =
      Max ? "the adjoint goes to the larger operand (split evenly at a tie)"
          : "the adjoint goes to the smaller operand (split evenly at a tie)";
  static constexpr std::string_view rule_latex =
      Max ? "c = \\max(a, b):\\quad \\bar{a} \\mathrel{+}= \\bar{c} \\odot \\left([a > b] + \\tfrac{1}{2}[a = b]\\right)"
          : "c = \\min(a, b):\\quad \\bar{a} \\mathrel{+}= \\bar{c} \\odot \\left([a < b] + \\tfrac{1}{2}[a = b]\\right)";

  // NaN in either operand gives NaN: a when a is NaN, else b (then NaN or the larger).
  template <class T>
  static constexpr T apply(T a, T b) {
    if constexpr (Max) return (a > b || a != a) ? a : b;
    else return (a < b || a != a) ? a : b;
  }

  /// The share of the adjoint operand I gets: 1 where it wins, 1/2 at a tie.
  template <std::size_t I, class A, class B>
  static constexpr auto share(A a, B b) {
    const auto tie = ctgrad::multiply(constant<1, 2>, ctgrad::equal(a, b));
    if constexpr (Max == (I == 0)) return ctgrad::add(ctgrad::greater(a, b), tie);
    else return ctgrad::add(ctgrad::less(a, b), tie);
  }
  template <std::size_t I, class G, class Self, class A, class B>
  static constexpr auto vjp(G g, Self, A a, B b) { return ctgrad::multiply(g, share<I>(a, b)); }
  template <class A, class B>
  static constexpr auto simplify(A a, [[maybe_unused]] B b) {
    if constexpr (is_constant<A>::value && is_constant<B>::value)
      return constant_node<(((A::value < B::value) == Max) ? B::value : A::value)>{};
    else if constexpr (std::is_same<A, B>::value) return a;
    else return no_rewrite{};
  }
};

/// relu(a) = max(a, 0)
struct relu_op : unary_function_base {
  static constexpr int cost = 1;
  template <class...>
  static std::string symbol() { return "relu"; }
  static latex_operand latex(const latex_operand& a) {
    return {"\\operatorname{relu}\\left(" + a.tex + "\\right)", precedence::atom};
  }
  static constexpr std::string_view rule_name = "chain rule through relu (relu'(0) = 0)";
  static constexpr std::string_view rule_latex = "c = \\operatorname{relu}(a):\\quad \\bar{a} \\mathrel{+}= \\bar{c} \\odot [a > 0]";
  template <class T>
  static constexpr T apply(T a) { return a <= T(0) ? T(0) : a; }  // NaN stays NaN
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A a) { return ctgrad::multiply(g, ctgrad::greater(a, zero_node{})); }
  template <class A>
  static constexpr auto simplify(A) {
    if constexpr (is_constant<A>::value) return constant_node<((A::value < rational{0}) ? rational{0} : A::value)>{};
    else return no_rewrite{};
  }
};

}  // namespace ctgrad

#if defined(__clang__)
#pragma clang diagnostic pop
#endif
