#pragma once
// ctgrad/doc/unsimplified.hpp: the switch that shows the raw chain rule, for teaching.
//
//   auto dy_raw = ctgrad::doc::unsimplified(dy);
//   auto [dx] = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy_raw), ctgrad::wrt(x));
//   // dx is every local rule applied literally: no x*1, 0+x, --x or sum(broadcast) rewrites
//
// `unsimplified(e)` has e's value. Every node built on it (through make_node, so every adjoint
// of a reverse pass seeded with it) skips its operation's simplification rules: node types carry
// a flag, computed once per type from their operands (ctgrad/expr/node.hpp). Expressions built
// without it, the forward pass among them, are simplified as always. The result evaluates and
// differentiates like any expression, with the same values, written as the rules give it.
#include <string>
#include <string_view>

#include "ctgrad/expr/arithmetic.hpp"

namespace ctgrad::doc {

/// The identity that starts an unsimplified graph (see the header comment).
struct unsimplified_op : elementwise_base {
  static constexpr notation kind = notation::prefix;  // printed as its operand alone
  static constexpr int prec = precedence::atom;
  template <class...>
  static std::string symbol() { return ""; }

  template <class T>
  static constexpr T apply(T a) { return a; }

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A) { return g; }

  static latex_operand latex(const latex_operand& a) { return a; }
  static constexpr std::string_view rule_name = "identity";
  static constexpr std::string_view rule_latex = "c = a:\\quad \\bar{a} \\mathrel{+}= \\bar{c}";
};

/// e, with every node later built on it left unsimplified.
template <Expression E>
constexpr auto unsimplified(E) {
  return node<unsimplified_op, E>{};
}

}  // namespace ctgrad::doc

namespace ctgrad {
template <>
inline constexpr bool starts_unsimplified<doc::unsimplified_op> = true;
}  // namespace ctgrad
