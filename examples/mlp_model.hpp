#pragma once
// examples/mlp_model.hpp: the MLP 784-256-256-10 of examples/train_mlp.cpp as ctgrad expressions,
// shared by the training program and its tests (tests/runtime/train_mlp_model.cpp gradchecks
// these very types in double at a tiny size).
//
//   linear, [batch norm], ReLU, linear, [batch norm], ReLU, linear, softmax cross-entropy
//
// Every gradient is ctgrad::grad of the loss; the SGD-with-momentum update is an expression too
// (mlp_model::sgd<R>). Nothing here is evaluated: the types are compiled into plans by the users.
// Extents come from the bindings, so the same expressions serve 784-256-256-10 and a 5-4-3-3 test.
//
//   auto g = ctgrad::grad(mlp_model::bn::loss, mlp_model::bn::parameters());
//   auto plan = ctgrad::compile<float>(ctgrad::exprs(mlp_model::bn::loss, ctgrad::get<0>(g), ...));
#include <cstddef>

#include <ctgrad.hpp>

namespace mlp_model {

// -- inputs: the batch, the parameters, the running estimates ----------------------------------
inline constexpr auto x = ctgrad::input<"x", 2>;              // batch x 784, standardized pixels
inline constexpr auto targets = ctgrad::input<"targets", 2>;  // batch x 10, one-hot rows
inline constexpr auto W1 = ctgrad::input<"W1", 2>;            // 784 x 256 (k x n, as nn::linear)
inline constexpr auto b1 = ctgrad::input<"b1", 1>;
inline constexpr auto gamma1 = ctgrad::input<"gamma1", 1>;
inline constexpr auto beta1 = ctgrad::input<"beta1", 1>;
inline constexpr auto W2 = ctgrad::input<"W2", 2>;            // 256 x 256
inline constexpr auto b2 = ctgrad::input<"b2", 1>;
inline constexpr auto gamma2 = ctgrad::input<"gamma2", 1>;
inline constexpr auto beta2 = ctgrad::input<"beta2", 1>;
inline constexpr auto W3 = ctgrad::input<"W3", 2>;            // 256 x 10
inline constexpr auto b3 = ctgrad::input<"b3", 1>;
inline constexpr auto running_mean1 = ctgrad::input<"running_mean1", 1>;
inline constexpr auto running_var1 = ctgrad::input<"running_var1", 1>;
inline constexpr auto running_mean2 = ctgrad::input<"running_mean2", 1>;
inline constexpr auto running_var2 = ctgrad::input<"running_var2", 1>;

/// Batch norm's eps, PyTorch's default 1e-5, an exact constant (no binding needed).
inline constexpr auto eps = ctgrad::constant<1, 100000>;

inline constexpr auto z1 = ctgrad::nn::linear(x, W1, b1);

/// Without batch norm: linear, ReLU, linear, ReLU, linear.
namespace plain {
inline constexpr auto h1 = ctgrad::relu(z1);
inline constexpr auto h2 = ctgrad::relu(ctgrad::nn::linear(h1, W2, b2));
inline constexpr auto logits = ctgrad::nn::linear(h2, W3, b3);
inline constexpr auto loss = ctgrad::nn::softmax_cross_entropy(logits, targets);
/// The parameters, in the order of every list below (gradients, optimizer state).
inline constexpr auto parameters() { return ctgrad::wrt(W1, b1, W2, b2, W3, b3); }
}  // namespace plain

/// With batch norm after each hidden linear layer: batch statistics while training, the running
/// estimates at inference.
namespace bn {
inline constexpr auto h1 = ctgrad::relu(ctgrad::nn::batch_norm_train<0>(z1, gamma1, beta1, eps));
inline constexpr auto z2 = ctgrad::nn::linear(h1, W2, b2);
inline constexpr auto h2 = ctgrad::relu(ctgrad::nn::batch_norm_train<0>(z2, gamma2, beta2, eps));
inline constexpr auto logits = ctgrad::nn::linear(h2, W3, b3);
inline constexpr auto loss = ctgrad::nn::softmax_cross_entropy(logits, targets);
inline constexpr auto parameters() { return ctgrad::wrt(W1, b1, gamma1, beta1, W2, b2, gamma2, beta2, W3, b3); }

/// Inference mode: each batch norm uses the running estimates, so a sample's logits do not
/// depend on the rest of its batch.
inline constexpr auto h1_inference =
    ctgrad::relu(ctgrad::nn::batch_norm_inference<0>(z1, gamma1, beta1, running_mean1, running_var1, eps));
inline constexpr auto h2_inference = ctgrad::relu(
    ctgrad::nn::batch_norm_inference<0>(ctgrad::nn::linear(h1_inference, W2, b2), gamma2, beta2, running_mean2, running_var2, eps));
inline constexpr auto logits_inference = ctgrad::nn::linear(h2_inference, W3, b3);

/// The running estimates after one training step, (mean1, var1, mean2, var2), from the batch
/// statistics of the pre-activations the training-mode batch norms normalize (so a plan that
/// computes them with the loss shares the statistics). Convention: nn::reference_momentum{} or
/// nn::pytorch_momentum{} (include/ctgrad/nn/running_stats.hpp).
template <ctgrad::nn::MomentumConvention M>
constexpr auto running_updates(M convention) {
  const auto first = ctgrad::nn::running_estimates<0>(z1, running_mean1, running_var1, convention);
  const auto second = ctgrad::nn::running_estimates<0>(z2, running_mean2, running_var2, convention);
  return ctgrad::exprs(ctgrad::get<0>(first), ctgrad::get<1>(first), ctgrad::get<0>(second), ctgrad::get<1>(second));
}
}  // namespace bn

// -- the optimizer --------------------------------------------------------------------------------
inline constexpr auto learning_rate = ctgrad::input<"lr", 0>;
inline constexpr auto momentum = ctgrad::input<"momentum", 0>;

/// SGD with momentum (PyTorch's torch.optim.SGD, dampening 0, no weight decay) for a parameter
/// of rank R:  v' = momentum * v + g,  p' = p - lr * v'.  One plan per rank computes both.
template <std::size_t R>
struct sgd {
  static constexpr auto param = ctgrad::input<"param", R>;
  static constexpr auto velocity = ctgrad::input<"velocity", R>;
  static constexpr auto gradient = ctgrad::input<"gradient", R>;
  static constexpr auto velocity_next = ctgrad::add(ctgrad::multiply(momentum, velocity), gradient);
  static constexpr auto param_next = ctgrad::subtract(param, ctgrad::multiply(learning_rate, velocity_next));
};

}  // namespace mlp_model
