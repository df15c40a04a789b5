#pragma once
// ctgrad/diff/accumulate.hpp: summing local-rule contributions and fitting them to a node's
// shape; shared by reverse mode (vjp.hpp) and forward mode (jvp.hpp).
#include <type_traits>

#include "ctgrad/expr/reduction.hpp"

namespace ctgrad::detail {

/// Stand-in for "no contribution" while adjoints are summed.
struct no_adjoint {};

template <class A, class B>
constexpr auto accumulate(A a, B b) {
  if constexpr (std::is_same_v<A, no_adjoint>) return b;
  else if constexpr (std::is_same_v<B, no_adjoint>) return a;
  else return ctgrad::add(a, b);
}

/// A local rule's result made to have the shape of `Target`: summed over the axes along which
/// Target was broadcast, or expanded where the rule left it smaller.
template <class Target, class C>
constexpr auto fit_to(C c) {
  if constexpr (is_zero_v<C> || std::is_same_v<C, no_adjoint>) return no_adjoint{};
  else if constexpr (C::shape == Target::shape) return c;
  else if constexpr (covers(C::shape, Target::shape)) return ctgrad::make_node<reduce_to_op<Target::shape>>(c);
  else if constexpr (covers(Target::shape, C::shape)) return ctgrad::make_node<broadcast_op>(c, Target{});
  else static_assert(covers(C::shape, Target::shape), "ctgrad internal error: adjoint shape mismatch");
}

/// Left fold of contributions with accumulate. A recursive template rather than a fold
/// expression over an operator: an operator on types with node template arguments costs an
/// argument-dependent lookup that clang 14 makes exponential in the nodes' depth.
template <class Acc, class... Cs>
struct fold_contributions {
  using type = Acc;
};
template <class Acc, class C, class... Rest>
struct fold_contributions<Acc, C, Rest...>
    : fold_contributions<decltype(detail::accumulate(Acc{}, C{})), Rest...> {};

/// The sum of the contributions `Cs...`, skipping the empty ones (no_adjoint if all are).
template <class... Cs>
constexpr auto sum_contributions(Cs...) {
  return typename fold_contributions<no_adjoint, Cs...>::type{};
}

}  // namespace ctgrad::detail
