#pragma once
// ctgrad/eval/hoist.hpp: the rewrite an evaluation plan applies before planning its loops:
// factors that repeat along a product's loop are multiplied once, outside it.
//
//   gamma * (x - mu) * rsqrt(var + eps)      // m x n product of two 1 x n factors
//   -> (x - mu) * (gamma * rsqrt(var + eps)) // one product per element; gamma * rsqrt(...) is a
//                                            // 1 x n node, computed once per feature
//
// A derived gradient is a product of per-feature statistics and per-element data in whatever
// order the chain rule produced them (dy * gamma * rsqrt(...), broadcast_like(k, x) * 2 * d).
// Evaluated as written, every one of those factors is loaded and multiplied per element;
// hand-written kernels fold them into one coefficient per feature first. This header gives
// ctgrad the same: `hoisted_t<E>` is E with every product (a tree of *, unary - and division by
// such a factor) regrouped as (product of its per-element factors) * (product of its factors
// that are constant along the product's loop), the latter being a smaller node the planner
// buffers (eval/schedule.hpp: read under broadcast). A product whose factors are all of one kind
// is left as it is, and so is everything that is not a product, apart from its operands; so are
// products over domains with an axis of extent 1 (statistics: cheap, and computed in double as
// written, a division staying a division).
//
// Only products are regrouped, never sums: distributing a product over x - mu would trade the
// exact difference of nearby numbers for the difference of two rounded products (a large
// offset in x would cost its digits). The rewrite is applied only to what a plan evaluates;
// the expressions users see, print and differentiate are unchanged.
#include <cstddef>

#include "ctgrad/core/shape.hpp"
#include "ctgrad/expr/arithmetic.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/expr/reduction.hpp"

namespace ctgrad {

template <class E>
struct hoisted;

/// E as evaluation plans compute it: see the top of this header.
template <class E>
using hoisted_t = typename hoisted<E>::type;

namespace detail::hoisting {

/// True when a value of E, read in a loop over shape S, repeats along a non-unit axis of S (E
/// lacks that axis, or has extent 1 there): then E is the same for every index of that axis.
// A function of shapes: a variable template named by E would be given a mangled name holding
// E by GCC 12 (see eval/plan.hpp).
constexpr bool repeats_in(static_shape e, static_shape s) {
  for (std::size_t a = 0; a < s.rank; ++a) {
    if (s.is_unit(a)) continue;
    if (a + e.rank < s.rank || e.is_unit(a + e.rank - s.rank)) return true;
  }
  return false;
}

/// The factors of a product, split into those that repeat along its loop (Inv) and those that
/// vary (Var), each in their order of appearance, and the sign of the unary minuses met.
template <class Inv, class Var, bool Neg>
struct factors {
  using inv = Inv;
  using var = Var;
  using neg = std::bool_constant<Neg>;
};

template <class F, class G>
struct concat;
template <class... I1, class... V1, bool N1, class... I2, class... V2, bool N2>
struct concat<factors<type_list<I1...>, type_list<V1...>, N1>, factors<type_list<I2...>, type_list<V2...>, N2>> {
  using type = factors<type_list<I1..., I2...>, type_list<V1..., V2...>, N1 != N2>;
};
template <class F>
struct flip;
template <class I, class V, bool N>
struct flip<factors<I, V, N>> {
  using type = factors<I, V, !N>;
};

template <class F>
using one_invariant = factors<type_list<F>, type_list<>, false>;

/// The factors of E inside a product computed over shape S.
template <class E, static_shape S, bool Repeats = repeats_in(E::shape, S)>
struct collect {  // a factor that repeats: computed once, in its own (smaller) loop
  using type = one_invariant<hoisted_t<E>>;
};
template <class E, static_shape S>
struct collect<E, S, false> {  // a factor that varies: computed per element
  using type = factors<type_list<>, type_list<hoisted_t<E>>, false>;
};
template <class A, class B, static_shape S>
struct collect<node<mul_op, A, B>, S, false> : concat<typename collect<A, S>::type, typename collect<B, S>::type> {};
template <class A, static_shape S>
struct collect<node<neg_op, A>, S, false> : flip<typename collect<A, S>::type> {};
// a / b with b repeating: a * (1 / b), one division per feature instead of one per element
template <class A, class B, static_shape S>
  requires(repeats_in(B::shape, S))
struct collect<node<div_op, A, B>, S, false>
    : concat<typename collect<A, S>::type, one_invariant<made_t<div_op, one_node, hoisted_t<B>>>> {};
// broadcast_like(k, ref) with k repeating: the factor is k itself (broadcasting is implicit)
template <class Op, class K, class Ref, static_shape S>
  requires(op_traits<Op>::category == op_category::broadcast && repeats_in(K::shape, S))
struct collect<node<Op, K, Ref>, S, false> {
  using type = one_invariant<hoisted_t<K>>;
};

/// The left-to-right product of a non-empty list of factors.
template <class List>
struct product;
template <class F>
struct product<type_list<F>> {
  using type = F;
};
template <class F, class G, class... Rest>
struct product<type_list<F, G, Rest...>> : product<type_list<made_t<mul_op, F, G>, Rest...>> {};

/// A product regrouped: (per-element factors) * (repeating factors), or nothing to do (`void`).
template <class F, bool Both = (F::inv::size > 0 && F::var::size > 0)>
struct regroup {
  using type = void;
};
template <class F>
struct regroup<F, true> {
  using grouped = made_t<mul_op, typename product<typename F::var>::type, typename product<typename F::inv>::type>;
  using type = std::conditional_t<F::neg::value, made_t<neg_op, grouped>, grouped>;
};

/// A node with its operands hoisted (itself when none changes).
template <class E>
struct rebuilt {
  using type = E;
};
template <class Op, class... Args>
struct rebuilt<node<Op, Args...>> {
  using type = std::conditional_t<(CTGRAD_DETAIL_SAME_TYPE(hoisted_t<Args>, Args) && ...), node<Op, Args...>,
                                  made_t<Op, hoisted_t<Args>...>>;
};

template <class E>
struct is_product_root : std::false_type {};
template <class A, class B>
struct is_product_root<node<mul_op, A, B>> : std::true_type {};
template <class A, class B>
struct is_product_root<node<div_op, A, B>> : std::bool_constant<repeats_in(B::shape, node<div_op, A, B>::shape)> {};
template <class A>
struct is_product_root<node<neg_op, A>> : std::true_type {};

// Only products over whole data are regrouped: one over a domain with an axis of extent 1 (a
// per-feature statistic) is cheap, and is computed as written, in the accumulator type.
template <class E, bool Product = is_product_root<E>::value && E::shape.unit_mask == 0>
struct hoist : rebuilt<E> {};
template <class E>
struct hoist<E, true> {
  using regrouped = typename regroup<typename collect<E, E::shape, false>::type>::type;
  using type = typename std::conditional_t<std::is_void_v<regrouped>, rebuilt<E>, std::type_identity<regrouped>>::type;
};

}  // namespace detail::hoisting

template <class E>
struct hoisted : detail::hoisting::hoist<E> {};

}  // namespace ctgrad
