#pragma once
// ctgrad/expr/softmax.hpp: logsumexp, softmax and log_softmax, composites built from
// primitives; their gradients are derived.
//
//   auto z = ctgrad::input<"z", 2>;           // m rows of logits
//   auto p = ctgrad::softmax<1>(z);           // each row sums to 1
//   auto l = ctgrad::log_softmax<1>(z);       // z - logsumexp<1>(z), finite for any finite z
//
// All three shift by the max first, m = stop_gradient(max(z)): exp(z - m) <= 1 never
// overflows and the largest term is 1, so the log of the sum never sees 0 (rows such as
// [0, 800, 1] or [-1000, 0, 1000] stay finite in float). The shift changes no value and no
// derivative in exact arithmetic (logsumexp(z) = m + logsumexp(z - m) for every m), so its
// gradient is declared zero (as jax.nn.logsumexp does), and the derived gradient of
// logsumexp is softmax. A row that is all -inf gives NaN (its shift is -inf - -inf).
#include "ctgrad/expr/extremum.hpp"
#include "ctgrad/expr/stop_gradient.hpp"

namespace ctgrad {

namespace detail {
/// a - stop_gradient(max over Axes of a): at most 0, and 0 at the max.
template <std::size_t... Axes, Expression A>
constexpr auto shifted_by_max(A a) {
  return ctgrad::subtract(a, ctgrad::stop_gradient(ctgrad::max<Axes...>(a)));
}
}  // namespace detail

/// log(sum over Axes of exp(a)), kept with extent 1 along Axes: m + log(sum(exp(a - m))) for
/// m = stop_gradient(max(a)).
template <std::size_t... Axes, Expression A>
constexpr auto logsumexp(A a) {
  const auto m = ctgrad::stop_gradient(ctgrad::max<Axes...>(a));
  return ctgrad::add(m, ctgrad::log(ctgrad::sum<Axes...>(ctgrad::exp(ctgrad::subtract(a, m)))));
}

/// exp(a) / sum over Axis of exp(a), computed as exp(a - m) / sum(exp(a - m)).
template <std::size_t Axis, Expression A>
constexpr auto softmax(A a) {
  const auto e = ctgrad::exp(detail::shifted_by_max<Axis>(a));
  return ctgrad::divide(e, ctgrad::sum<Axis>(e));
}

/// a - logsumexp over Axis of a, computed as (a - m) - log(sum(exp(a - m))).
template <std::size_t Axis, Expression A>
constexpr auto log_softmax(A a) {
  const auto s = detail::shifted_by_max<Axis>(a);
  return ctgrad::subtract(s, ctgrad::log(ctgrad::sum<Axis>(ctgrad::exp(s))));
}

}  // namespace ctgrad
