#pragma once
// ctgrad/expr/reshape.hpp: placing axes, for broadcasting a tensor along axes other than the
// leading ones.
//
//   auto x = ctgrad::input<"x", 4>;                  // N x C x H x W
//   auto gamma = ctgrad::input<"gamma", 1>;          // C
//   auto g4 = ctgrad::expand<4, 1>(gamma);           // 1 x C x 1 x 1: broadcasts against x
//   auto back = ctgrad::squeeze<0, 2, 3>(g4);        // C again (the same type as gamma)
//
// Primitives here:
//   expand<R, Axes...>(v)   rank R; v's axes go to Axes (increasing), every other axis has
//                           static extent 1. Its adjoint squeezes those axes away.
//   squeeze<Axes...>(e)     drops axes of e that are statically of extent 1 (kept by a
//                           reduction or made by expand). Its adjoint expands them back.
//   permute<P...>(x)        axis j of the result is axis P[j] of x (NumPy's transpose(x, P)).
//                           Its adjoint permutes back; a contraction reads a permuted
//                           operand through its letters (no copy, see expr/contraction.hpp).
//   transpose(x)            the last two axes swapped: permute<0, ..., R-1, R-2>.
//   reshape<E...>(x)        x's elements in row-major order under new extents, one rule per
//                           result axis: E > 0 that extent, 0 x's extent at the same axis, -1
//                           the one inferred from the element count (ONNX Reshape's rules, as
//                           NumPy's -1): reshape<0, -1>(x) flattens all but the first axis,
//                           reshape<0, 32, -1>(x) groups channels for GroupNorm. The counts are
//                           checked when values are bound (a shape_error names x and both
//                           shapes). Its adjoint is reshape_like(g, x), which takes x's extents.
//   first<Axes...>(x)       x at index 0 along Axes, which are kept with extent 1: one sample,
//                           the shift batch statistics are computed around. It has no reverse
//                           rule (its adjoint would scatter into index 0); use it under
//                           stop_gradient, as ctgrad::nn does.
// All only move elements: evaluation reads their operand through an index mapping, given by
// each op's source_axes(): the operand axis each result axis comes from (-1: index 0).
#include <array>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "ctgrad/expr/arithmetic.hpp"

namespace ctgrad {

template <std::size_t R, class Axes>
struct expand_op;
template <class Axes>
struct squeeze_op;
template <class Axes>
struct first_op;
template <class Perm>
struct permute_op;
template <int... E>
struct reshape_op;
struct reshape_like_op;

namespace detail {

template <class Axes>
constexpr bool strictly_increasing() {
  for (std::size_t i = 1; i < Axes::count; ++i)
    if (Axes::list[i] <= Axes::list[i - 1]) return false;
  return true;
}

/// The axes of a rank-R shape that are not in Axes.
template <std::size_t R, class Axes>
using complement_t = axes_from_mask_t<((std::uint32_t{1} << R) - 1U) & ~Axes::mask>;

// A base class, not static data members: see negated in expr/arithmetic.hpp.
template <class E>
struct expand_parts : std::false_type {};
template <std::size_t R, class Axes, class V>
struct expand_parts<node<expand_op<R, Axes>, V>> : std::true_type {
  using rank = std::integral_constant<std::size_t, R>;
  using axes = Axes;
  using operand = V;
};

}  // namespace detail

/// `expand<R, Axes...>(v)`: v's axes placed at Axes of a rank-R shape, extent 1 elsewhere.
template <std::size_t R, std::size_t... Axes>
struct expand_op<R, axes_t<Axes...>> : index_map_op {
  using axes = axes_t<Axes...>;
  static constexpr std::array<std::size_t, sizeof...(Axes)> positions{Axes...};
  template <class A>
  static constexpr std::array<int, max_rank> source_axes() {
    std::array<int, max_rank> from{};
    for (auto& f : from) f = -1;
    for (std::size_t j = 0; j < sizeof...(Axes); ++j) from[positions[j]] = static_cast<int>(j);
    return from;
  }

  template <class A>
  static constexpr static_shape result_shape() {
    std::uint32_t unit = R == 0 ? 0U : ((std::uint32_t{1} << R) - 1U);
    for (std::size_t j = 0; j < sizeof...(Axes); ++j)
      if (!A::shape.is_unit(j)) unit &= ~(std::uint32_t{1} << positions[j]);
    return {R, unit};
  }
  static constexpr notation kind = notation::call;
  static constexpr int prec = precedence::atom;
  template <class...>
  static std::string symbol() { return fmt::format("expand<{};{}>", R, fmt::join(positions, ",")); }
  // Written as its operand: placing axes changes no value (as with implicit broadcasting).
  static latex_operand latex(const latex_operand& a) { return a; }
  static constexpr std::string_view rule_name = "adjoint of expand = squeeze";
  static constexpr std::string_view rule_latex = "c = \\operatorname{expand}(a):\\quad \\bar{a} \\mathrel{+}= \\operatorname{squeeze}(\\bar{c})";

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A) {
    return ctgrad::make_node<squeeze_op<detail::complement_t<R, axes>>>(g);
  }
  template <std::size_t, class T, class Self, class A>
  static constexpr auto jvp(T t, Self, A) { return ctgrad::make_node<expand_op>(t); }

  template <class A>
  static constexpr auto simplify(A a) {
    if constexpr (R == A::shape.rank) return a;  // every axis kept in place
    else return no_rewrite{};
  }
};

/// `squeeze<Axes...>(e)`: e without its statically unit axes Axes.
template <std::size_t... Axes>
struct squeeze_op<axes_t<Axes...>> : index_map_op {
  using axes = axes_t<Axes...>;
  template <class A>
  static constexpr std::array<int, max_rank> source_axes() {
    std::array<int, max_rank> from{};
    for (auto& f : from) f = -1;
    std::size_t k = 0;
    for (std::size_t a = 0; a < A::shape.rank; ++a)
      if (!((axes::mask >> a) & 1U)) from[k++] = static_cast<int>(a);
    return from;
  }

  template <class A>
  static constexpr static_shape result_shape() {
    static_shape out{A::shape.rank - sizeof...(Axes), 0};
    std::size_t k = 0;
    for (std::size_t a = 0; a < A::shape.rank; ++a) {
      if ((axes::mask >> a) & 1U) continue;
      if (A::shape.is_unit(a)) out.unit_mask |= std::uint32_t{1} << k;
      ++k;
    }
    return out;
  }
  static constexpr notation kind = notation::call;
  static constexpr int prec = precedence::atom;
  template <class...>
  static std::string symbol() { return fmt::format("squeeze<{}>", fmt::join(axes::list, ",")); }
  static latex_operand latex(const latex_operand& a) { return a; }
  static constexpr std::string_view rule_name = "adjoint of squeeze = expand";
  static constexpr std::string_view rule_latex = "c = \\operatorname{squeeze}(a):\\quad \\bar{a} \\mathrel{+}= \\operatorname{expand}(\\bar{c})";

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A) {
    return ctgrad::make_node<expand_op<A::shape.rank, detail::complement_t<A::shape.rank, axes>>>(g);
  }
  template <std::size_t, class T, class Self, class A>
  static constexpr auto jvp(T t, Self, A) { return ctgrad::make_node<squeeze_op>(t); }

  template <class A>
  static constexpr auto simplify(A a) {
    if constexpr (sizeof...(Axes) == 0) {
      return a;
    } else if constexpr (detail::expand_parts<A>::value) {
      // squeeze(expand(v)) removing exactly the axes expand added is v
      using parts = detail::expand_parts<A>;
      if constexpr (std::is_same<detail::complement_t<parts::rank::value, typename parts::axes>, axes>::value)
        return typename parts::operand{};
      else return no_rewrite{};
    } else if constexpr (detail::negated<A>::value) {
      return ctgrad::negate(ctgrad::make_node<squeeze_op>(typename detail::negated<A>::operand{}));
    } else {
      return no_rewrite{};
    }
  }
};

/// `first<Axes...>(x)`: x at index 0 along Axes, kept with extent 1.
template <std::size_t... Axes>
struct first_op<axes_t<Axes...>> : index_map_op {
  using axes = axes_t<Axes...>;
  template <class A>
  static constexpr static_shape result_shape() { return {A::shape.rank, A::shape.unit_mask | axes::mask}; }
  template <class A>
  static constexpr std::array<int, max_rank> source_axes() {
    std::array<int, max_rank> from{};
    for (auto& f : from) f = -1;
    for (std::size_t a = 0; a < A::shape.rank; ++a)
      if (!((axes::mask >> a) & 1U)) from[a] = static_cast<int>(a);
    return from;
  }
  static constexpr notation kind = notation::call;
  static constexpr int prec = precedence::atom;
  template <class...>
  static std::string symbol() { return fmt::format("first<{}>", fmt::join(axes::list, ",")); }
  static latex_operand latex(const latex_operand& a) {
    return {fmt::format("\\operatorname{{first}}_{{{}}}\\left({}\\right)", detail::latex_axes(axes::mask), a.tex),
            precedence::atom};
  }

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G, Self, A) {
    static_assert(sizeof(G) == 0,
                  "ctgrad: first<Axes...>(x) has no reverse rule (its adjoint would place the "
                  "gradient at index 0 only); use it under stop_gradient, as a shift");
    return zero_node{};
  }
  // forward rule: taking an element is linear
  template <std::size_t, class T, class Self, class A>
  static constexpr auto jvp(T t, Self, A) { return ctgrad::make_node<first_op>(t); }

  template <class A>
  static constexpr auto simplify(A a) {
    if constexpr ((A::shape.unit_mask & axes::mask) == axes::mask) return a;  // nothing to take
    else return no_rewrite{};
  }
};

/// `permute<P...>(x)`: axis j of the result is axis P[j] of x.
template <std::size_t... P>
struct permute_op<axes_t<P...>> : index_map_op {
  static constexpr std::array<std::size_t, sizeof...(P)> order{P...};
  static constexpr int cost = 1;
  template <class A>
  static constexpr std::array<int, max_rank> source_axes() {
    std::array<int, max_rank> from{};
    for (auto& f : from) f = -1;
    for (std::size_t j = 0; j < sizeof...(P); ++j) from[j] = static_cast<int>(order[j]);
    return from;
  }
  template <class A>
  static constexpr static_shape result_shape() {
    static_shape out{sizeof...(P), 0};
    for (std::size_t j = 0; j < sizeof...(P); ++j)
      if (A::shape.is_unit(order[j])) out.unit_mask |= std::uint32_t{1} << j;
    return out;
  }
  template <class...>
  static std::string symbol() { return fmt::format("permute<{}>", fmt::join(order, ",")); }
  static latex_operand latex(const latex_operand& a) {
    if constexpr (sizeof...(P) >= 2 && order[sizeof...(P) - 1] == sizeof...(P) - 2 && order[sizeof...(P) - 2] == sizeof...(P) - 1)
      return {fmt::format("{}^{{\\top}}", a.wrapped(precedence::atom)), precedence::power};
    else return {fmt::format("\\operatorname{{permute}}_{{{}}}\\left({}\\right)", fmt::join(order, ","), a.tex), precedence::atom};
  }
  static constexpr std::string_view rule_name = "adjoint of a permutation = the inverse permutation";
  static constexpr std::string_view rule_latex = "c = \\operatorname{permute}_P(a):\\quad \\bar{a} \\mathrel{+}= \\operatorname{permute}_{P^{-1}}(\\bar{c})";

  template <class Inverse = std::make_index_sequence<sizeof...(P)>>
  struct inverse;
  template <std::size_t... J>
  struct inverse<std::index_sequence<J...>> {
    static constexpr std::array<std::size_t, sizeof...(P)> value = [] {
      std::array<std::size_t, sizeof...(P)> inv{};
      for (std::size_t j = 0; j < sizeof...(P); ++j) inv[order[j]] = j;
      return inv;
    }();
    using type = permute_op<axes_t<value[J]...>>;
  };

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A) {
    return ctgrad::make_node<typename inverse<>::type>(g);
  }
  template <std::size_t, class T, class Self, class A>
  static constexpr auto jvp(T t, Self, A) { return ctgrad::make_node<permute_op>(t); }

  template <class A>
  static constexpr auto simplify(A a);
};

namespace detail {
template <class E>
struct permute_parts : std::false_type {};
template <std::size_t... P, class X>
struct permute_parts<node<permute_op<axes_t<P...>>, X>> : std::true_type {
  static constexpr std::array<std::size_t, sizeof...(P)> order{P...};
  using operand = X;
};
template <std::size_t... P>
constexpr bool is_identity_order() {
  std::size_t j = 0;
  return ((P == j++) && ...);
}
template <class Inner, class Outer, class J = std::make_index_sequence<Outer::count>>
struct composed_permute;
template <class Inner, class Outer, std::size_t... J>
struct composed_permute<Inner, Outer, std::index_sequence<J...>> {
  // permute<Q>(permute<P>(x)): axis j is axis Q[j] of the inner result, i.e. axis P[Q[j]] of x
  using type = permute_op<axes_t<Inner::order[Outer::list[J]]...>>;
};
}  // namespace detail

template <std::size_t... P>
template <class A>
constexpr auto permute_op<axes_t<P...>>::simplify(A a) {
  if constexpr (detail::is_identity_order<P...>()) {
    return a;
  } else if constexpr (detail::permute_parts<A>::value) {
    using parts = detail::permute_parts<A>;
    return ctgrad::make_node<typename detail::composed_permute<parts, axes_t<P...>>::type>(typename parts::operand{});
  } else if constexpr (detail::negated<A>::value) {
    return ctgrad::negate(ctgrad::make_node<permute_op>(typename detail::negated<A>::operand{}));
  } else {
    return no_rewrite{};
  }
}

/// Axis j of the result is axis `P[j]` of x (a permutation of x's axes): NumPy's
/// transpose(x, axes=P), torch's permute.
template <std::size_t... P, Expression X>
constexpr auto permute(X x) {
  static_assert(sizeof...(P) == X::shape.rank, "ctgrad::permute<P...>(x): give one axis of x per axis of the result");
  static_assert(((P < X::shape.rank) && ...), "ctgrad::permute<P...>(x): an axis is out of range");
  static_assert(((axes_t<P...>::mask == (X::shape.rank == 0 ? 0U : (std::uint32_t{1} << X::shape.rank) - 1U))),
                "ctgrad::permute<P...>(x): P must name every axis of x once");
  return ctgrad::make_node<permute_op<axes_t<P...>>>(x);
}

namespace detail {
template <std::size_t R, std::size_t... J>
constexpr auto transposed(std::index_sequence<J...>) -> permute_op<axes_t<J..., R - 1, R - 2>>;
}  // namespace detail

/// x with its last two axes swapped (the matrix transpose; batch axes stay in front).
template <Expression X>
constexpr auto transpose(X x) {
  static_assert(X::shape.rank >= 2, "ctgrad::transpose(x): x needs rank 2 or more (it swaps the last two axes)");
  return ctgrad::make_node<decltype(detail::transposed<X::shape.rank>(std::make_index_sequence<X::shape.rank - 2>{}))>(x);
}

/// `reshape_like(v, ref)`: v's elements in row-major order under ref's extents (ref is read
/// for its shape only). The adjoint of a reshape.
struct reshape_like_op : reshape_kind_op {
  static constexpr std::array<int, max_rank> extent_rule{};
  static constexpr std::uint32_t shape_only_operands = 0b10;
  static constexpr int cost = 1;
  template <class V, class Ref>
  static constexpr static_shape result_shape() { return Ref::shape; }
  template <class...>
  static std::string symbol() { return "reshape_like"; }
  static latex_operand latex(const latex_operand& v, const latex_operand&) { return v; }
  static constexpr std::string_view rule_name = "adjoint of a reshape = the adjoint reshaped back";
  static constexpr std::string_view rule_latex = "c = \\operatorname{reshape}(a):\\quad \\bar{a} \\mathrel{+}= \\operatorname{reshape}(\\bar{c})";

  template <std::size_t, class G, class Self, class V, class Ref>
  static constexpr auto vjp(G g, Self, V v, Ref) { return ctgrad::make_node<reshape_like_op>(g, v); }
  template <std::size_t, class T, class Self, class V, class Ref>
  static constexpr auto jvp(T t, Self, V, Ref r) { return ctgrad::make_node<reshape_like_op>(t, r); }

  template <class V, class Ref>
  static constexpr auto simplify(V v, Ref r);
};

/// `reshape<E...>(x)`: see the top of this header.
template <int... E>
struct reshape_op : reshape_kind_op {
  static constexpr std::array<int, max_rank> extent_rule = [] {
    std::array<int, max_rank> r{};
    std::size_t k = 0;
    ((r[k++] = E), ...);
    return r;
  }();
  static constexpr int cost = 1;
  template <class A>
  static constexpr static_shape result_shape() {
    static_shape out{sizeof...(E), 0};
    std::size_t a = 0;
    ((out.unit_mask |= ((E == 1 || (E == 0 && a < A::shape.rank && A::shape.is_unit(a))) ? std::uint32_t{1} << a : 0U), ++a), ...);
    return out;
  }
  template <class...>
  static std::string symbol() { return fmt::format("reshape<{}>", fmt::join(std::array<int, sizeof...(E)>{E...}, ",")); }
  static latex_operand latex(const latex_operand& a) { return a; }
  static constexpr std::string_view rule_name = reshape_like_op::rule_name;
  static constexpr std::string_view rule_latex = reshape_like_op::rule_latex;

  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A a) { return ctgrad::make_node<reshape_like_op>(g, a); }
  template <std::size_t, class T, class Self, class A>
  static constexpr auto jvp(T t, Self, A) { return ctgrad::make_node<reshape_op>(t); }

  template <class A>
  static constexpr auto simplify(A a) {
    if constexpr (((E == 0) && ...) && sizeof...(E) == A::shape.rank) return a;  // every extent kept
    else return no_rewrite{};
  }
};

namespace detail {
template <int... E>
constexpr bool keep_rules_in_range(std::size_t rank) {
  const std::array<int, sizeof...(E)> rule{E...};
  for (std::size_t a = 0; a < rule.size(); ++a)
    if (rule[a] == 0 && a >= rank) return false;
  return true;
}
template <class E>
struct reshape_source : std::false_type {};
template <int... E, class X>
struct reshape_source<node<reshape_op<E...>, X>> : std::true_type {
  using operand = X;
};
template <class X, class R>
struct reshape_source<node<reshape_like_op, X, R>> : std::true_type {
  using operand = X;
};
}  // namespace detail

template <class V, class Ref>
constexpr auto reshape_like_op::simplify(V, Ref) {
  if constexpr (std::is_same<V, Ref>::value) {
    return V{};
  } else if constexpr (detail::reshape_source<V>::value) {
    // a reshape of a reshape reads the first one's operand; back to that operand's own extents
    // it is that operand
    using inner = typename detail::reshape_source<V>::operand;
    if constexpr (std::is_same<inner, Ref>::value) return Ref{};
    else return ctgrad::make_node<reshape_like_op>(inner{}, Ref{});
  } else if constexpr (detail::negated<V>::value) {
    return ctgrad::negate(ctgrad::make_node<reshape_like_op>(typename detail::negated<V>::operand{}, Ref{}));
  } else {
    return no_rewrite{};
  }
}

/// x's elements in row-major order under new extents, one rule per result axis: E > 0 that
/// extent, 0 x's extent at the same axis, -1 (at most once) inferred from the element count.
///   ctgrad::reshape<0, -1>(x)        // N x C x H x W -> N x (C H W)
///   ctgrad::reshape<0, 32, -1>(x)    // N x C x H x W -> N x 32 x (C/32 H W): GroupNorm's groups
template <int... E, Expression X>
constexpr auto reshape(X x) {
  static_assert(((E >= -1) && ...), "ctgrad::reshape<E...>(x): an extent rule is n > 0, 0 (x's extent there) or -1 (inferred)");
  static_assert(((E == -1 ? 1 : 0) + ... + 0) <= 1, "ctgrad::reshape<E...>(x): at most one extent can be inferred (-1)");
  static_assert(detail::keep_rules_in_range<E...>(X::shape.rank),
                "ctgrad::reshape<E...>(x): a 0 (keep x's extent) names an axis x does not have");
  return ctgrad::make_node<reshape_op<E...>>(x);
}

/// v's elements in row-major order under ref's extents (their counts must agree).
template <Expression V, Expression Ref>
constexpr auto reshape_like(V v, Ref ref) {
  return ctgrad::make_node<reshape_like_op>(v, ref);
}

/// x at index 0 along `Axes...` (kept with extent 1): one sample of a batch, e.g. a shift.
template <std::size_t... Axes, Expression X>
constexpr auto first(X x) {
  static_assert(sizeof...(Axes) > 0, "ctgrad::first<Axes...>(x): name at least one axis");
  static_assert(((Axes < X::shape.rank) && ...), "ctgrad::first<Axes...>(x): an axis is out of range");
  return ctgrad::make_node<first_op<axes_t<Axes...>>>(x);
}

/// Places v's axes at `Axes...` of a rank-R shape; every other axis gets static extent 1.
template <std::size_t R, std::size_t... Axes, Expression V>
constexpr auto expand(V v) {
  static_assert(sizeof...(Axes) == V::shape.rank,
                "ctgrad::expand<R, Axes...>(v): give one target axis per axis of v");
  static_assert(((Axes < R) && ...), "ctgrad::expand<R, Axes...>(v): every target axis must be less than R");
  static_assert(detail::strictly_increasing<axes_t<Axes...>>(),
                "ctgrad::expand<R, Axes...>(v): target axes must be increasing (expand does not transpose)");
  return ctgrad::make_node<expand_op<R, axes_t<Axes...>>>(v);
}

/// Drops the statically unit axes `Axes...` of e (e.g. the axes a sum kept).
template <std::size_t... Axes, Expression E>
constexpr auto squeeze(E e) {
  static_assert(((Axes < E::shape.rank) && ...), "ctgrad::squeeze<Axes...>(e): an axis is out of range");
  static_assert(((E::shape.is_unit(Axes)) && ...),
                "ctgrad::squeeze<Axes...>(e): only axes of static extent 1 (kept by a reduction or "
                "made by expand) can be squeezed");
  static_assert(detail::strictly_increasing<axes_t<Axes...>>(), "ctgrad::squeeze<Axes...>(e): axes must be increasing");
  return ctgrad::make_node<squeeze_op<axes_t<Axes...>>>(e);
}

}  // namespace ctgrad
