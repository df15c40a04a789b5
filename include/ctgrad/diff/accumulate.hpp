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
  else return a + b;
}

/// A local rule's result made to have the shape of `Target`: summed over the axes along which
/// Target was broadcast, or expanded where the rule left it smaller.
template <class Target, class C>
constexpr auto fit_to(C c) {
  if constexpr (is_zero_v<C> || std::is_same_v<C, no_adjoint>) return no_adjoint{};
  else if constexpr (C::shape == Target::shape) return c;
  else if constexpr (covers(C::shape, Target::shape)) return make_node<reduce_to_op<Target::shape>>(c);
  else if constexpr (covers(Target::shape, C::shape)) return make_node<broadcast_op>(c, Target{});
  else static_assert(covers(C::shape, Target::shape), "ctgrad internal error: adjoint shape mismatch");
}

/// Wraps a contribution type so that a fold expression can sum a pack of them.
template <class V>
struct contribution_box {
  constexpr V value() const { return V{}; }
  template <class W>
  constexpr auto operator+(contribution_box<W>) const {
    return contribution_box<decltype(accumulate(V{}, W{}))>{};
  }
};

/// The sum of the contributions `Cs...`, skipping the empty ones (no_adjoint if all are).
template <class... Cs>
constexpr auto sum_contributions(Cs...) {
  return (contribution_box<no_adjoint>{} + ... + contribution_box<Cs>{}).value();
}

}  // namespace ctgrad::detail
