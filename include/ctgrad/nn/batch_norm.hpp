#pragma once
// ctgrad/nn/batch_norm.hpp: batch normalization built from primitives only, in training and
// inference mode, over any compile-time set of axes, with running estimates.
//
//   auto x = ctgrad::input<"x", 2>;          // m x n batch, normalized over axis 0
//   auto gamma = ctgrad::input<"gamma", 1>;  // n
//   auto beta = ctgrad::input<"beta", 1>;    // n
//   auto rm = ctgrad::input<"running_mean", 1>;
//   auto rv = ctgrad::input<"running_var", 1>;
//   auto eps = ctgrad::input<"eps", 0>;
//   auto [y, rm_next, rv_next] =
//       ctgrad::nn::batch_norm<ctgrad::nn::training, 0>(x, gamma, beta, rm, rv, eps);
//   auto [dx, dgamma, dbeta] = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(ctgrad::input<"dy", 2>),
//                                          ctgrad::wrt(x, gamma, beta));
//
// Training mode normalizes with the batch mean and the biased batch variance (divides by m, the
// number of reduced elements), eps inside the square root, then scales by gamma and shifts by
// beta; it also yields the updated running estimates. Inference mode normalizes with the
// running estimates; its backward is the affine map dx = dy * gamma / sqrt(running_var + eps).
// Both are compositions of the blocks in nn/normalize.hpp, and nothing here is differentiated
// by hand: ctgrad::vjp derives every gradient.
//
// Axes: the axes listed are reduced; the others are the features, and gamma, beta and the
// running estimates have one entry per feature (rank = x's rank - number of axes). m x n over
// {0}: vectors of length n. N x C x H x W over {0, 2, 3} (PyTorch's BatchNorm2d): vectors of
// length C, placed at axis 1.
#include <array>
#include <cstddef>
#include <utility>

#include "ctgrad/expr/list.hpp"
#include "ctgrad/expr/reshape.hpp"
#include "ctgrad/expr/statistics.hpp"
#include "ctgrad/nn/normalize.hpp"
#include "ctgrad/nn/running_stats.hpp"

namespace ctgrad::nn {

/// Which statistics batch norm normalizes with: the batch's own (training) or the running
/// estimates (inference). The graph is a type, so the mode is a template argument; a program
/// that switches at run time builds both graphs (they are empty objects) and branches.
enum class mode { training, inference };
inline constexpr mode training = mode::training;
inline constexpr mode inference = mode::inference;

namespace detail {

/// Axes listed in increasing order, each below R.
template <std::size_t R, std::size_t... Axes>
constexpr bool valid_axes() {
  constexpr std::array<std::size_t, sizeof...(Axes)> a{Axes...};
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] >= R || (i > 0 && a[i] <= a[i - 1])) return false;
  return true;
}

/// True when the reduced axes are 0, 1, ..., k-1: the features are then the trailing axes, so
/// a per-feature vector right-aligns with x by plain broadcasting.
template <std::size_t... Axes>
constexpr bool leading_axes() {
  constexpr std::array<std::size_t, sizeof...(Axes)> a{Axes...};
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != i) return false;
  return true;
}

/// The axes of a rank-R x that are not reduced: the feature axes, in increasing order.
template <std::size_t R, std::size_t... Axes>
constexpr std::array<std::size_t, R - sizeof...(Axes)> feature_axes() {
  std::array<std::size_t, R - sizeof...(Axes)> kept{};
  std::size_t k = 0;
  for (std::size_t a = 0; a < R; ++a)
    if (((a != Axes) && ...)) kept[k++] = a;
  return kept;
}

template <std::size_t R, std::size_t... Axes, Expression P, std::size_t... I>
constexpr auto expand_to_features(P p, std::index_sequence<I...>) {
  constexpr auto kept = feature_axes<R, Axes...>();
  return ctgrad::expand<R, kept[I]...>(p);
}

/// A per-feature parameter (rank R - k) placed so that it broadcasts against a rank-R x: as is
/// when the features are the trailing axes (right alignment does it), otherwise expanded so
/// that its axes land on the feature axes (1 x C x 1 x 1 for N x C x H x W over {0, 2, 3}).
template <std::size_t R, std::size_t... Axes, Expression P>
constexpr auto to_layout(P p) {
  if constexpr (leading_axes<Axes...>()) return p;
  else return expand_to_features<R, Axes...>(p, std::make_index_sequence<R - sizeof...(Axes)>{});
}

/// A batch statistic (rank R, statically 1 along Axes) as a per-feature value of rank R - k:
/// the inverse of to_layout.
template <std::size_t... Axes, Expression S>
constexpr auto to_parameters(S s) {
  if constexpr (leading_axes<Axes...>()) return ctgrad::reduce_to<static_shape{S::shape.rank - sizeof...(Axes), 0}>(s);
  else return ctgrad::squeeze<Axes...>(s);
}

/// Compile-time checks shared by every batch-norm entry point, one sentence each.
template <class X, std::size_t... Axes>
constexpr void check_axes(axes_t<Axes...>) {
  constexpr std::size_t R = X::shape.rank, k = sizeof...(Axes);
  static_assert(k > 0, "ctgrad::nn::batch_norm: name the axes to normalize over, e.g. batch_norm<mode, 0>");
  static_assert(valid_axes<R, Axes...>(),
                "ctgrad::nn::batch_norm: the axes must be listed in increasing order, each less than x's rank");
  static_assert(k < R, "ctgrad::nn::batch_norm: at least one axis of x must be left as the feature axis");
}

template <class AxesList, class X, class G, class B, class Eps>
constexpr void check_batch_norm_arguments() {
  check_axes<X>(AxesList{});
  constexpr std::size_t R = X::shape.rank, k = AxesList::count;
  static_assert(G::shape.rank == R - k && B::shape.rank == R - k,
                "ctgrad::nn::batch_norm: gamma and beta need one entry per feature: rank = x's rank "
                "minus the number of normalized axes (rank 1 for m x n over {0}, or N x C x H x W "
                "over {0, 2, 3})");
  static_assert(Eps::shape.rank == 0, "ctgrad::nn::batch_norm: eps must be a scalar (rank 0)");
}

template <class AxesList, class X, class RM, class RV>
constexpr void check_running_arguments() {
  check_axes<X>(AxesList{});
  constexpr std::size_t R = X::shape.rank, k = AxesList::count;
  static_assert(RM::shape.rank == R - k && RV::shape.rank == R - k,
                "ctgrad::nn::batch_norm: the running mean and variance need one entry per feature, "
                "like gamma and beta");
}

}  // namespace detail

/// Batch normalization in training mode over `Axes...`: the output y only (no running
/// estimates). Without axes it is the classic m x n batch normalized over axis 0.
///
///   auto y  = ctgrad::nn::batch_norm_train(x, gamma, beta, eps);          // x: m x n
///   auto y4 = ctgrad::nn::batch_norm_train<0, 2, 3>(x4, gamma, beta, eps); // x4: N x C x H x W
template <std::size_t... Axes, Expression X, Expression G, Expression B, Expression Eps>
constexpr auto batch_norm_train(X x, G gamma, B beta, Eps eps) {
  if constexpr (sizeof...(Axes) == 0) {
    static_assert(X::shape.rank == 2,
                  "ctgrad::nn::batch_norm_train: x must be an m x n batch (rank 2), or name the "
                  "axes: batch_norm_train<0, 2, 3>(x, gamma, beta, eps)");
    return nn::batch_norm_train<0>(x, gamma, beta, eps);
  } else {
    detail::check_batch_norm_arguments<axes_t<Axes...>, X, G, B, Eps>();
    constexpr std::size_t R = X::shape.rank;
    return nn::affine(nn::normalize<Axes...>(x, eps), detail::to_layout<R, Axes...>(gamma),
                  detail::to_layout<R, Axes...>(beta));
  }
}

/// Batch normalization in inference mode over `Axes...`: x normalized with the running
/// estimates, then scaled and shifted. Its gradient is the affine map
/// dx = dy * gamma / sqrt(running_var + eps).
///
///   auto y = ctgrad::nn::batch_norm_inference<0>(x, gamma, beta, running_mean, running_var, eps);
template <std::size_t... Axes, Expression X, Expression G, Expression B, Expression RM, Expression RV, Expression Eps>
constexpr auto batch_norm_inference(X x, G gamma, B beta, RM running_mean, RV running_var, Eps eps) {
  detail::check_batch_norm_arguments<axes_t<Axes...>, X, G, B, Eps>();
  detail::check_running_arguments<axes_t<Axes...>, X, RM, RV>();
  constexpr std::size_t R = X::shape.rank;
  return nn::affine(nn::normalize_with(x, detail::to_layout<R, Axes...>(running_mean), detail::to_layout<R, Axes...>(running_var), eps),
                detail::to_layout<R, Axes...>(gamma), detail::to_layout<R, Axes...>(beta));
}

/// The running estimates after one training step on batch x, as expressions
/// (new_running_mean, new_running_var) with one entry per feature. Evaluated together with the
/// training output, they reuse its batch mean and variance nodes.
///
///   auto [rm_next, rv_next] = ctgrad::nn::running_estimates<0>(x, rm, rv, ctgrad::nn::pytorch_momentum{});
template <std::size_t... Axes, Expression X, Expression RM, Expression RV, MomentumConvention M = reference_momentum<>>
constexpr auto running_estimates(X x, RM running_mean, RV running_var, M momentum = M{}) {
  detail::check_running_arguments<axes_t<Axes...>, X, RM, RV>();
  const auto batch_mu = detail::to_parameters<Axes...>(nn::batch_mean<Axes...>(x));
  const auto batch_var = detail::to_parameters<Axes...>(
      momentum.template stored_variance<Axes...>(x, nn::batch_variance<Axes...>(x)));
  return ctgrad::exprs(momentum.blend(running_mean, batch_mu), momentum.blend(running_var, batch_var));
}

/// Batch normalization over `Axes...` in the mode the user picks, as the list
/// (y, next running mean, next running variance). Training: y uses the batch statistics and the
/// running estimates are updated with `momentum` (reference_momentum{} by default: alpha = 9/10,
/// biased variance). Inference: y uses the running estimates, which are returned unchanged, so
/// one code path serves both modes.
///
///   auto [y, rm_next, rv_next] = ctgrad::nn::batch_norm<ctgrad::nn::training, 0, 2, 3>(
///       x, gamma, beta, rm, rv, eps, ctgrad::nn::pytorch_momentum{});
template <mode Mode, std::size_t... Axes, Expression X, Expression G, Expression B, Expression RM, Expression RV,
          Expression Eps, MomentumConvention M = reference_momentum<>>
constexpr auto batch_norm(X x, G gamma, B beta, RM running_mean, RV running_var, Eps eps, M momentum = M{}) {
  detail::check_batch_norm_arguments<axes_t<Axes...>, X, G, B, Eps>();
  detail::check_running_arguments<axes_t<Axes...>, X, RM, RV>();
  if constexpr (Mode == mode::training)
    return ctgrad::exprs(nn::batch_norm_train<Axes...>(x, gamma, beta, eps), nn::running_estimates<Axes...>(x, running_mean, running_var, momentum));
  else
    return ctgrad::exprs(nn::batch_norm_inference<Axes...>(x, gamma, beta, running_mean, running_var, eps), running_mean, running_var);
}

}  // namespace ctgrad::nn
