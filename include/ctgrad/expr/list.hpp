#pragma once
// ctgrad/expr/list.hpp: several expressions handled together (vjp's results, what evaluate
// computes in one pass).
//
//   auto both = ctgrad::exprs(y, grads);      // flattens: y, then each gradient in grads
//   auto [dx, dgamma, dbeta] = grads;         // structured bindings
//   auto dx2 = ctgrad::get<0>(grads);
//
// Not a std::tuple on purpose: std::tuple's constructor constraints cost GCC 12 compile time
// exponential in the depth of the nested node types a derived gradient has.
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ctgrad/expr/node.hpp"

// Whether two types are the same, without instantiating anything: compilers' builtin where
// there is one. std::is_same_v<A, B> instantiates a specialization per pair of types, and with
// deep node types each one costs GCC 12 time growing with the number already made (an
// 8-block network's topological sort spent 42 s on them); the builtin is a pointer compare.
#if defined(__GNUC__) || defined(__clang__)
#define CTGRAD_DETAIL_SAME_TYPE(A, B) __is_same(A, B)
#else
#define CTGRAD_DETAIL_SAME_TYPE(A, B) std::is_same_v<A, B>
#endif

namespace ctgrad {

namespace detail {
template <std::size_t I, class T>
struct pack_slot {
  using type = T;
};
template <class Seq, class... Ts>
struct pack_slots;
template <std::size_t... Is, class... Ts>
struct pack_slots<std::index_sequence<Is...>, Ts...> : pack_slot<Is, Ts>... {};
// Called qualified only (an unqualified call would look up names in every type of the pack).
template <std::size_t I, class T>
pack_slot<I, T> select_slot(const pack_slot<I, T>*);

/// The I-th type of the pack Ts: one deduction against a base per type, no recursion and no
/// std::tuple (whose instantiation with deep node types is costly).
template <std::size_t I, class... Ts>
using pack_element_t =
    typename decltype(detail::select_slot<I>(static_cast<const pack_slots<std::index_sequence_for<Ts...>, Ts...>*>(nullptr)))::type;
}  // namespace detail

/// An ordered list of expressions (possibly repeated).
template <class... Es>
struct expr_list {
  static constexpr std::size_t size = sizeof...(Es);

  template <std::size_t I>
  constexpr auto get() const {
    static_assert(I < sizeof...(Es), "ctgrad::get<I>(list): index out of range");
    return detail::pack_element_t<I, Es...>{};
  }
};

template <class T>
struct is_expr_list : std::false_type {};
template <class... Es>
struct is_expr_list<expr_list<Es...>> : std::true_type {};

/// The I-th expression of a list.
template <std::size_t I, class... Es>
constexpr auto get(expr_list<Es...> l) {
  return l.template get<I>();
}

namespace detail {
template <class... Ls>
struct concat;
template <>
struct concat<> {
  using type = expr_list<>;
};
template <class... As>
struct concat<expr_list<As...>> {
  using type = expr_list<As...>;
};
template <class... As, class... Bs, class... Rest>
struct concat<expr_list<As...>, expr_list<Bs...>, Rest...> : concat<expr_list<As..., Bs...>, Rest...> {};

template <class T>
struct as_list {
  using type = expr_list<T>;
};
template <class... Es>
struct as_list<expr_list<Es...>> {
  using type = expr_list<Es...>;
};
}  // namespace detail

/// A list of expressions; arguments that are lists are spliced in.
template <class... Args>
  requires((Expression<Args> || is_expr_list<std::remove_cvref_t<Args>>::value) && ...)
constexpr auto exprs(Args...) {
  return typename detail::concat<typename detail::as_list<std::remove_cvref_t<Args>>::type...>::type{};
}

}  // namespace ctgrad

template <class... Es>
struct std::tuple_size<ctgrad::expr_list<Es...>> : std::integral_constant<std::size_t, sizeof...(Es)> {};
template <std::size_t I, class... Es>
struct std::tuple_element<I, ctgrad::expr_list<Es...>> {
  using type = ctgrad::detail::pack_element_t<I, Es...>;
};
