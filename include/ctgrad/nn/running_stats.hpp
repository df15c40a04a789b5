#pragma once
// ctgrad/nn/running_stats.hpp: the two conventions for batch norm's running estimates.
//
//   ctgrad::nn::reference_momentum{}                          // the default: alpha = 9/10
//   ctgrad::nn::reference_momentum{ctgrad::constant<99, 100>} // Keras/Flax's 0.99
//   ctgrad::nn::pytorch_momentum{}                            // p = 1/10, unbiased variance
//   ctgrad::nn::pytorch_momentum{ctgrad::input<"p", 0>}       // momentum bound at run time
//
// reference_momentum (shared/reference/batch_norm_explained.md, also Keras and Flax):
//     running = alpha * running + (1 - alpha) * batch,   running_var stores the biased variance.
// pytorch_momentum (torch.nn.BatchNorm*d):
//     running = (1 - p) * running + p * batch,            running_var stores the unbiased
//     variance var * m / (m - 1), m the number of reduced elements.
// The means agree when p = 1 - alpha. For a fixed m, the variances are related by
//     pytorch(t) = m/(m-1) * reference(t) + alpha^t * (pytorch(0) - m/(m-1) * reference(0)).
//
// A momentum is any rank-0 expression: an exact compile-time constant (the default; it folds
// into the graph, e.g. 1 - 9/10 becomes 1/10) or a rank-0 input bound at evaluation time.
#include <cstddef>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "ctgrad/expr/statistics.hpp"
#include "ctgrad/graph/render.hpp"

namespace ctgrad::nn {

/// Thrown during evaluation when a statistic needs more elements per feature than the batch
/// has (PyTorch's unbiased running variance with m = 1); the message names the input, the axes
/// and the count.
struct batch_size_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

namespace detail {

/// m / (m - 1) for m = Count's value (Bessel's correction), refusing m < 2 rather than
/// producing inf (and NaN once multiplied by a zero variance). Count is the node
/// count<Axes...>(x); its type spells the axes and x, which the error message names.
template <class Count>
struct bessel_op : elementwise_base {
  static constexpr notation kind = notation::call;
  static constexpr int prec = precedence::atom;
  template <class...>
  static std::string symbol() { return "bessel"; }

  template <class T>
  static T apply(T m) {
    if (!(m >= T(2)))
      throw batch_size_error(fmt::format(
          "ctgrad::nn: the unbiased batch variance var * m / (m - 1) (PyTorch's running-variance "
          "convention) needs m >= 2 elements per feature, but `{}` is m = {}: the input `{}` has a "
          "single element per feature along axes {{{}}} (a batch of one in training mode). Use the "
          "reference convention (reference_momentum), a larger batch, or inference mode.",
          to_text(Count{}), m, to_text(typename count_argument<Count>::type{}), axes_text()));
    return m / (m - T(1));
  }

  // A count is a shape, not a value: nothing flows back through it.
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G, Self, A) { return zero_node{}; }

  template <class C>
  struct count_argument;
  template <class Axes, class A>
  struct count_argument<node<count_op<Axes>, A>> {
    using type = A;
    static std::string axes() { return fmt::format("{}", fmt::join(Axes::list, ", ")); }
  };
  static std::string axes_text() { return count_argument<Count>::axes(); }
};

}  // namespace detail

/// m / (m - 1), m the number of elements of x along `Axes...`; evaluation throws
/// nn::batch_size_error when m < 2.
///
///   auto unbiased = ctgrad::nn::bessel_correction<0>(x) * ctgrad::nn::batch_variance<0>(x);
template <std::size_t... Axes, Expression X>
constexpr auto bessel_correction(X x) {
  using count_node = decltype(count<Axes...>(x));
  return ctgrad::make_node<detail::bessel_op<count_node>>(count_node{});
}

/// The reference document's convention: running = alpha * running + (1 - alpha) * batch, and
/// the running variance stores the biased batch variance. The default, with alpha = 9/10.
///
///   auto conv = ctgrad::nn::reference_momentum{ctgrad::constant<99, 100>};
template <Expression Alpha = constant_node<rational{9, 10}>>
struct reference_momentum {
  static_assert(Alpha::shape.rank == 0, "ctgrad::nn::reference_momentum: alpha must be a scalar (rank 0)");
  constexpr reference_momentum() = default;
  constexpr explicit reference_momentum(Alpha) {}

  /// The updated estimate from the previous one and the batch's statistic.
  template <Expression Running, Expression Batch>
  static constexpr auto blend(Running running, Batch batch) {
    return ctgrad::add(ctgrad::multiply(Alpha{}, running), ctgrad::multiply(ctgrad::subtract(constant<1>, Alpha{}), batch));
  }
  /// What the running variance stores: the biased batch variance itself.
  template <std::size_t... Axes, Expression X, Expression Var>
  static constexpr auto stored_variance(X, Var biased) {
    return biased;
  }
  static std::string describe() { return fmt::format("running = {0} * running + (1 - {0}) * batch, biased variance", to_text(Alpha{})); }
};
template <Expression A>
reference_momentum(A) -> reference_momentum<A>;

/// PyTorch's convention: running = (1 - p) * running + p * batch, and the running variance
/// stores the unbiased batch variance var * m / (m - 1). p = 1/10 by default.
///
///   auto conv = ctgrad::nn::pytorch_momentum{};
template <Expression P = constant_node<rational{1, 10}>>
struct pytorch_momentum {
  static_assert(P::shape.rank == 0, "ctgrad::nn::pytorch_momentum: p must be a scalar (rank 0)");
  constexpr pytorch_momentum() = default;
  constexpr explicit pytorch_momentum(P) {}

  template <Expression Running, Expression Batch>
  static constexpr auto blend(Running running, Batch batch) {
    return ctgrad::add(ctgrad::multiply(ctgrad::subtract(constant<1>, P{}), running), ctgrad::multiply(P{}, batch));
  }
  template <std::size_t... Axes, Expression X, Expression Var>
  static constexpr auto stored_variance(X x, Var biased) {
    return ctgrad::multiply(nn::bessel_correction<Axes...>(x), biased);
  }
  static std::string describe() { return fmt::format("running = (1 - {0}) * running + {0} * batch, unbiased variance", to_text(P{})); }
};
template <Expression P>
pytorch_momentum(P) -> pytorch_momentum<P>;

namespace detail {
template <class M>
inline constexpr bool is_momentum_convention = false;
template <class A>
inline constexpr bool is_momentum_convention<reference_momentum<A>> = true;
template <class P>
inline constexpr bool is_momentum_convention<pytorch_momentum<P>> = true;
}  // namespace detail

/// A running-estimate convention: reference_momentum<...> or pytorch_momentum<...>.
template <class M>
concept MomentumConvention = detail::is_momentum_convention<std::remove_cvref_t<M>>;

}  // namespace ctgrad::nn
