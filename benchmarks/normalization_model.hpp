#pragma once
// The normalization layers the row-reduction benchmarks time (bench_row_reductions,
// row_reduction_runs): layer norm and batch norm over an m x n input x, each with the gradients
// of its output for the upstream gradient dy, all four outputs (y, dx, dgamma, dbeta) in one list.
#include <ctgrad.hpp>

namespace normalization_model {

inline constexpr auto x = ctgrad::input<"x", 2>;
inline constexpr auto dy = ctgrad::input<"dy", 2>;
inline constexpr auto gamma_ = ctgrad::input<"gamma", 1>;
inline constexpr auto beta_ = ctgrad::input<"beta", 1>;
inline constexpr auto eps = ctgrad::input<"eps", 0>;

/// y and its derived gradients with respect to x, gamma and beta.
template <class Y>
constexpr auto outputs(Y y) {
  const auto [dx, dg, db] = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_, beta_));
  return ctgrad::exprs(y, dx, dg, db);
}
inline constexpr auto layer_norm_all = outputs(ctgrad::nn::layer_norm(x, gamma_, beta_, eps));
inline constexpr auto batch_norm_all = outputs(ctgrad::nn::batch_norm_train(x, gamma_, beta_, eps));

}  // namespace normalization_model
