#pragma once
// ctgrad/nn/normalize.hpp: the building blocks every normalization layer is made of. Batch norm
// (training and inference) and layer norm are compositions of these; none of them is
// differentiated by hand, ctgrad::vjp derives their gradients.
//
//   auto x = ctgrad::input<"x", 2>;  auto eps = ctgrad::input<"eps", 0>;
//   auto xhat = ctgrad::nn::normalize<0>(x, eps);              // batch statistics over axis 0
//   auto xinf = ctgrad::nn::normalize_with(x, mu, var, eps);   // given statistics
//   auto y = ctgrad::nn::affine(xhat, gamma, beta);            // gamma * xhat + beta
//
// Batch statistics are computed around a shift: d = x - s with s = x[0] (the first sample along
// the reduced axes), then mu = s + mean(d) and the variance of d, the mean of (d - mean(d))^2.
// In exact arithmetic the shift changes nothing (normalization is shift invariant). In floating
// point it makes two promises the plain E[x^2] - E[x]^2 form cannot keep:
//   - a constant feature normalizes to exactly 0: d is exactly 0, so are mean(d), the deviations
//     and the variance, and batch_mean(x) is exactly the constant;
//   - data with a large offset keep their precision: d is computed exactly (Sterbenz) and is of
//     the order of the spread of the data (s is one of them), so nothing cancels.
// The shift is wrapped in stop_gradient: the result does not depend on it, so its gradient is
// exactly zero, and declaring it so keeps the derived backward pass from summing terms that
// cancel. Because d is shifted data, ctgrad's sums split around its mean (sum((d - mean(d))^2) =
// sum(d^2) - mean(d) (2 sum(d) - m mean(d)), summed in double; expr/reduction.hpp), so the
// statistics and the sums of the backward pass all come from one pass over x and dy, while y
// and dx are still written with the centered d - mean(d): forward and backward together read x
// and dy twice each (docs/performance.md).
#include <cstddef>

#include "ctgrad/expr/statistics.hpp"
#include "ctgrad/expr/stop_gradient.hpp"

namespace ctgrad::nn {

namespace detail {
/// The shift batch statistics are computed around: the first sample (index 0 along Axes),
/// gradient stopped.
template <std::size_t... Axes, Expression X>
constexpr auto shift(X x) {
  return ctgrad::stop_gradient(ctgrad::first<Axes...>(x));
}
/// x shifted by its first sample over Axes: the quantity batch statistics are computed from.
template <std::size_t... Axes, Expression X>
constexpr auto shifted(X x) {
  return ctgrad::subtract(x, detail::shift<Axes...>(x));
}
}  // namespace detail

/// (x - mean) / sqrt(var + eps) for statistics given from outside (running estimates, or
/// anything that broadcasts against x); eps sits inside the square root. Written as a product
/// with rsqrt(var + eps), the inverse standard deviation, as hand-written kernels do: one
/// reciprocal square root per feature instead of a division per element, here and in every
/// derived gradient term.
///
///   auto xhat = ctgrad::nn::normalize_with(x, running_mean, running_var, eps);
template <Expression X, Expression Mean, Expression Var, Expression Eps>
constexpr auto normalize_with(X x, Mean mean_value, Var var_value, Eps eps) {
  return ctgrad::multiply(ctgrad::subtract(x, mean_value), ctgrad::rsqrt(ctgrad::add(var_value, eps)));
}

/// The mean of x over `Axes...` (kept with extent 1), refined by the mean of the residues
/// x - mean(x): exactly c for a constant feature c. What running means are updated with.
///
///   auto mu = ctgrad::nn::batch_mean<0>(x);   // 1 x n
template <std::size_t... Axes, Expression X>
constexpr auto batch_mean(X x) {
  return ctgrad::add(detail::shift<Axes...>(x), ctgrad::mean<Axes...>(detail::shifted<Axes...>(x)));
}

/// The biased variance of x over `Axes...` (divides by the number m of reduced elements, as
/// batch norm's training pass does), computed from the shifted data; never negative, exactly 0
/// for a constant feature.
///
///   auto var = ctgrad::nn::batch_variance<0>(x);   // 1 x n
template <std::size_t... Axes, Expression X>
constexpr auto batch_variance(X x) {
  return ctgrad::variance<Axes...>(detail::shifted<Axes...>(x));
}

/// x normalized with its own statistics over `Axes...`: (x - mu) / sqrt(var + eps) with the
/// batch mean and biased batch variance. Shares its nodes with batch_mean and batch_variance,
/// so evaluating it together with running-estimate updates computes the statistics once.
///
///   auto xhat = ctgrad::nn::normalize<0>(x, eps);        // batch norm over the batch axis
///   auto zhat = ctgrad::nn::normalize<1>(x, eps);        // layer norm over the features
template <std::size_t... Axes, Expression X, Expression Eps>
constexpr auto normalize(X x, Eps eps) {
  static_assert(sizeof...(Axes) > 0, "ctgrad::nn::normalize<Axes...>(x, eps): name the axes to normalize over");
  const auto d = detail::shifted<Axes...>(x);
  return nn::normalize_with(d, ctgrad::mean<Axes...>(d), ctgrad::variance<Axes...>(d), eps);
}

/// The learnable scale and shift: gamma * xhat + beta (gamma and beta broadcast against xhat).
///
///   auto y = ctgrad::nn::affine(ctgrad::nn::normalize<0>(x, eps), gamma, beta);
template <Expression Xhat, Expression G, Expression B>
constexpr auto affine(Xhat xhat, G gamma, B beta) {
  return ctgrad::add(ctgrad::multiply(gamma, xhat), beta);
}

}  // namespace ctgrad::nn
