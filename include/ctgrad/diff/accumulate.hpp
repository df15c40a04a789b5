#pragma once
// ctgrad/diff/accumulate.hpp: summing local-rule contributions and fitting them to a node's
// shape; shared by reverse mode (vjp.hpp) and forward mode (jvp.hpp).
//
// Written as class templates (`::type`) rather than constexpr functions returning a node: GCC 12
// puts every instantiated function in its symbol table and mangles its name, and the name of a
// function whose template arguments are deep node types costs time quadratic in the number of
// distinct subexpressions it mentions. Classes that only compute a type are never mangled, so
// nodes are made with made_t (make_node's type); the only functions instantiated here are the
// operations' own rules (Op::simplify).
#include <type_traits>

#include "ctgrad/expr/list.hpp"
#include "ctgrad/expr/reduction.hpp"

namespace ctgrad::detail {

/// Stand-in for "no contribution" while adjoints are summed.
struct no_adjoint {};

/// A + B, where either may be no_adjoint.
template <class A, class B, bool NoA = CTGRAD_DETAIL_SAME_TYPE(A, no_adjoint),
          bool NoB = CTGRAD_DETAIL_SAME_TYPE(B, no_adjoint)>
struct accumulated {
  using type = made_t<add_op, A, B>;  // ctgrad::add(A{}, B{})
};
template <class A, class B, bool NoB>
struct accumulated<A, B, true, NoB> {
  using type = B;
};
template <class A, class B>
struct accumulated<A, B, false, true> {
  using type = A;
};

/// A local rule's result C made to have the shape of `Target`: summed over the axes along which
/// Target was broadcast, or expanded where the rule left it smaller; no_adjoint for no_adjoint
/// and for zeros.
enum class fit_kind { none, same, reduce, expand, mismatch };
template <class Target, class C, fit_kind K>
struct fitted_as {
  static_assert(K != fit_kind::mismatch, "ctgrad internal error: adjoint shape mismatch");
};
template <class Target, class C>
struct fitted_as<Target, C, fit_kind::same> {
  using type = C;
};
template <class Target, class C>
struct fitted_as<Target, C, fit_kind::reduce> {
  using type = made_t<reduce_to_op<Target::shape>, C>;
};
template <class Target, class C>
struct fitted_as<Target, C, fit_kind::expand> {
  using type = made_t<broadcast_op, C, Target>;
};
template <class Target, class C, bool None = CTGRAD_DETAIL_SAME_TYPE(C, no_adjoint) || detail::is_zero_impl<C>::value>
struct fitted : fitted_as<Target, C,
                          C::shape == Target::shape           ? fit_kind::same
                          : covers(C::shape, Target::shape)   ? fit_kind::reduce
                          : covers(Target::shape, C::shape)   ? fit_kind::expand
                                                              : fit_kind::mismatch> {};
template <class Target, class C>
struct fitted<Target, C, true> {
  using type = no_adjoint;
};
template <class Target, class C>
using fitted_t = typename fitted<Target, C>::type;

/// Left fold of contributions with accumulated. A recursive template rather than a fold
/// expression over an operator: an operator on types with node template arguments costs an
/// argument-dependent lookup that clang 14 makes exponential in the nodes' depth.
template <class Acc, class... Cs>
struct fold_contributions {
  using type = Acc;
};
template <class Acc, class C, class... Rest>
struct fold_contributions<Acc, C, Rest...> : fold_contributions<typename accumulated<Acc, C>::type, Rest...> {};

/// The sum of the contributions `Cs...`, skipping the empty ones (no_adjoint if all are).
template <class... Cs>
using sum_t = typename fold_contributions<no_adjoint, Cs...>::type;

/// Function forms of the above, for code that computes with values.
template <class Target, class C>
constexpr auto fit_to(C) {
  return fitted_t<Target, C>{};
}
template <class... Cs>
constexpr auto sum_contributions(Cs...) {
  return sum_t<Cs...>{};
}

}  // namespace ctgrad::detail
