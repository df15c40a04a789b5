#pragma once
// ctgrad/expr/text.hpp: expressions as plain text, with fmt.
//
//   auto x = ctgrad::input<"x", 2>;
//   fmt::print("{}\n", ctgrad::mean<0>(x));          // sum<0>(x) / count<0>(x)
//   std::string s = ctgrad::to_text(ctgrad::exp(x)); // "exp(x)"
//
// The notation of each operation (infix symbol, function name, precedence) is defined with the
// operation itself; this header only walks the tree. Error messages use the same text.
#include <array>
#include <string>

#include <fmt/format.h>

#include "ctgrad/expr/node.hpp"

namespace ctgrad {

namespace detail {

template <class E>
struct text_of;

template <fixed_string Name, std::size_t R>
struct text_of<input_node<Name, R>> {
  static constexpr int prec = precedence::atom;
  static std::string get() { return std::string(Name.view()); }
};

template <rational V>
struct text_of<constant_node<V>> {
  static constexpr int prec =
      V.den != 1 ? precedence::multiplicative : (V.num < 0 ? precedence::unary : precedence::atom);
  static std::string get() {
    return V.den == 1 ? fmt::format("{}", V.num) : fmt::format("{}/{}", V.num, V.den);
  }
};

template <class E>
std::string wrapped(int min_prec) {
  std::string s = text_of<E>::get();
  return text_of<E>::prec < min_prec ? fmt::format("({})", s) : s;
}

template <class Op, class... Args>
struct text_of<node<Op, Args...>> {
  static constexpr int prec = op_traits<Op>::prec;
  static std::string get() {
    const std::string sym = Op::template symbol<Args...>();
    if constexpr (op_traits<Op>::how == notation::infix) {
      static_assert(sizeof...(Args) == 2, "ctgrad: infix notation needs two operands");
      return infix(sym, type_list<Args...>{});
    } else if constexpr (op_traits<Op>::how == notation::prefix) {
      return fmt::format("{}{}", sym, (wrapped<Args>(precedence::unary) + ...));
    } else if constexpr (op_traits<Op>::how == notation::postfix) {
      return fmt::format("{}{}", (wrapped<Args>(precedence::atom) + ...), sym);
    } else {
      return fmt::format("{}({})", sym, fmt::join(std::array<std::string, sizeof...(Args)>{text_of<Args>::get()...}, ", "));
    }
  }
  template <class A, class B>
  static std::string infix(const std::string& sym, type_list<A, B>) {
    // a - (b + c), a / (b * c): the right operand of a non-associative operator needs
    // parentheses at equal precedence.
    return fmt::format("{} {} {}", wrapped<A>(prec), sym, wrapped<B>(op_traits<Op>::associative ? prec : prec + 1));
  }
};

}  // namespace detail

/// The expression as one line of text, e.g. "sum<0>(x) / count<0>(x)".
template <Expression E>
std::string to_text(E) {
  return detail::text_of<std::remove_cvref_t<E>>::get();
}

}  // namespace ctgrad

/// fmt::format("{}", expression) prints the expression's text.
template <ctgrad::Expression E>
struct fmt::formatter<E> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const E& e, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(ctgrad::to_text(e), ctx);
  }
};
