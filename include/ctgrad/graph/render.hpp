#pragma once
// ctgrad/graph/render.hpp: expressions as text and LaTeX, from one table-driven walk.
//
//   auto x = ctgrad::input<"x", 2>;
//   fmt::print("{}\n", ctgrad::mean<0>(x));          // sum<0>(x) / count<0>(x)
//   std::string s = ctgrad::to_text(ctgrad::exp(x)); // "exp(x)"
//   fmt::print("{:let}\n", e);                       // shared subexpressions once, under names
//   ctgrad::to_text(ctgrad::exprs(dx, dgamma), {.let = true, .results = {"dx", "dgamma"}});
//     // t1 = x - sum<0>(x) / count<0>(x)
//     // ...
//     // dx = ...
//
// The notation of each operation (its symbol, precedence, associativity, its `latex` member) is
// defined with the operation and read through op_traits. What a graph's renderer needs of each
// of its unique nodes is one entry of a table computed at compile time (graph_render<Order>):
// for an operation, an entry per operation and arity, so that no function is instantiated per
// node; then a run-time walk over the table in topological order renders text or LaTeX (the
// syntax is a parameter), writes named nodes by their names (ctgrad/doc/names.hpp supplies
// them by place), and in let form binds shared and wide subexpressions to names, as JAX prints
// a jaxpr. Error messages of the evaluator (eval/executor.hpp) use the same table.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ctgrad/core/rational.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/expr/node.hpp"
#include "ctgrad/graph/index.hpp"
#include "ctgrad/graph/topo.hpp"

namespace ctgrad {

/// The notations a renderer writes.
enum class syntax : std::uint8_t { text, latex };

/// How ctgrad::to_text prints.
///   let           each shared subexpression printed once, as `t1 = ...`, then the results
///   width         in let form, an operand is bound to a name while a line is longer than this
///   inline_limit  in let form, a shared subexpression of at most this many characters is
///                 repeated rather than named (count<0>(x), gamma * t3)
///   results       in let form, the results' names ("result", or "result1", "result2", ...)
struct text_options {
  bool let = false;
  std::size_t width = 100;
  std::size_t inline_limit = 16;
  std::vector<std::string> results{};
};

namespace detail::render {

// The renderer's functions run once per printed expression, never in a loop over data, and are
// compiled in every translation unit that prints: marked cold, GCC compiles them for size. The
// document renderers of doc/ (Markdown, DOT, LaTeX, HTML, derivations) use the same mark.
// Measured with g++ 12 -O3 on a program printing exp(x): the renderer added 4.2 s to compile
// without the mark, 1.8 s with it.
#define CTGRAD_RENDER_FN [[gnu::cold]]

enum class leaf_kind : std::uint8_t { none, input, constant };

/// What a node prints as: inputs their name, constants their value, nodes their operation's
/// symbol in its notation (or its `latex` member) applied to their operands.
struct entry {
  leaf_kind leaf = leaf_kind::none;
  std::string_view name{};  // input
  rational value{};         // constant
  std::string (*symbol)() = nullptr;
  latex_operand (*latex)(const latex_operand*) = nullptr;  // nullptr: from the notation
  int prec = precedence::atom;
  notation how = notation::call;
  bool associative = false;
  std::uint32_t arity = 0;
  std::uint32_t shape_only = 0;  // operands read for their shape only (drawn dashed)
};

/// An operation's `latex(const latex_operand&...)` member, called with operands from an array.
template <class Op, class Seq>
struct latex_call;
template <class Op, std::size_t... I>
struct latex_call<Op, std::index_sequence<I...>> {
  static constexpr bool available =
      requires(const latex_operand& o) { { Op::latex(((void)I, o)...) } -> std::convertible_to<latex_operand>; };
  static latex_operand call(const latex_operand* ops) { return Op::latex(ops[I]...); }
};
template <class Call>
constexpr auto latex_function() -> latex_operand (*)(const latex_operand*) {
  if constexpr (Call::available) return &Call::call;
  else return nullptr;
}

/// The entry of an operation applied to Arity operands, named by the operation and its symbol
/// function only.
template <class Op, std::uint32_t Arity, std::string (*Symbol)()>
struct op_entry {
  static constexpr entry value{leaf_kind::none,
                               {},
                               {},
                               Symbol,
                               latex_function<latex_call<Op, std::make_index_sequence<Arity>>>(),
                               op_traits<Op>::prec,
                               op_traits<Op>::how,
                               op_traits<Op>::associative,
                               Arity,
                               op_traits<Op>::shape_only_operands};
};

// Each node's entry is its operation's (a base class: a static data member of a class named by
// the node would have a mangled name holding the node, graph/index.hpp). Only a user's symbol
// that takes the operand types, `template <class... A> symbol()` printing something of A, makes
// an entry per node.
template <bool PlainSymbol, class Op, class... Args>
struct op_entry_of {
  using type = op_entry<Op, sizeof...(Args), &Op::template symbol<>>;
};
template <class Op, class... Args>
struct op_entry_of<false, Op, Args...> {
  using type = op_entry<Op, sizeof...(Args), &Op::template symbol<Args...>>;
};

template <class N>
struct entry_of;
template <fixed_string Name, std::size_t R>
struct entry_of<input_node<Name, R>> {
  static constexpr entry value{leaf_kind::input, Name.view()};
};
template <rational V>
struct entry_of<constant_node<V>> {
  static constexpr entry value{leaf_kind::constant, {}, V};
};
template <class Op, class... Args>
struct entry_of<node<Op, Args...>> : op_entry_of<op_traits<Op>::plain_symbol, Op, Args...>::type {};

/// A graph's table, read at run time: entries, static shapes and operands by place (children
/// before parents).
struct graph_view {
  const entry* entries = nullptr;
  const static_shape* shapes = nullptr;
  const std::size_t* operand_first = nullptr;
  const std::uint32_t* operand_places = nullptr;
  std::size_t size = 0;

  [[nodiscard]] std::uint32_t operand(std::uint32_t i, std::uint32_t k) const {
    return operand_places[operand_first[i] + k];
  }
};

/// The table of the unique nodes `Order` (a topological order), computed once per graph. Only
/// this class takes the order apart into its nodes; it has no member templates (graph/index.hpp).
template <class Order>
struct graph_tables;
template <class... Ns>
struct graph_tables<type_list<Ns...>> {
  static constexpr std::array<entry, sizeof...(Ns)> entries{entry_of<Ns>::value...};
  static constexpr std::array<static_shape, sizeof...(Ns)> shapes{Ns::shape...};
};
template <class Order>
struct graph_render {
  using index = ctgrad::detail::graph_index<Order>;
  using tables = graph_tables<Order>;
  static constexpr graph_view view{tables::entries.data(), tables::shapes.data(), index::operand_offsets.data(),
                                   index::operand_list.data(), index::size};
};

/// A name a renderer writes for a node instead of its definition (ctgrad/doc/names.hpp).
struct place_name {
  std::string_view text{};
  std::string_view latex{};
  bool set = false;
};

/// LaTeX for an input's name: Greek letter names become the letter, other names of one
/// character stay, longer ones are upright text (underscores escaped).
CTGRAD_RENDER_FN inline std::string latex_identifier(std::string_view n) {
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

CTGRAD_RENDER_FN inline std::string escape_latex_text(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '_' || c == '#' || c == '%' || c == '&' || c == '$' || c == '{' || c == '}') out += '\\';
    out += c;
  }
  return out;
}

/// A name as a LaTeX operand: atomic unless a superscript sits at its top level (sigma^2
/// squared needs parentheses).
CTGRAD_RENDER_FN inline latex_operand named_latex(std::string_view tex) {
  int depth = 0;
  for (char c : tex) {
    if (c == '{') ++depth;
    else if (c == '}') --depth;
    else if (c == '^' && depth == 0) return {std::string(tex), precedence::power};
  }
  return {std::string(tex), precedence::atom};
}

CTGRAD_RENDER_FN inline std::string text_wrapped(const latex_operand& o, int min_prec) {
  return o.prec < min_prec ? "(" + o.tex + ")" : o.tex;
}

/// An input or a constant. (In text a fraction binds like a product and a negative integer
/// like a sign; in LaTeX \frac is tighter.)
CTGRAD_RENDER_FN inline latex_operand leaf_piece(const entry& e, syntax s) {
  if (e.leaf == leaf_kind::input)
    return {s == syntax::text ? std::string(e.name) : latex_identifier(e.name), precedence::atom};
  const rational v = e.value;
  latex_operand o;
  if (s == syntax::text) {
    o = {v.den == 1 ? fmt::format("{}", v.num) : fmt::format("{}/{}", v.num, v.den),
         v.den != 1 ? precedence::multiplicative : (v.num < 0 ? precedence::unary : precedence::atom)};
  } else if (v.den == 1) {
    o = {fmt::format("{}", v.num), v.num < 0 ? precedence::additive : precedence::atom};
  } else if (v.num < 0) {
    o = {fmt::format("-\\frac{{{}}}{{{}}}", -v.num, v.den), precedence::additive};
  } else {
    o = {fmt::format("\\frac{{{}}}{{{}}}", v.num, v.den), precedence::unary};
  }
  o.constant = true;
  o.value = v;
  return o;
}

/// A node from its operands' renderings.
CTGRAD_RENDER_FN inline latex_operand node_piece(const entry& e, syntax s, const latex_operand* ops) {
  const std::string sym = e.symbol();
  if (s == syntax::text) {
    if (e.how == notation::infix && e.arity == 2) {
      // a - (b + c), a / (b * c): the right operand of a non-associative operator needs
      // parentheses at equal precedence.
      return {fmt::format("{} {} {}", text_wrapped(ops[0], e.prec), sym,
                          text_wrapped(ops[1], e.associative ? e.prec : e.prec + 1)),
              e.prec};
    }
    if (e.how == notation::prefix || e.how == notation::postfix) {
      std::string operands;
      for (std::uint32_t k = 0; k < e.arity; ++k)
        operands += text_wrapped(ops[k], e.how == notation::prefix ? precedence::unary : precedence::atom);
      return {e.how == notation::prefix ? sym + operands : operands + sym, e.prec};
    }
    std::string operands;
    for (std::uint32_t k = 0; k < e.arity; ++k) operands += (k > 0 ? ", " : "") + ops[k].tex;
    return {fmt::format("{}({})", sym, operands), e.prec};
  }
  if (e.latex != nullptr) return e.latex(ops);
  // An operation without a `latex` member (users' own), from its text notation:
  // softplus(a) becomes \operatorname{softplus}\left(a\right).
  if (e.how == notation::infix && e.arity == 2)
    return {ops[0].wrapped(e.prec) + " " + sym + " " + ops[1].wrapped_right(e.associative ? e.prec : e.prec + 1), e.prec};
  if (e.how == notation::prefix && e.arity == 1) return {sym + ops[0].wrapped(precedence::unary), precedence::additive};
  if (e.how == notation::postfix && e.arity == 1)
    return {ops[0].wrapped(precedence::atom) + "{" + escape_latex_text(sym) + "}", precedence::power};
  std::string args;
  for (std::uint32_t k = 0; k < e.arity; ++k) args += (k > 0 ? ", " : "") + ops[k].tex;
  return {fmt::format("\\operatorname{{{}}}\\left({}\\right)", escape_latex_text(sym), args), precedence::atom};
}

/// The places reachable from `roots` (each root included); a place for which `stop` holds is
/// reached but its operands are not (a named node, written by its name).
template <class Stop>
CTGRAD_RENDER_FN std::vector<char> reachable(const graph_view& g, std::span<const std::uint32_t> roots, Stop stop) {
  std::vector<char> seen(g.size, 0);
  std::vector<std::uint32_t> stack(roots.begin(), roots.end());
  for (std::uint32_t r : roots) seen[r] = 1;
  while (!stack.empty()) {
    const std::uint32_t i = stack.back();
    stack.pop_back();
    if (stop(i)) continue;
    for (std::uint32_t k = 0; k < g.entries[i].arity; ++k) {
      const std::uint32_t c = g.operand(i, k);
      if (!seen[c]) {
        seen[c] = 1;
        stack.push_back(c);
      }
    }
  }
  return seen;
}

/// Renders place i from `pieces` of its operands, or the operands' names where `named` says so.
template <class Operand>
CTGRAD_RENDER_FN latex_operand piece_at(const graph_view& g, std::uint32_t i, syntax s, Operand operand) {
  const entry& e = g.entries[i];
  latex_operand p;
  if (e.leaf != leaf_kind::none) {
    p = leaf_piece(e, s);
  } else {
    std::array<latex_operand, 8> small;
    std::vector<latex_operand> big;
    latex_operand* ops = small.data();
    if (e.arity > small.size()) {
      big.resize(e.arity);
      ops = big.data();
    }
    for (std::uint32_t k = 0; k < e.arity; ++k) ops[k] = operand(g.operand(i, k));
    p = node_piece(e, s, ops);
  }
  p.shape = g.shapes[i];
  return p;
}

CTGRAD_RENDER_FN inline latex_operand name_piece(const place_name& n, syntax s, static_shape shape) {
  latex_operand p = s == syntax::text ? latex_operand{std::string(n.text), precedence::atom} : named_latex(n.latex);
  p.shape = shape;
  return p;
}

/// The text or LaTeX of the node at `root`, writing named nodes (`names`, empty or one per
/// place) by their names; with `definition`, root itself is written as its definition even
/// when it has a name.
CTGRAD_RENDER_FN inline std::string render(const graph_view& g, std::uint32_t root, syntax s, std::span<const place_name> names = {},
                          bool definition = false) {
  const auto named = [&](std::uint32_t i) { return !names.empty() && names[i].set && !(definition && i == root); };
  const std::uint32_t roots[] = {root};
  const std::vector<char> seen = render::reachable(g, roots, named);
  std::vector<latex_operand> piece(g.size);
  for (std::uint32_t i = 0; i <= root; ++i) {
    if (!seen[i]) continue;
    piece[i] = named(i) ? render::name_piece(names[i], s, g.shapes[i])
                        : render::piece_at(g, i, s, [&](std::uint32_t c) -> const latex_operand& { return piece[c]; });
  }
  return std::move(piece[root].tex);
}

/// The nodes at `roots` as a let program: every node that is read more than once and longer
/// than `o.inline_limit`, every named node and every result is one line `name = definition`,
/// its readers write it by name; while a line is wider than `o.width`, its widest operand gets
/// a line of its own. Results are named `results[k]` (o.results, or result, result1, ...);
/// fresh names are t1, t2, ... (skipping the names already in use).
CTGRAD_RENDER_FN inline std::vector<std::pair<std::string, std::string>> let_lines(const graph_view& g,
                                                                 std::span<const std::uint32_t> roots,
                                                                 std::span<const std::string> results, syntax s,
                                                                 std::span<const place_name> names,
                                                                 const text_options& o) {
  const auto named = [&](std::uint32_t i) { return !names.empty() && names[i].set; };
  const std::vector<char> seen = render::reachable(g, roots, [](std::uint32_t) { return false; });
  std::uint32_t last = 0;
  for (std::uint32_t r : roots) last = r > last ? r : last;
  std::vector<std::uint32_t> readers(g.size, 0);
  for (std::uint32_t i = 0; i <= last; ++i)
    if (seen[i])
      for (std::uint32_t k = 0; k < g.entries[i].arity; ++k) ++readers[g.operand(i, k)];
  // The first result at each place names it; a later result at the same place (or at a leaf)
  // is written as an alias line.
  std::vector<std::string> line_name(g.size);
  std::vector<char> bound(g.size, 0);
  std::vector<std::pair<std::string, std::uint32_t>> aliases;
  for (std::size_t k = 0; k < roots.size(); ++k) {
    const std::uint32_t r = roots[k];
    if (g.entries[r].leaf == leaf_kind::none && line_name[r].empty()) {
      line_name[r] = results[k];
      bound[r] = 1;
    } else {
      aliases.emplace_back(results[k], r);
    }
  }
  for (std::uint32_t i = 0; i <= last; ++i)
    if (seen[i] && named(i) && g.entries[i].leaf == leaf_kind::none && line_name[i].empty()) {
      line_name[i] = std::string(s == syntax::text ? names[i].text : names[i].latex);
      bound[i] = 1;
    }

  // Decide which nodes get a line, bottom-up, with a placeholder for fresh names.
  const latex_operand placeholder{s == syntax::text ? "t00" : "t_{00}", precedence::atom};
  std::vector<latex_operand> piece(g.size);
  const auto operand = [&](std::uint32_t c) -> latex_operand {
    if (!bound[c]) return piece[c];
    if (line_name[c].empty()) return placeholder;
    return {line_name[c], precedence::atom};
  };
  for (std::uint32_t i = 0; i <= last; ++i) {
    if (!seen[i]) continue;
    piece[i] = render::piece_at(g, i, s, operand);
    if (g.entries[i].leaf != leaf_kind::none) continue;
    while (piece[i].tex.size() > o.width) {
      std::uint32_t widest = 0;
      std::size_t width = placeholder.tex.size();
      for (std::uint32_t k = 0; k < g.entries[i].arity; ++k) {
        const std::uint32_t c = g.operand(i, k);
        if (!bound[c] && g.entries[c].leaf == leaf_kind::none && piece[c].tex.size() > width) {
          widest = c;
          width = piece[c].tex.size();
        }
      }
      if (width == placeholder.tex.size()) break;  // nothing left to bind
      bound[widest] = 1;
      piece[i] = render::piece_at(g, i, s, operand);
    }
    if (readers[i] >= 2 && piece[i].tex.size() > o.inline_limit) bound[i] = 1;
  }

  // Fresh names in place order, skipping inputs' and given names.
  std::vector<std::string_view> taken;
  for (std::uint32_t i = 0; i <= last; ++i) {
    if (!seen[i]) continue;
    if (g.entries[i].leaf == leaf_kind::input) taken.push_back(g.entries[i].name);
    if (!line_name[i].empty()) taken.push_back(line_name[i]);
  }
  for (const auto& [name, place] : aliases) taken.push_back(name);
  std::size_t fresh = 0;
  const auto next_name = [&] {
    for (;;) {
      ++fresh;
      std::string t = s == syntax::text ? fmt::format("t{}", fresh) : fmt::format("t_{{{}}}", fresh);
      bool clash = false;
      for (std::string_view n : taken) clash = clash || n == t;
      if (!clash) return t;
    }
  };
  for (std::uint32_t i = 0; i <= last; ++i)
    if (seen[i] && bound[i] && line_name[i].empty()) line_name[i] = next_name();

  // The lines, with the final names.
  std::vector<std::pair<std::string, std::string>> lines;
  for (std::uint32_t i = 0; i <= last; ++i) {
    if (!seen[i]) continue;
    piece[i] = render::piece_at(g, i, s, operand);
    if (bound[i]) lines.emplace_back(line_name[i], piece[i].tex);
  }
  for (const auto& [name, place] : aliases)
    lines.emplace_back(name, bound[place] ? line_name[place] : piece[place].tex);
  return lines;
}

/// The results' names: the given ones, then result (one root) or result1, result2, ...
CTGRAD_RENDER_FN inline std::vector<std::string> result_names(std::size_t n, const std::vector<std::string>& given) {
  std::vector<std::string> out;
  for (std::size_t k = 0; k < n; ++k)
    out.push_back(k < given.size() ? given[k] : n == 1 ? std::string("result") : fmt::format("result{}", k + 1));
  return out;
}

/// Lines `name = definition`, one per line.
CTGRAD_RENDER_FN inline std::string text_program(const graph_view& g, std::span<const std::uint32_t> roots, const text_options& o,
                                std::span<const place_name> names = {}) {
  const std::vector<std::string> results = render::result_names(roots.size(), o.results);
  std::string out;
  if (o.let) {
    for (const auto& [name, rhs] : render::let_lines(g, roots, results, syntax::text, names, o))
      out += fmt::format("{}{} = {}", out.empty() ? "" : "\n", name, rhs);
  } else {
    for (std::size_t k = 0; k < roots.size(); ++k)
      out += fmt::format("{}{} = {}", k ? "\n" : "", results[k], render::render(g, roots[k], syntax::text, names, true));
  }
  return out;
}

template <class Index, class List>
struct root_places;
template <class Index, class... Es>
struct root_places<Index, expr_list<Es...>> {
  static constexpr std::array<std::uint32_t, sizeof...(Es)> value{
      static_cast<std::uint32_t>(Index::template place_t<Es>::value)...};
};

template <class List>
struct list_order;
template <class... Es>
struct list_order<expr_list<Es...>> {
  using type = topological_order_t<Es...>;
};

}  // namespace detail::render

/// The expression as one line of text, e.g. "sum<0>(x) / count<0>(x)".
template <Expression E>
std::string to_text(E) {
  using r = detail::render::graph_render<topological_order_t<std::remove_cvref_t<E>>>;
  return detail::render::render(r::view, static_cast<std::uint32_t>(r::view.size - 1), syntax::text);
}

/// The expression as text; with `options.let`, as a let program (see text_options): each
/// shared subexpression once, under a name, then `result = ...`.
template <Expression E>
std::string to_text(E, const text_options& options) {
  using r = detail::render::graph_render<topological_order_t<std::remove_cvref_t<E>>>;
  if (!options.let) return ctgrad::to_text(E{});
  const std::uint32_t root[] = {static_cast<std::uint32_t>(r::view.size - 1)};
  return detail::render::text_program(r::view, root, options);
}

/// Several expressions as lines `name = ...` (names from options.results, or result1, ...),
/// in let form sharing their common subexpressions.
template <class... Es>
std::string to_text(expr_list<Es...> list, const text_options& options = {}) {
  using order = typename detail::render::list_order<decltype(list)>::type;
  using r = detail::render::graph_render<order>;
  const auto& roots = detail::render::root_places<typename r::index, expr_list<Es...>>::value;
  return detail::render::text_program(r::view, roots, options);
}

}  // namespace ctgrad

namespace ctgrad::detail::render {
/// fmt's string formatter, with the format spec `let` first for the let form ("{:let}").
struct let_formatter : fmt::formatter<std::string_view> {
  bool let = false;
  template <class ParseContext>
  constexpr auto parse(ParseContext& ctx) {
    auto it = ctx.begin();
    if (ctx.end() - it >= 3 && it[0] == 'l' && it[1] == 'e' && it[2] == 't') {
      let = true;
      ctx.advance_to(it + 3);
    }
    return fmt::formatter<std::string_view>::parse(ctx);
  }
};
}  // namespace ctgrad::detail::render

/// fmt::format("{}", expression) prints the expression's text, "{:let}" its let form.
template <ctgrad::Expression E>
struct fmt::formatter<E> : ctgrad::detail::render::let_formatter {
  template <class Ctx>
  auto format(const E& e, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(let ? ctgrad::to_text(e, ctgrad::text_options{.let = true})
                                                        : ctgrad::to_text(e),
                                                    ctx);
  }
};

/// An expression list is tuple-like (structured bindings); fmt's tuple formatter must not claim it.
template <class... Es>
struct fmt::is_tuple_like<ctgrad::expr_list<Es...>> : std::false_type {};

/// fmt::format("{}", ctgrad::exprs(a, b)) prints lines `result1 = ...`, "{:let}" in let form.
template <class... Es>
struct fmt::formatter<ctgrad::expr_list<Es...>> : ctgrad::detail::render::let_formatter {
  template <class Ctx>
  auto format(const ctgrad::expr_list<Es...>& e, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(ctgrad::to_text(e, ctgrad::text_options{.let = let}), ctx);
  }
};
