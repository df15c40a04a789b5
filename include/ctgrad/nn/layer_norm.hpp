#pragma once
// ctgrad/nn/layer_norm.hpp: layer normalization, from the same blocks as batch norm.
//
//   auto x = ctgrad::input<"x", 2>;          // m samples x n features (or any rank >= 1)
//   auto gamma = ctgrad::input<"gamma", 1>;  // n: one scale per entry of the last axis
//   auto beta = ctgrad::input<"beta", 1>;    // n
//   auto y = ctgrad::nn::layer_norm(x, gamma, beta, ctgrad::input<"eps", 0>);
//
// Each sample is normalized over its last axis with its own mean and biased variance (so there
// are no running estimates and no training/inference distinction), then scaled and shifted
// elementwise along that axis, as torch.nn.LayerNorm(n) does. It is normalize<last axis> and
// affine from nn/normalize.hpp; the gradients are derived by ctgrad::vjp.
#include "ctgrad/nn/normalize.hpp"

namespace ctgrad::nn {

/// Layer normalization over the last axis of x: gamma * normalize<last>(x, eps) + beta, with
/// gamma and beta vectors as long as x's last axis.
///
///   auto y = ctgrad::nn::layer_norm(ctgrad::input<"x", 3>, gamma, beta, eps);   // B x T x D
template <Expression X, Expression G, Expression B, Expression Eps>
constexpr auto layer_norm(X x, G gamma, B beta, Eps eps) {
  static_assert(X::shape.rank >= 1, "ctgrad::nn::layer_norm: x needs at least one axis to normalize over");
  static_assert(G::shape.rank == 1 && B::shape.rank == 1,
                "ctgrad::nn::layer_norm: gamma and beta must be vectors as long as x's last axis (rank 1)");
  static_assert(Eps::shape.rank == 0, "ctgrad::nn::layer_norm: eps must be a scalar (rank 0)");
  // gamma and beta right-align with x's last axis, which is exactly where they belong.
  return nn::affine(nn::normalize<X::shape.rank - 1>(x, eps), gamma, beta);
}

}  // namespace ctgrad::nn
