#pragma once
// ctgrad/core/pack.hpp: "any" and "sum" over a parameter pack of constants that do not nest.
//
//   any_of({CTGRAD_DETAIL_SAME_TYPE(Ts, T)..., false})   // instead of (__is_same(Ts, T) || ...)
//   sum_of({children_t<Ns>::size..., std::size_t{0}})    // instead of (children_t<Ns>::size + ... + 0)
//   in_order({(f<Ns>(), 0)...});                         // instead of (f<Ns>(), ...)
//
// Clang nests a fold expression of N operands N deep and stops at its bracket-depth limit
// (256 by default) with "instantiating fold expression with N arguments exceeded expression
// nesting limit", which folds over every node of a few-block network reach. A braced list is
// flat: use these wherever a pack grows with the size of the user's graph.
#include <cstddef>
#include <initializer_list>

namespace ctgrad::detail {

/// Whether any of `bits` is set.
template <std::size_t N>
constexpr bool any_of(const bool (&bits)[N]) {
  for (const bool b : bits)
    if (b) return true;
  return false;
}

/// The sum of `terms`.
template <std::size_t N>
constexpr std::size_t sum_of(const std::size_t (&terms)[N]) {
  std::size_t total = 0;
  for (const std::size_t t : terms) total += t;
  return total;
}

/// Nothing: its argument, a braced list, has already evaluated its elements left to right.
constexpr void in_order(std::initializer_list<int> /*evaluated*/) {}

}  // namespace ctgrad::detail
