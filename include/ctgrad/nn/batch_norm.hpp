#pragma once
// ctgrad/nn/batch_norm.hpp: batch normalization built from primitives only.
//
//   auto x = ctgrad::input<"x", 2>;          // m x n batch, normalized over axis 0
//   auto gamma = ctgrad::input<"gamma", 1>;  // n
//   auto beta = ctgrad::input<"beta", 1>;    // n
//   auto eps = ctgrad::input<"eps", 0>;
//   auto y = ctgrad::nn::batch_norm_train(x, gamma, beta, eps);
//   auto [dx, dgamma, dbeta] = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(ctgrad::input<"dy", 2>),
//                                          ctgrad::wrt(x, gamma, beta));
//
// Training mode: batch mean, biased batch variance (divides by m), eps inside the square root,
// scale by gamma and shift by beta. Nothing here is differentiated by hand: the gradients are
// derived by ctgrad::vjp from these primitives.
#include "ctgrad/expr/statistics.hpp"

namespace ctgrad::nn {

/// xhat = (x - mean) / sqrt(var + eps) over `Axes...` (batch statistics).
template <std::size_t... Axes, Expression X, Expression Eps>
constexpr auto normalize(X x, Eps eps) {
  return (x - mean<Axes...>(x)) / sqrt(variance<Axes...>(x) + eps);
}

/// Batch normalization in training mode for an m x n batch `x` normalized over axis 0:
/// y = gamma * (x - mean) / sqrt(var + eps) + beta, with gamma and beta of length n.
template <Expression X, Expression G, Expression B, Expression Eps>
constexpr auto batch_norm_train(X x, G gamma, B beta, Eps eps) {
  static_assert(X::shape.rank == 2, "ctgrad::nn::batch_norm_train: x must be an m x n batch (rank 2)");
  static_assert(G::shape.rank == 1 && B::shape.rank == 1,
                "ctgrad::nn::batch_norm_train: gamma and beta must be vectors of length n (rank 1)");
  static_assert(Eps::shape.rank == 0, "ctgrad::nn::batch_norm_train: eps must be a scalar (rank 0)");
  return gamma * normalize<0>(x, eps) + beta;
}

}  // namespace ctgrad::nn
