#pragma once
// ctgrad/expr/statistics.hpp: composites built from primitives; their gradients are derived.
//
//   auto x  = ctgrad::input<"x", 2>;
//   auto mu = ctgrad::mean<0>(x);       // sum<0>(x) / count<0>(x)
//   auto v  = ctgrad::variance<0>(x);   // mean<0>(square(x - mean<0>(x))), biased (divides by m)
#include "ctgrad/expr/elementwise.hpp"

namespace ctgrad {

/// Mean over `Axes...` (kept with extent 1): sum / count.
template <std::size_t... Axes, Expression A>
constexpr auto mean(A a) {
  return ctgrad::divide(ctgrad::sum<Axes...>(a), ctgrad::count<Axes...>(a));
}

/// Biased variance over `Axes...` (divides by the count, as batch norm's training pass does),
/// computed as the mean of squared deviations: two passes, never E[x^2] - E[x]^2, which loses
/// everything to cancellation for data far from zero.
template <std::size_t... Axes, Expression A>
constexpr auto variance(A a) {
  return ctgrad::mean<Axes...>(ctgrad::square(ctgrad::subtract(a, ctgrad::mean<Axes...>(a))));
}

}  // namespace ctgrad
