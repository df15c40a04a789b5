#pragma once
// The named inputs the batch-norm tests share: an m x n batch x, per-feature gamma, beta and
// running estimates, the scalar eps and the upstream gradient dy. Tests say
// `using namespace ctgrad_test::bn_inputs;`.
#include <ctgrad.hpp>

namespace ctgrad_test::bn_inputs {

inline constexpr auto x = ctgrad::input<"x", 2>;
inline constexpr auto gamma_ = ctgrad::input<"gamma", 1>;  // trailing _: ::gamma is a libm function
inline constexpr auto beta_ = ctgrad::input<"beta", 1>;
inline constexpr auto rm = ctgrad::input<"running_mean", 1>;
inline constexpr auto rv = ctgrad::input<"running_var", 1>;
inline constexpr auto eps = ctgrad::input<"eps", 0>;
inline constexpr auto dy = ctgrad::input<"dy", 2>;

}  // namespace ctgrad_test::bn_inputs
