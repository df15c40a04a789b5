#pragma once
// ctgrad/expr/contraction.hpp: the contraction primitive (einsum) and matmul.
//
//   auto x = ctgrad::input<"x", 2>;                      // m x k
//   auto W = ctgrad::input<"W", 2>;                      // k x n
//   auto y = ctgrad::einsum<"ik,kj->ij">(x, W);          // m x n: the matrix product
//   static_assert(std::is_same_v<decltype(y), decltype(ctgrad::matmul(x, W))>);
//   auto t = ctgrad::einsum<"bik,bkj->bij">(a, b);       // batched; "i,j->ij" an outer product
//
// One primitive, einsum_op<subscripts>: a letter per axis of each of its one or two operands
// and of its result. The result at an index is the sum, over the letters not in the result, of
// the product of the operands' elements at the indices their letters take. A letter in both
// operands and the result is a batch index, one in both operands only is contracted, one in an
// operand and the result only is kept (no shared letter: an outer product), one in a single
// operand only is summed over it.
//
// Rules, in the op: the reverse rule of operand I is a contraction again, of the adjoint with
// the other operand, whose result letters are operand I's: for c = einsum<"ik,kj->ij">(a, b),
// a-bar = einsum<"ij,kj->ik">(c-bar, b) and b-bar = einsum<"ik,ij->kj">(a, c-bar): transposes
// are letters, never copies, and the evaluator folds them into the BLAS call's flags. The
// forward rule contracts the tangent in place of operand I (a contraction is linear in each).
//
// Shapes: an operand axis of static extent 1 (kept by a reduction) takes part in no index: it
// broadcasts, as NumPy's matmul broadcasts batch axes. A result letter '1' makes an axis of
// extent 1 (the reverse rules use it for such axes). Extents are checked when values are bound:
// two axes with one letter must have one extent (a shape_error names both inputs and axes).
// Not supported, each a static_assert sentence: a letter twice in one operand (a diagonal) or
// in the result, NumPy's '...', more than two operands. Without "->" the result is NumPy's
// implicit one: the letters that occur once, in alphabetical (ASCII) order.
//
// Simplifications: a zero operand gives 0, a constant scalar operand is multiplied out, a
// contraction that only copies its operand is the operand, and a permute<P...> operand is
// folded into the letters (so transpose(a) costs no copy).
//
// Evaluation: ctgrad/eval/contraction.hpp; through CBLAS when the program links ctgrad::blas.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "ctgrad/core/fixed_string.hpp"
#include "ctgrad/expr/reduction.hpp"
#include "ctgrad/expr/reshape.hpp"

namespace ctgrad {

template <subscripts S>
struct einsum_op;

namespace detail::einsum {

constexpr bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

enum class problem : std::uint8_t {
  none,
  bad_character,            // not a letter, ',', "->" or a space
  too_many_operands,        // more than two
  too_many_letters,         // more than max_rank in one operand or the result
  letter_twice_in_operand,  // a diagonal: not supported
  letter_twice_in_result,
  result_letter_not_in_operands,
  ellipsis,                 // NumPy's "...": not supported
};

struct parsed {
  subscripts s{};
  problem error = problem::none;
};

/// Parses "ik,kj->ij" (spaces ignored; without "->", NumPy's implicit result). The text is read
/// by index through a copy in a std::array (string_view's find, which uses the builtin memchr,
/// is not a constant expression under g++ -fsanitize=undefined).
template <std::size_t N>
constexpr parsed parse(const std::array<char, N>& text, std::size_t size) {
  parsed p{};
  std::size_t arrow = size;
  for (std::size_t i = 0; i + 1 < size; ++i) {
    if (text[i] == '.' && text[i + 1] == '.') return {p.s, problem::ellipsis};
    if (text[i] == '-' && text[i + 1] == '>' && arrow == size) arrow = i;
  }
  std::size_t k = 0;
  p.s.operands = 1;
  for (std::size_t i = 0; i < arrow; ++i) {
    const char c = text[i];
    if (c == ' ') continue;
    if (c == ',') {
      if (++k >= 2) return {p.s, problem::too_many_operands};
      p.s.operands = k + 1;
      continue;
    }
    if (!is_letter(c)) return {p.s, problem::bad_character};
    if (p.s.rank[k] >= max_rank) return {p.s, problem::too_many_letters};
    for (std::size_t a = 0; a < p.s.rank[k]; ++a)
      if (p.s.letter[k][a] == c) return {p.s, problem::letter_twice_in_operand};
    p.s.letter[k][p.s.rank[k]++] = c;
  }
  auto occurrences = [&](char c) {
    std::size_t n = 0;
    for (std::size_t o = 0; o < p.s.operands; ++o)
      for (std::size_t a = 0; a < p.s.rank[o]; ++a) n += p.s.letter[o][a] == c;
    return n;
  };
  std::size_t& r = p.s.rank[subscripts::result];
  auto& out = p.s.letter[subscripts::result];
  if (arrow == size) {
    for (char c = 'A'; c <= 'z'; ++c)
      if (is_letter(c) && occurrences(c) == 1) {
        if (r >= max_rank) return {p.s, problem::too_many_letters};
        out[r++] = c;
      }
    return p;
  }
  for (std::size_t i = arrow + 2; i < size; ++i) {
    const char c = text[i];
    if (c == ' ') continue;
    if (!is_letter(c)) return {p.s, problem::bad_character};
    if (r >= max_rank) return {p.s, problem::too_many_letters};
    for (std::size_t a = 0; a < r; ++a)
      if (out[a] == c) return {p.s, problem::letter_twice_in_result};
    if (occurrences(c) == 0) return {p.s, problem::result_letter_not_in_operands};
    out[r++] = c;
  }
  return p;
}
/// The subscripts of einsum<S>, parsed once per string.
template <fixed_string S>
struct parsed_of {
  static constexpr std::array<char, sizeof(S.data)> text = [] {
    std::array<char, sizeof(S.data)> t{};
    for (std::size_t i = 0; i < t.size(); ++i) t[i] = S.data[i];
    return t;
  }();
  static constexpr parsed value = detail::einsum::parse(text, S.size());
};

/// The result shape: an axis is statically unit when its letter is '1' or no operand has it
/// at an axis that is not statically unit.
template <std::size_t N>
constexpr static_shape result_shape(const subscripts& s, const std::array<static_shape, N>& in) {
  static_shape out{s.rank[subscripts::result], 0};
  for (std::size_t a = 0; a < out.rank; ++a) {
    const char c = s.letter[subscripts::result][a];
    bool unit = true;
    for (std::size_t k = 0; k < N && k < s.operands; ++k)
      for (std::size_t j = 0; j < s.rank[k] && j < in[k].rank; ++j)
        if (s.letter[k][j] == c && !in[k].is_unit(j)) unit = false;
    if (unit) out.unit_mask |= std::uint32_t{1} << a;
  }
  return out;
}

/// The letters of operand I's reverse rule: operand I replaced by the adjoint (the result's
/// letters), the result given operand I's letters, '1' where operand I is statically unit.
constexpr subscripts reverse(const subscripts& s, std::size_t i, static_shape target) {
  subscripts r = s;
  r.letter[i] = s.letter[subscripts::result];
  r.rank[i] = s.rank[subscripts::result];
  r.rank[subscripts::result] = s.rank[i];
  for (std::size_t a = 0; a < max_rank; ++a)
    r.letter[subscripts::result][a] = a < s.rank[i] ? (target.is_unit(a) ? '1' : s.letter[i][a]) : '\0';
  return r;
}

/// The single-operand contraction of operand `keep` of s (the other is a scalar).
constexpr subscripts only(const subscripts& s, std::size_t keep) {
  subscripts r{};
  r.operands = 1;
  r.rank[0] = s.rank[keep];
  r.letter[0] = s.letter[keep];
  r.rank[subscripts::result] = s.rank[subscripts::result];
  r.letter[subscripts::result] = s.letter[subscripts::result];
  return r;
}

/// s with operand k read through permute: operand axis from[a] gets the letter of axis a.
constexpr subscripts through_permute(const subscripts& s, std::size_t k, const std::array<int, max_rank>& from) {
  subscripts r = s;
  for (std::size_t a = 0; a < s.rank[k]; ++a) r.letter[k][static_cast<std::size_t>(from[a])] = s.letter[k][a];
  return r;
}

/// True when a single-operand contraction only copies its operand (of shape `a`).
constexpr bool is_copy(const subscripts& s, static_shape a) {
  if (s.operands != 1 || s.rank[0] != s.rank[subscripts::result]) return false;
  for (std::size_t j = 0; j < s.rank[0]; ++j) {
    const char c = s.letter[subscripts::result][j];
    if (c != s.letter[0][j] && !(c == '1' && a.is_unit(j))) return false;
  }
  return true;
}

/// The LaTeX of a contraction: a matrix product as juxtaposition (with transposes), anything
/// else as einsum with its letters.
inline latex_operand latex(const subscripts& s, const latex_operand* ops) {
  const auto& L = s.letter;
  const std::string_view r(L[subscripts::result].data(), s.rank[subscripts::result]);
  if (s.operands == 2 && s.rank[0] == 2 && s.rank[1] == 2 && r.size() == 2) {
    const char i = r[0], j = r[1];
    // a (i,k) or (k,i), b (k,j) or (j,k), k shared
    const bool a_plain = L[0][0] == i, b_plain = L[1][1] == j;
    const char ka = a_plain ? L[0][1] : L[0][0], kb = b_plain ? L[1][0] : L[1][1];
    const bool a_ok = (a_plain ? L[0][0] : L[0][1]) == i, b_ok = (b_plain ? L[1][1] : L[1][0]) == j;
    if (a_ok && b_ok && ka == kb && ka != i && ka != j) {
      auto side = [](const latex_operand& o, bool plain) {
        return plain ? o.wrapped(precedence::power) : fmt::format("{}^{{\\top}}", o.wrapped(precedence::atom));
      };
      return {fmt::format("{} {}", side(ops[0], a_plain), side(ops[1], b_plain)), precedence::multiplicative};
    }
  }
  std::string args;
  for (std::size_t k = 0; k < s.operands; ++k) args += (k > 0 ? ", " : "") + ops[k].tex;
  std::string sub;
  for (std::size_t k = 0; k < s.operands; ++k) {
    if (k > 0) sub += ',';
    sub.append(L[k].data(), s.rank[k]);
  }
  return {fmt::format("\\operatorname{{einsum}}_{{{} \\to {}}}\\left({}\\right)", sub, r, args), precedence::atom};
}

/// An operand (or a tangent, or an adjoint) given the shape of what it stands for: the letters
/// are per axis, so a value of another rank is broadcast first.
template <class Like, class V>
constexpr auto fit(V v) {
  if constexpr (V::shape == Like::shape) return v;
  else return ctgrad::broadcast_like(v, Like{});
}

template <subscripts S, std::size_t I, class... A>
struct replaced;

}  // namespace detail::einsum

/// The contraction with letters S (see the top of this header); made by ctgrad::einsum.
template <subscripts S>
struct einsum_op : contraction_op {
  static constexpr subscripts letters = S;
  static constexpr int cost = 10;

  template <class... A>
  static constexpr static_shape result_shape() {
    return detail::einsum::result_shape(S, std::array<static_shape, sizeof...(A)>{A::shape...});
  }
  template <class...>
  static std::string symbol() { return fmt::format("einsum<{}>", S.text()); }
  static latex_operand latex(const std::same_as<latex_operand> auto&... ops) {
    const std::array<latex_operand, sizeof...(ops)> o{ops...};
    return detail::einsum::latex(S, o.data());
  }
  static constexpr std::string_view rule_name = "adjoint of a contraction = the adjoint contracted with the other operand";
  static constexpr std::string_view rule_latex =
      "c_{ij} = \\sum_k a_{ik} b_{kj}:\\quad \\bar{a}_{ik} \\mathrel{+}= \\sum_j \\bar{c}_{ij} b_{kj},\\ "
      "\\bar{b}_{kj} \\mathrel{+}= \\sum_i a_{ik} \\bar{c}_{ij}";

  /// Operand I's adjoint: the adjoint contracted with the other operands, given operand I's
  /// letters ('1' where it is unit), broadcast along letters it alone has.
  template <std::size_t I, class G, class Self, class... A>
  static constexpr auto vjp(G, Self, A...) {
    using target = std::tuple_element_t<I, std::tuple<A...>>;
    constexpr subscripts r = detail::einsum::reverse(S, I, target::shape);
    using g = decltype(detail::einsum::fit<Self>(G{}));
    return detail::einsum::fit<target>(detail::einsum::replaced<r, I, g, A...>::make());
  }
  template <std::size_t I, class T, class Self, class... A>
  static constexpr auto jvp(T, Self, A...) {
    using target = std::tuple_element_t<I, std::tuple<A...>>;
    using t = decltype(detail::einsum::fit<target>(T{}));
    return detail::einsum::replaced<S, I, t, A...>::make();
  }

  template <class... A>
  static constexpr auto simplify(A... a);
};

namespace detail::einsum {
/// einsum_op<R> of the operands A... with operand I replaced by V.
template <subscripts R, std::size_t I, class V, class A0>
struct replaced<R, I, V, A0> {
  static constexpr auto make() { return ctgrad::make_node<einsum_op<R>>(V{}); }
};
template <subscripts R, std::size_t I, class V, class A0, class A1>
struct replaced<R, I, V, A0, A1> {
  static constexpr auto make() {
    if constexpr (I == 0) return ctgrad::make_node<einsum_op<R>>(V{}, A1{});
    else return ctgrad::make_node<einsum_op<R>>(A0{}, V{});
  }
};

template <class E>
struct permute_of : std::false_type {};
template <class P, class X>
struct permute_of<node<permute_op<P>, X>> : std::true_type {
  using operand = X;
  static constexpr std::array<int, max_rank> from = permute_op<P>::template source_axes<X>();
};
}  // namespace detail::einsum

namespace detail::einsum {
/// Operand K of A..., or void when there are fewer.
template <std::size_t K, class... A>
struct operand {
  using type = void;
};
template <std::size_t K, class A0, class... A>
struct operand<K, A0, A...> : operand<K - 1, A...> {};
template <class A0, class... A>
struct operand<0, A0, A...> {
  using type = A0;
};
template <std::size_t K, class... A>
using operand_t = typename operand<K, A...>::type;

template <class E>
struct is_scalar_constant : std::false_type {};
template <rational V>
struct is_scalar_constant<constant_node<V>> : std::true_type {};
}  // namespace detail::einsum

template <subscripts S>
template <class... A>
constexpr auto einsum_op<S>::simplify(A...) {
  using a0 = detail::einsum::operand_t<0, A...>;
  using a1 = detail::einsum::operand_t<1, A...>;
  if constexpr ((is_zero<A>::value || ...)) {
    return zero_node{};
  } else if constexpr (detail::einsum::permute_of<a0>::value) {
    using p = detail::einsum::permute_of<a0>;
    constexpr subscripts r = detail::einsum::through_permute(S, 0, p::from);
    return detail::einsum::replaced<r, 0, typename p::operand, A...>::make();
  } else if constexpr (detail::einsum::permute_of<a1>::value) {
    using p = detail::einsum::permute_of<a1>;
    constexpr subscripts r = detail::einsum::through_permute(S, 1, p::from);
    return detail::einsum::replaced<r, 1, typename p::operand, A...>::make();
  } else if constexpr (sizeof...(A) == 2 && detail::einsum::is_scalar_constant<a0>::value) {
    constexpr subscripts r = detail::einsum::only(S, 1);
    return ctgrad::multiply(a0{}, ctgrad::make_node<einsum_op<r>>(a1{}));
  } else if constexpr (sizeof...(A) == 2 && detail::einsum::is_scalar_constant<a1>::value) {
    constexpr subscripts r = detail::einsum::only(S, 0);
    return ctgrad::multiply(a1{}, ctgrad::make_node<einsum_op<r>>(a0{}));
  } else if constexpr (sizeof...(A) == 1 && detail::einsum::is_copy(S, a0::shape)) {
    return a0{};
  } else {
    return no_rewrite{};
  }
}

// ---------------------------------------------------------------------------------------------
// Errors: one class per problem, whose arguments spell the subscripts and the operand as
// characters (both g++ and clang++ print `spelled<'i', 'k', ...>`).

/// Characters, as an error's context spells a string.
template <char...>
struct spelled {};

namespace detail::einsum {
template <class...>
inline constexpr bool false_for = false;
template <fixed_string S, std::size_t... I>
constexpr auto spell(std::index_sequence<I...>) -> spelled<S.data[I]...>;
template <fixed_string S>
using spelled_t = decltype(detail::einsum::spell<S>(std::make_index_sequence<S.size()>{}));
}  // namespace detail::einsum

/// Error: the subscripts are not einsum's syntax (letters, ',', "->", spaces), or ask for what
/// ctgrad does not support; the sentence that fires names the problem.
template <class Subscripts, std::size_t Problem>
struct einsum_subscripts_are_malformed {
  static_assert(Problem != 1 || detail::einsum::false_for<Subscripts>,
                "ctgrad::einsum<\"...\">(): the subscripts (spelled in 'einsum_subscripts_are_malformed<...>', this "
                "error's context) contain a character that is not a letter, ',', \"->\" or a space");
  static_assert(Problem != 2 || detail::einsum::false_for<Subscripts>,
                "ctgrad::einsum<\"...\">(): the subscripts (spelled in this error's context) name more than two operands");
  static_assert(Problem != 3 || detail::einsum::false_for<Subscripts>,
                "ctgrad::einsum<\"...\">(): the subscripts (spelled in this error's context) give an operand or the "
                "result more letters than ctgrad::max_rank");
  static_assert(Problem != 4 || detail::einsum::false_for<Subscripts>,
                "ctgrad::einsum<\"...\">(): the subscripts (spelled in this error's context) repeat a letter within "
                "one operand (a diagonal), which ctgrad does not support");
  static_assert(Problem != 5 || detail::einsum::false_for<Subscripts>,
                "ctgrad::einsum<\"...\">(): the subscripts (spelled in this error's context) repeat a letter in the result");
  static_assert(Problem != 6 || detail::einsum::false_for<Subscripts>,
                "ctgrad::einsum<\"...\">(): a letter of the result (after \"->\" in the subscripts spelled in this "
                "error's context) is in no operand");
  static_assert(Problem != 7 || detail::einsum::false_for<Subscripts>,
                "ctgrad::einsum<\"...\">(): the subscripts (spelled in this error's context) use \"...\", which "
                "ctgrad does not support: name every axis");
};

/// Error: the subscripts name another number of operands than einsum was given.
template <class Subscripts, std::size_t Named, std::size_t Given>
struct einsum_subscripts_name_another_number_of_operands {
  static_assert(detail::einsum::false_for<Subscripts>,
                "ctgrad::einsum<\"...\">(operands...): the subscripts name another number of operands than were "
                "given (this error's context: 'einsum_subscripts_name_another_number_of_operands<subscripts, named, "
                "given>')");
};

/// Error: operand `Operand` (0: a, 1: b; `Name` spells it, for an input) has rank `Rank` but
/// `Letters` letters in the subscripts.
template <class Subscripts, std::size_t Operand, class Name, std::size_t Rank, std::size_t Letters>
struct einsum_operand_rank_differs_from_its_letters {
  static_assert(detail::einsum::false_for<Subscripts, Name>,
                "ctgrad::einsum<\"...\">(a, b): an operand's rank differs from the number of its letters; this "
                "error's context, 'einsum_operand_rank_differs_from_its_letters<subscripts, operand (0: a, 1: b), "
                "its name, its rank, its letters>', names it");
};

namespace detail::einsum {
template <class E>
constexpr auto name_of() {
  if constexpr (is_input<E>::value) return E::name;
  else return fixed_string{"(an expression)"};
}
/// The first operand whose rank is not its number of letters (sizeof...(A) when none is).
template <parsed P, class... A>
constexpr std::size_t first_wrong_rank() {
  constexpr std::array<std::size_t, sizeof...(A) + 1> ranks{A::shape.rank..., 0};
  for (std::size_t k = 0; k < sizeof...(A); ++k)
    if (ranks[k] != P.s.rank[k]) return k;
  return sizeof...(A);
}
}  // namespace detail::einsum

/// `einsum<"ik,kj->ij">(a, b)`: the contraction the subscripts describe (see the top of this
/// header), one or two operands.
template <fixed_string Subscripts, Expression... A>
constexpr auto einsum(A... a) {
  constexpr detail::einsum::parsed p = detail::einsum::parsed_of<Subscripts>::value;
  using text = detail::einsum::spelled_t<Subscripts>;
  if constexpr (p.error != detail::einsum::problem::none) {
    static_assert(sizeof(einsum_subscripts_are_malformed<text, static_cast<std::size_t>(p.error)>) > 0);
    return detail::not_an_operation<einsum_op<subscripts{}>>{};
  } else if constexpr (p.s.operands != sizeof...(A)) {
    static_assert(sizeof(einsum_subscripts_name_another_number_of_operands<text, p.s.operands, sizeof...(A)>) > 0);
    return detail::not_an_operation<einsum_op<subscripts{}>>{};
  } else if constexpr (constexpr std::size_t k = detail::einsum::first_wrong_rank<p, A...>(); k < sizeof...(A)) {
    using operand = std::tuple_element_t<k, std::tuple<A...>>;
    static_assert(sizeof(einsum_operand_rank_differs_from_its_letters<text, k, detail::einsum::spelled_t<detail::einsum::name_of<operand>()>,
                                                                      operand::shape.rank, p.s.rank[k]>) > 0);
    return detail::not_an_operation<einsum_op<subscripts{}>>{};
  } else {
    return ctgrad::make_node<einsum_op<p.s>>(a...);
  }
}

namespace detail::einsum {
/// The letters of NumPy's matmul for operands of ranks Ra and Rb: the last axis of a with the
/// second-to-last of b (the last of a rank-1 b), leading axes batch axes aligned at the right.
constexpr subscripts matmul_letters(std::size_t ra, std::size_t rb) {
  subscripts s{};
  s.operands = 2;
  const std::size_t ba = ra >= 2 ? ra - 2 : 0, bb = rb >= 2 ? rb - 2 : 0, batch = ba > bb ? ba : bb;
  auto batch_letter = [](std::size_t j) { return static_cast<char>('A' + j); };
  auto& a = s.letter[0];
  auto& b = s.letter[1];
  auto& r = s.letter[subscripts::result];
  s.rank = {ra, rb, 0};
  for (std::size_t j = 0; j < ba; ++j) a[j] = batch_letter(j + batch - ba);
  for (std::size_t j = 0; j < bb; ++j) b[j] = batch_letter(j + batch - bb);
  std::size_t& rr = s.rank[subscripts::result];
  for (std::size_t j = 0; j < batch; ++j) r[rr++] = batch_letter(j);
  if (ra >= 2) {
    a[ra - 2] = 'i';
    a[ra - 1] = 'k';
    r[rr++] = 'i';
  } else {
    a[0] = 'k';
  }
  if (rb >= 2) {
    b[rb - 2] = 'k';
    b[rb - 1] = 'j';
    r[rr++] = 'j';
  } else {
    b[0] = 'k';
  }
  return s;
}
}  // namespace detail::einsum

/// `matmul(a, b)`: NumPy's matmul (a @ b): a's last axis contracted with b's second-to-last
/// (b's only axis when b has rank 1); leading axes are batch axes, aligned at the right, and
/// broadcast where one operand lacks them or has extent 1 there.
template <Expression A, Expression B>
constexpr auto matmul(A a, B b) {
  static_assert(A::shape.rank >= 1 && B::shape.rank >= 1, "ctgrad::matmul(a, b): both operands need rank 1 or more");
  static_assert(A::shape.rank <= 2 + 10 && B::shape.rank <= 2 + 10, "ctgrad::matmul(a, b): at most 10 batch axes");
  constexpr subscripts s = detail::einsum::matmul_letters(A::shape.rank, B::shape.rank);
  return ctgrad::make_node<einsum_op<s>>(a, b);
}

}  // namespace ctgrad
