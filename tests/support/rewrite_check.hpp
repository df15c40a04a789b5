#pragma once
// Rewrites preserve values: an expression as the smart constructors simplify it against the same
// expression built on ctgrad::doc::unsimplified operands, where every local rule is applied
// literally (no rewrite fires on a node built on an unsimplified operand, expr/node.hpp), both
// evaluated in double on random inputs. Tests also static_assert the rewritten type, so that a
// rewrite that stopped firing fails at compile time instead of comparing an expression with
// itself.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <ctgrad.hpp>
#include <ctgrad/doc/unsimplified.hpp>

#include "support/numeric.hpp"

namespace ctgrad_test::rewrites {

inline constexpr auto x = ctgrad::input<"x", 2>;
inline constexpr auto y = ctgrad::input<"y", 2>;
inline constexpr auto b = ctgrad::input<"b", 1>;
inline constexpr auto s = ctgrad::input<"s", 0>;
// the same inputs, starting unsimplified graphs
inline constexpr auto ux = ctgrad::doc::unsimplified(x);
inline constexpr auto uy = ctgrad::doc::unsimplified(y);
inline constexpr auto ub = ctgrad::doc::unsimplified(b);
inline constexpr auto us = ctgrad::doc::unsimplified(s);

inline constexpr std::size_t m = 5, n = 3;

/// Both evaluated together on random x, y (m x n), b (n), s; the norm-wise relative error
/// max |simplified - raw| / max |raw| must be rounding-level, and raw must not be all zero.
template <class S, class R>
void check_same_values(S simplified, R raw, const char* what, unsigned seed = 1) {
  static_assert(R::unsimplified, "the raw expression must be built on ctgrad::doc::unsimplified operands");
  static_assert(!S::unsimplified, "the simplified expression must be built on plain inputs");  // so the two differ
  const auto xs = random_vector(m * n, seed, -2.0, 3.0), ys = random_vector(m * n, seed + 1, 0.5, 2.0);
  const auto bs = random_vector(n, seed + 2, 0.5, 2.0);
  // one set of bindings for every rewrite checked: an expression need not read x, y, b and s all
  const auto [sv, rv] = ctgrad::evaluate(ctgrad::exprs(simplified, raw), ctgrad::allow_unused(ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n}))),
                                         ctgrad::allow_unused(ctgrad::bind(y, ctgrad::view<const double, 2>(ys.data(), {m, n}))),
                                         ctgrad::allow_unused(ctgrad::bind(b, ctgrad::view<const double, 1>(bs.data(), {n}))), ctgrad::allow_unused(ctgrad::bind(s, 1.25)));
  INFO(what << ": simplified `" << ctgrad::to_text(simplified) << "`, raw `" << ctgrad::to_text(raw) << "`");
  REQUIRE(sv.extents == rv.extents);
  double scale = 0;
  for (double e : rv.values) scale = std::max(scale, std::abs(e));
  CHECK(scale > 1e-3);
  const double err = relative_error(sv.values, rv.values);
  INFO("norm-wise relative error " << err);
  CHECK(err <= 1e-13);
}

}  // namespace ctgrad_test::rewrites
