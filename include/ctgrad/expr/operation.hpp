#pragma once
// ctgrad/expr/operation.hpp: what an operation is, and everything it may say about itself.
//
// An operation is a struct of static members; its nodes are `node<Op, Args...>` (expr/node.hpp).
// Every pass (reverse and forward mode, the planner, the renderers) reads an operation only
// through `op_traits<Op>`, which supplies a default for everything optional, and
// `make_node<Op>` checks the required members with the `Operation` concept: a missing member is
// one static_assert sentence naming it, with the operation spelled in the error's context.
//
//   struct softsign_op : ctgrad::elementwise_base {              // kind and shape rule
//     template <class...> static std::string symbol() { return "softsign"; }
//     template <class T> static T apply(T a) { return a / (1 + std::abs(a)); }
//     template <std::size_t, class G, class Self, class A>
//     static constexpr auto vjp(G g, Self, A a) { ... }           // built from ctgrad ops
//   };
//   auto y = ctgrad::make_node<softsign_op>(x);
//
// Required of every operation:
//   a kind                 derive from elementwise_base (elementwise, NumPy broadcasting), or
//                          reduction_op, index_map_op, shape_function_op, contraction_op
//                          (ctgrad's own kinds)
//   result_shape<A...>()   the static shape of a node from its operands' (A::shape);
//                          elementwise_base supplies broadcasting
//   symbol<A...>()         its printed name: "+", "exp", "sum<0>" (std::string)
//   apply(T...)            elementwise: the value of one element
//   identity<T>(), combine(T, T)
//                          reductions: the start value and the step (sum: 0 and a + b)
// Optional (default in brackets):
//   kind, prec             notation and precedence [call, atom]; an infix op must say prec
//   associative            printing a op (b op c) without parentheses [false]
//   cost                   per element, for the planner; an add is 1 [10: computed once]
//   shape_only_operands    bit mask of operands read for their shape only [none; for shape
//                          functions all]: never differentiated, never evaluated
//   no_derivative_operands bit mask of operands whose derivative is zero (comparisons, sign,
//                          stop_gradient) [none]: the passes send nothing through them
//   divisor_operands       bit mask of operands the op divides by (a division's right
//                          operand) [none]: where one is a count over no elements (the mean or
//                          variance over an axis of extent 0), a run throws shape_error naming
//                          the input and axis instead of computing 0 / 0
//   exact_operand          a reduction whose reverse rule compares its operand with its
//                          result (max, min): the planner stores a computed operand once so
//                          that every reader sees the same rounding [false]
//   vjp<I>(g, self, operands...)
//                          local reverse rule for operand I; needed only when differentiated
//   jvp<I>(t, self, operands...)
//                          forward rule [elementwise ops: vjp applied to the tangent, since
//                          their Jacobian is diagonal]
//   simplify(operands...)  a rewrite, or no_rewrite [none]
//   latex(operands' LaTeX) one latex_operand per operand, returning the node's [from kind
//                          and symbol]; rule_name, rule_latex: the local rule as a derivation
//                          document cites it (in rule_latex, '@' stands for the index letters
//                          of the axes along which the node and the operand differ: the axes a
//                          reduction sums over, or a broadcast repeats along)
#include <array>
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "ctgrad/core/rational.hpp"
#include "ctgrad/core/shape.hpp"

namespace ctgrad {

/// How a node prints as text (the LaTeX and Markdown renderers build on the same facts).
enum class notation {
  infix,    // a + b
  prefix,   // -a
  call,     // exp(a), sum<0>(a)
  postfix,  // a^2
};

/// Precedence levels for infix and prefix printing; higher binds tighter.
namespace precedence {
inline constexpr int additive = 1;
inline constexpr int multiplicative = 2;
inline constexpr int unary = 3;
inline constexpr int power = 4;
inline constexpr int atom = 5;
}  // namespace precedence

namespace detail {
/// The index letters of the axes in `mask` for LaTeX: axis 0 is i, then j, k, l, p, q, r, s,
/// t, u, v, w, then a_{12}, ... ("i,j" for axes 0 and 1).
inline std::string latex_axes(std::uint32_t mask) {
  constexpr std::string_view letters = "ijklpqrstuvw";
  std::string out;
  for (std::size_t a = 0; a < 32; ++a) {
    if (!((mask >> a) & 1U)) continue;
    if (!out.empty()) out += ",";
    out += a < letters.size() ? std::string(1, letters[a]) : "a_{" + std::to_string(a) + "}";
  }
  return out;
}
}  // namespace detail

/// A rendered LaTeX (sub)expression, as an operation's `latex` member receives its operands
/// and returns its result (ctgrad/graph/render.hpp walks the graph). `open_right`: it ends in
/// an operator that extends over a following product, like a sum sign (\sum_i a), so it needs
/// parentheses when a factor follows it. The renderer also says what the operand is, for the
/// few notations that depend on it: its static shape, and whether it is a constant (`value`).
struct latex_operand {
  std::string tex;
  int prec = precedence::atom;
  bool open_right = false;
  static_shape shape{};
  bool constant = false;
  rational value{};

  /// The operand parenthesized when it binds less tightly than `min_prec`, or when it is open
  /// to the right and `followed` by a factor.
  [[nodiscard]] std::string wrapped(int min_prec, bool followed = false) const {
    return prec < min_prec || (open_right && followed) ? "\\left(" + tex + "\\right)" : tex;
  }
  /// As a right operand of an infix operator: also parenthesized when it starts with a sign.
  [[nodiscard]] std::string wrapped_right(int min_prec) const {
    return !tex.empty() && tex.front() == '-' ? "\\left(" + tex + "\\right)" : wrapped(min_prec);
  }
};

/// The kinds of operation. The planner and the graph passes dispatch on these, read through
/// op_traits; users define elementwise operations (any arity) and reductions.
enum class op_category : std::uint8_t {
  elementwise,     // one value per element from the operands' elements at the same index
  reduction,       // combines its operand along some axes, which stay with extent 1
  broadcast,       // its operand repeated to the shape of a reference (operand 1, shape only)
  index_map,       // moves elements (expand, squeeze, first): nothing is computed
  shape_function,  // a value computed from extents only (count)
  reshape,         // the operand's elements, in row-major order, under other extents
  contraction,     // sums products of its operands' elements over shared indices (einsum):
                   // evaluated by its own step (BLAS where it maps to GEMM), not in a fused loop
};

/// An elementwise operation: `static T apply(T...)` evaluates one element.
struct elementwise_op {
  static constexpr op_category category = op_category::elementwise;
};
/// A reduction over some axes whose result keeps them with extent 1: `identity<T>()` and
/// `combine(T, T)` say how it accumulates.
struct reduction_op {
  static constexpr op_category category = op_category::reduction;
};
/// An operation that only moves elements (expr/reshape.hpp): its operand is read through an
/// index mapping (`source_axes`).
struct index_map_op {
  static constexpr op_category category = op_category::index_map;
};
/// Reads only the *shape* of its operands (count).
struct shape_function_op {
  static constexpr op_category category = op_category::shape_function;
};
/// The letters of a contraction: one per axis of each operand and of the result (slot 2). A
/// structural type, so that it can be the template argument of einsum_op.
struct subscripts {
  std::size_t operands = 0;                          // 1 or 2
  std::array<std::size_t, 3> rank{};                 // operand 0, operand 1, result
  std::array<std::array<char, max_rank>, 3> letter{};

  static constexpr std::size_t result = 2;
  /// The text form: "ik,kj->ij".
  [[nodiscard]] std::string text() const {
    std::string s;
    for (std::size_t k = 0; k < operands; ++k) {
      if (k > 0) s += ',';
      s.append(letter[k].data(), rank[k]);
    }
    s += "->";
    s.append(letter[result].data(), rank[result]);
    return s;
  }
};

/// A reshape (expr/reshape.hpp): `static constexpr std::array<int, max_rank> extent_rule` says
/// how each result extent is found (see reshape_op), or, with a shape-only second operand, the
/// result takes that operand's extents.
struct reshape_kind_op {
  static constexpr op_category category = op_category::reshape;
};
/// A contraction (expr/contraction.hpp): `static constexpr subscripts letters` says which
/// operand axes are multiplied together and which are summed.
struct contraction_op {
  static constexpr op_category category = op_category::contraction;
};

namespace detail {
template <class Op>
concept has_category = requires { { Op::category } -> std::convertible_to<op_category>; };
template <class Op>
concept has_notation = requires { { Op::kind } -> std::convertible_to<notation>; };
template <class Op>
concept has_prec = requires { { Op::prec } -> std::convertible_to<int>; };
template <class Op>
concept has_cost = requires { { Op::cost } -> std::convertible_to<int>; };
template <class Op>
concept has_associative = requires { { Op::associative } -> std::convertible_to<bool>; };
template <class Op>
concept has_shape_only = requires { { Op::shape_only_operands } -> std::convertible_to<std::uint32_t>; };
template <class Op>
concept has_no_derivative = requires { { Op::no_derivative_operands } -> std::convertible_to<std::uint32_t>; };
template <class Op>
concept has_divisor_operands = requires { { Op::divisor_operands } -> std::convertible_to<std::uint32_t>; };
template <class Op>
concept has_exact_operand = requires { { Op::exact_operand } -> std::convertible_to<bool>; };
template <class Op>
concept has_plain_symbol = requires { { Op::template symbol<>() } -> std::convertible_to<std::string>; };

template <class Op>
constexpr op_category category_of() {
  if constexpr (has_category<Op>) return Op::category;
  else return op_category::elementwise;
}
template <class Op>
constexpr notation notation_of() {
  if constexpr (has_notation<Op>) return Op::kind;
  else return notation::call;
}
}  // namespace detail

/// Everything a pass may ask of an operation, with the defaults listed at the top of this file.
/// Named by the operation only (a small type), so it is instantiated once per operation.
template <class Op>
struct op_traits {
  static constexpr op_category category = detail::category_of<Op>();
  static constexpr notation how = detail::notation_of<Op>();
  static constexpr int prec = [] {
    if constexpr (detail::has_prec<Op>) return static_cast<int>(Op::prec);
    else if constexpr (how == notation::prefix) return precedence::unary;
    else if constexpr (how == notation::postfix) return precedence::power;
    else return precedence::atom;
  }();
  static constexpr bool associative = [] {
    if constexpr (detail::has_associative<Op>) return static_cast<bool>(Op::associative);
    else return false;
  }();
  /// Planner cost per element; 10 (a transcendental function) for an op that does not say, so
  /// that a node read several times is computed once into a buffer rather than recomputed.
  static constexpr int cost = [] {
    if constexpr (detail::has_cost<Op>) return static_cast<int>(Op::cost);
    else return 10;
  }();
  static constexpr std::uint32_t shape_only_operands = [] {
    if constexpr (detail::has_shape_only<Op>) return static_cast<std::uint32_t>(Op::shape_only_operands);
    else if constexpr (category == op_category::shape_function) return ~std::uint32_t{0};
    else return std::uint32_t{0};
  }();
  /// The operands through which no derivative flows: shape-only ones and those declared zero.
  static constexpr std::uint32_t no_derivative_operands = shape_only_operands | [] {
    if constexpr (detail::has_no_derivative<Op>) return static_cast<std::uint32_t>(Op::no_derivative_operands);
    else return std::uint32_t{0};
  }();
  static constexpr bool is_shape_only(std::size_t i) { return ((shape_only_operands >> i) & 1U) != 0; }
  static constexpr bool has_derivative(std::size_t i) { return ((no_derivative_operands >> i) & 1U) == 0; }
  /// The operands the op divides by: a count over no elements there is an error of the run.
  static constexpr std::uint32_t divisor_operands = [] {
    if constexpr (detail::has_divisor_operands<Op>) return static_cast<std::uint32_t>(Op::divisor_operands);
    else return std::uint32_t{0};
  }();
  static constexpr bool exact_operand = [] {
    if constexpr (detail::has_exact_operand<Op>) return static_cast<bool>(Op::exact_operand);
    else return false;
  }();
  /// The symbol takes no operand types (every ctgrad op): renderers then keep one entry per op.
  static constexpr bool plain_symbol = detail::has_plain_symbol<Op>;
};

/// The reduction's start value and step, for the evaluator's accumulators.
template <class Op, class T>
constexpr T reduction_identity() {
  return Op::template identity<T>();
}
template <class Op, class T>
constexpr T reduction_combine(T acc, T v) {
  return Op::combine(acc, v);
}

// ---------------------------------------------------------------------------------------------
// The check make_node applies: one error class per missing member, whose name spells the
// operation in the compiler's instantiation context (as core/diagnostics.hpp does for inputs).

namespace detail {
template <class>
inline constexpr bool false_for_op = false;

template <class Op, std::size_t Arity, class Shapes = std::make_index_sequence<Arity>>
struct result_shape_check;
template <class Op, std::size_t Arity, std::size_t... I>
struct result_shape_check<Op, Arity, std::index_sequence<I...>> {
  template <std::size_t>
  struct stub {
    static constexpr static_shape shape{0, 0};
  };
  static constexpr bool value = requires { { Op::template result_shape<stub<I>...>() } -> std::convertible_to<static_shape>; };
  static constexpr bool symbol = requires { { Op::template symbol<stub<I>...>() } -> std::convertible_to<std::string>; };
  static constexpr bool apply = requires { { Op::apply(((void)I, 1.0)...) } -> std::convertible_to<double>; } &&
                                requires { { Op::apply(((void)I, 1.0f)...) } -> std::convertible_to<float>; };
};
}  // namespace detail

/// Error: an operation without `symbol<A...>()`.
template <class Op>
struct operation_has_no_symbol_member {
  static_assert(detail::false_for_op<Op>,
                "ctgrad::make_node<Op>(): the operation in 'operation_has_no_symbol_member<Op>' (this error's "
                "context) has no member `template <class...> static std::string symbol()`: every operation "
                "says how it prints");
};
/// Error: an operation without a kind.
template <class Op>
struct operation_has_no_kind {
  static_assert(detail::false_for_op<Op>,
                "ctgrad::make_node<Op>(): the operation in 'operation_has_no_kind<Op>' (this error's context) "
                "derives from none of ctgrad::elementwise_base, reduction_op, index_map_op, shape_function_op: "
                "derive an elementwise operation from ctgrad::elementwise_base");
};
/// Error: an operation without `result_shape<A...>()`.
template <class Op>
struct operation_has_no_result_shape_member {
  static_assert(detail::false_for_op<Op>,
                "ctgrad::make_node<Op>(): the operation in 'operation_has_no_result_shape_member<Op>' (this "
                "error's context) has no member `template <class... A> static constexpr static_shape "
                "result_shape()` for this many operands (ctgrad::elementwise_base supplies broadcasting)");
};
/// Error: an elementwise operation without `apply`.
template <class Op>
struct elementwise_operation_has_no_apply_member {
  static_assert(detail::false_for_op<Op>,
                "ctgrad::make_node<Op>(): the elementwise operation in "
                "'elementwise_operation_has_no_apply_member<Op>' (this error's context) has no member "
                "`template <class T> static T apply(T...)` taking one value per operand: it says how one "
                "element is computed");
};
/// Error: a reduction without `identity<T>()` and `combine(T, T)`.
template <class Op>
struct reduction_has_no_identity_or_combine_member {
  static_assert(detail::false_for_op<Op>,
                "ctgrad::make_node<Op>(): the reduction in 'reduction_has_no_identity_or_combine_member<Op>' "
                "(this error's context) lacks `template <class T> static constexpr T identity()` or "
                "`template <class T> static constexpr T combine(T, T)`: they say how it accumulates");
};
/// Error: an infix operation without a precedence.
template <class Op>
struct infix_operation_has_no_prec_member {
  static_assert(detail::false_for_op<Op>,
                "ctgrad::make_node<Op>(): the infix operation in 'infix_operation_has_no_prec_member<Op>' (this "
                "error's context) has no member `static constexpr int prec` (see ctgrad::precedence)");
};

/// An operation applicable to `Arity` operands: the members every pass needs are there.
template <class Op, std::size_t Arity>
concept Operation =
    detail::has_category<Op> && detail::result_shape_check<Op, Arity>::value && detail::result_shape_check<Op, Arity>::symbol &&
    (op_traits<Op>::category != op_category::elementwise || detail::result_shape_check<Op, Arity>::apply) &&
    (op_traits<Op>::category != op_category::reduction ||
     requires { { Op::combine(1.0, 1.0) } -> std::convertible_to<double>; Op::template identity<double>(); }) &&
    (op_traits<Op>::how != notation::infix || detail::has_prec<Op>);

namespace detail {
/// Instantiates the error class of the first required member Op lacks (true when none is).
template <class Op, std::size_t Arity>
constexpr bool check_operation() {
  if constexpr (Operation<Op, Arity>) {
    return true;
  } else {
    using check = result_shape_check<Op, Arity>;
    if constexpr (!has_category<Op>) static_assert(sizeof(operation_has_no_kind<Op>) > 0);
    else if constexpr (!check::value) static_assert(sizeof(operation_has_no_result_shape_member<Op>) > 0);
    else if constexpr (!check::symbol) static_assert(sizeof(operation_has_no_symbol_member<Op>) > 0);
    else if constexpr (op_traits<Op>::category == op_category::elementwise)
      static_assert(sizeof(elementwise_operation_has_no_apply_member<Op>) > 0);
    else if constexpr (op_traits<Op>::category == op_category::reduction)
      static_assert(sizeof(reduction_has_no_identity_or_combine_member<Op>) > 0);
    else static_assert(sizeof(infix_operation_has_no_prec_member<Op>) > 0);
    return false;
  }
}
}  // namespace detail

}  // namespace ctgrad
