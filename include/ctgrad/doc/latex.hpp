#pragma once
// ctgrad/doc/latex.hpp: expressions as LaTeX and as text, with names for intermediates.
//
//   ctgrad::doc::name_table names{ctgrad::doc::name(mu, "mu", "\\mu")};
//   ctgrad::doc::to_latex(x - mu, names);            // "x - \mu"
//   ctgrad::doc::to_latex(ctgrad::sum<0>(x));        // "\sum_{i} x"
//   fmt::format("{}", ctgrad::doc::with_names(x - mu, names));   // "x - mu"
//   fmt::format("{}", ctgrad::doc::latex(x - mu, names));        // "x - \mu"
//
// Each operation renders itself (its `latex` member, next to its evaluation and its rules);
// this header walks the expression, stopping at named subexpressions. Operations without a
// `latex` member (users' own) are written from their text notation: softplus(a) becomes
// \operatorname{softplus}\left(a\right). Inputs are written as their names, Greek names as
// Greek letters (gamma is \gamma, eps is \epsilon). Broadcasting is implicit, as in NumPy.
#include <array>
#include <string>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

#include "ctgrad/doc/names.hpp"
#include "ctgrad/expr/node.hpp"
#include "ctgrad/expr/text.hpp"

namespace ctgrad::doc {

namespace detail {

/// LaTeX for an input's name: Greek letter names become the letter, other names of one
/// character stay, longer ones are upright text (underscores escaped).
inline std::string latex_identifier(std::string_view n) {
  static constexpr std::array<std::string_view, 24> greek{
      "alpha", "beta",  "gamma",   "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
      "nu",    "xi",    "omicron", "pi",    "rho",     "sigma", "tau", "upsilon", "phi", "chi", "psi",   "omega"};
  if (n == "eps") return "\\epsilon";
  for (auto g : greek)
    if (n == g) return fmt::format("\\{}", g);
  if (n.size() == 1) return std::string(n);
  std::string out;
  for (char c : n) {
    if (c == '_') out += "\\_";
    else out += c;
  }
  return fmt::format("\\mathrm{{{}}}", out);
}

/// A name as an operand: atomic unless a superscript sits at its top level (sigma^2 squared
/// needs parentheses).
inline latex_operand named_operand(const std::string& tex) {
  int depth = 0;
  for (char c : tex) {
    if (c == '{') ++depth;
    else if (c == '}') --depth;
    else if (c == '^' && depth == 0) return {tex, precedence::power};
  }
  return {tex, precedence::atom};
}

template <class Op, class... Args>
concept has_latex = requires(const latex_operand& o) { Op::template latex<Args...>((void(sizeof(Args)), o)...); };

inline std::string escape_latex_text(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '_' || c == '#' || c == '%' || c == '&' || c == '$' || c == '{' || c == '}') out += '\\';
    out += c;
  }
  return out;
}

/// LaTeX of an operation without a `latex` member, from its text notation.
template <class Op, class... Args>
latex_operand default_latex(const std::array<latex_operand, sizeof...(Args)>& ops) {
  const std::string sym = Op::template symbol<Args...>();
  using traits = op_traits<Op>;
  if constexpr (traits::how == notation::infix && sizeof...(Args) == 2) {
    return {ops[0].wrapped(traits::prec) + " " + sym + " " +
                ops[1].wrapped_right(traits::associative ? traits::prec : traits::prec + 1),
            traits::prec};
  } else if constexpr (traits::how == notation::prefix && sizeof...(Args) == 1) {
    return {sym + ops[0].wrapped(precedence::unary), precedence::additive};
  } else if constexpr (traits::how == notation::postfix && sizeof...(Args) == 1) {
    return {ops[0].wrapped(precedence::atom) + "{" + escape_latex_text(sym) + "}", precedence::power};
  } else {
    std::string args;
    for (const auto& o : ops) args += (args.empty() ? "" : ", ") + o.tex;
    return {fmt::format("\\operatorname{{{}}}\\left({}\\right)", escape_latex_text(sym), args), precedence::atom};
  }
}

template <class E>
struct latex_of;

template <fixed_string Name, std::size_t R>
struct latex_of<input_node<Name, R>> {
  static latex_operand definition(const name_table&) { return {latex_identifier(Name.view()), precedence::atom}; }
};

template <rational V>
struct latex_of<constant_node<V>> {
  static latex_operand definition(const name_table&) {
    if constexpr (V.den == 1) return {fmt::format("{}", V.num), V.num < 0 ? precedence::additive : precedence::atom};
    else if constexpr (V.num < 0) return {fmt::format("-\\frac{{{}}}{{{}}}", -V.num, V.den), precedence::additive};
    else return {fmt::format("\\frac{{{}}}{{{}}}", V.num, V.den), precedence::unary};
  }
};

/// E rendered with the names of `names`: its own name if it has one, else its definition.
template <class E>
latex_operand latex_operand_of(const name_table& names) {
  if (const name_entry* n = names.find(id_of(E{}))) return named_operand(n->latex);
  return latex_of<E>::definition(names);
}

template <class Op, class... Args>
struct latex_of<node<Op, Args...>> {
  /// The node's own rendering (never its name); operands by name where they have one.
  static latex_operand definition(const name_table& names) {
    if constexpr (has_latex<Op, Args...>) {
      return Op::template latex<Args...>(latex_operand_of<Args>(names)...);
    } else {
      return default_latex<Op, Args...>(std::array<latex_operand, sizeof...(Args)>{latex_operand_of<Args>(names)...});
    }
  }
};

// ---- text with names: the same walk as ctgrad/expr/text.hpp, stopping at names ------------

struct text_operand {
  std::string text;
  int prec = precedence::atom;
  [[nodiscard]] std::string wrapped(int min_prec) const { return prec < min_prec ? "(" + text + ")" : text; }
};

template <class E>
struct named_text_of {
  static text_operand definition(const name_table&) {
    return {ctgrad::detail::text_of<E>::get(), ctgrad::detail::text_of<E>::prec};
  }
};

template <class E>
text_operand text_operand_of(const name_table& names) {
  if (const name_entry* n = names.find(id_of(E{}))) return {n->text, precedence::atom};
  return named_text_of<E>::definition(names);
}

template <class Op, class... Args>
struct named_text_of<node<Op, Args...>> {
  static text_operand definition(const name_table& names) {
    const std::string sym = Op::template symbol<Args...>();
    const std::array<text_operand, sizeof...(Args)> ops{text_operand_of<Args>(names)...};
    using traits = op_traits<Op>;
    if constexpr (traits::how == notation::infix) {
      static_assert(sizeof...(Args) == 2, "ctgrad: infix notation needs two operands");
      return {fmt::format("{} {} {}", ops[0].wrapped(traits::prec), sym,
                          ops[1].wrapped(traits::associative ? traits::prec : traits::prec + 1)),
              traits::prec};
    } else if constexpr (traits::how == notation::prefix) {
      std::string s = sym;
      for (const auto& o : ops) s += o.wrapped(precedence::unary);
      return {s, traits::prec};
    } else if constexpr (traits::how == notation::postfix) {
      std::string s;
      for (const auto& o : ops) s += o.wrapped(precedence::atom);
      return {s + sym, traits::prec};
    } else {
      std::string args;
      for (const auto& o : ops) args += (args.empty() ? "" : ", ") + o.text;
      return {fmt::format("{}({})", sym, args), traits::prec};
    }
  }
};

}  // namespace detail

/// The expression as LaTeX, stopping at named subexpressions (including E itself).
template <Expression E>
std::string to_latex(E, const name_table& names = {}) {
  return detail::latex_operand_of<std::remove_cvref_t<E>>(names).tex;
}

/// The expression's own definition as LaTeX: E itself is expanded one level even when named,
/// its operands are written by name (`mu` named: sum<0>(x) / count<0>(x) gives \frac{\sum_{i} x}{m}).
template <Expression E>
std::string definition_latex(E, const name_table& names = {}) {
  return detail::latex_of<std::remove_cvref_t<E>>::definition(names).tex;
}

/// The expression as text, stopping at named subexpressions; with no names, the same as
/// ctgrad::to_text.
template <Expression E>
std::string to_text(E, const name_table& names) {
  return detail::text_operand_of<std::remove_cvref_t<E>>(names).text;
}

/// E's own definition as text, operands by name.
template <Expression E>
std::string definition_text(E, const name_table& names) {
  return detail::named_text_of<std::remove_cvref_t<E>>::definition(names).text;
}

/// An expression and a name table, printed with fmt as text: fmt::format("{}", with_names(e, t)).
template <Expression E>
struct named_expression {
  const name_table* names;
};
template <Expression E>
named_expression<E> with_names(E, const name_table& names) {
  return {&names};
}

/// An expression and a name table, printed with fmt as LaTeX: fmt::format("{}", latex(e, t)).
template <Expression E>
struct latex_expression {
  const name_table* names;
};
template <Expression E>
latex_expression<E> latex(E, const name_table& names) {
  return {&names};
}

}  // namespace ctgrad::doc

template <class E>
struct fmt::formatter<ctgrad::doc::named_expression<E>> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const ctgrad::doc::named_expression<E>& e, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(ctgrad::doc::to_text(E{}, *e.names), ctx);
  }
};

template <class E>
struct fmt::formatter<ctgrad::doc::latex_expression<E>> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const ctgrad::doc::latex_expression<E>& e, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(ctgrad::doc::to_latex(E{}, *e.names), ctx);
  }
};
