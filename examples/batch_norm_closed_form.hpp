#pragma once
// The hand-derived backward of batch normalization from the reference document
// (shared/reference/batch_norm_explained.md, "Simplified Vectorized Form"), written as ctgrad
// expressions. It is the thing the *derived* gradients are checked against: nothing in the
// library uses it.
//
//   dgamma = sum_i dy * xhat          dbeta = sum_i dy          dxhat = dy * gamma
//   dx     = (1/m) (var + eps)^(-1/2) (m dxhat - sum_i dxhat - xhat sum_i (dxhat * xhat))
#include <ctgrad.hpp>

namespace closed_form {

template <class X, class G, class B, class Eps, class Dy>
constexpr auto batch_norm_backward(X x, G gamma, B, Eps eps, Dy dy) {
  constexpr auto vector = ctgrad::static_shape{1, 0};  // gamma's and beta's shape
  auto m = ctgrad::count<0>(x);
  auto xhat = ctgrad::nn::normalize<0>(x, eps);
  auto dxhat = dy * gamma;
  auto dgamma = ctgrad::reduce_to<vector>(dy * xhat);
  auto dbeta = ctgrad::reduce_to<vector>(dy);
  auto dx = ctgrad::rsqrt(ctgrad::variance<0>(x) + eps) / m *
            (m * dxhat - ctgrad::sum<0>(dxhat) - xhat * ctgrad::sum<0>(dxhat * xhat));
  return ctgrad::exprs(dx, dgamma, dbeta);
}

}  // namespace closed_form
