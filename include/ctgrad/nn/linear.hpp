#pragma once
// ctgrad/nn/linear.hpp: the linear (fully connected) layer.
//
//   auto x = ctgrad::input<"x", 2>;                   // m x k: a batch of m rows
//   auto W = ctgrad::input<"W", 2>;                   // k x n
//   auto b = ctgrad::input<"b", 1>;                   // n
//   auto y = ctgrad::nn::linear(x, W, b);             // m x n: matmul(x, W) + b
//
// Built from primitives: the product is a contraction (expr/contraction.hpp), evaluated by
// GEMM when the program links ctgrad::blas; the bias is broadcast along the rows and added in
// the loop that reads the product. Its gradients are derived: dx = dy W^T and dW = x^T dy are
// contractions (transposes as BLAS flags), db the column sums of dy. W is k x n (inputs by
// outputs), as in JAX/Flax; PyTorch's nn.Linear stores its transpose (n x k): pass
// ctgrad::transpose(W) for that layout, which costs no copy.
#include "ctgrad/expr/contraction.hpp"

namespace ctgrad::nn {

/// `matmul(x, W) + b`: x (..., k), W (k, n), b (n).
template <Expression X, Expression W, Expression B>
constexpr auto linear(X x, W w, B b) {
  static_assert(X::shape.rank >= 1, "ctgrad::nn::linear(x, W, b): x needs rank 1 or more (its last axis has the k inputs)");
  static_assert(W::shape.rank == 2, "ctgrad::nn::linear(x, W, b): W must have rank 2 (k inputs by n outputs)");
  static_assert(B::shape.rank <= 1, "ctgrad::nn::linear(x, W, b): b must have rank 1 (n) or 0");
  return ctgrad::add(ctgrad::matmul(x, w), b);
}

/// `matmul(x, W)`: the layer without a bias.
template <Expression X, Expression W>
constexpr auto linear(X x, W w) {
  static_assert(W::shape.rank == 2, "ctgrad::nn::linear(x, W): W must have rank 2 (k inputs by n outputs)");
  return ctgrad::matmul(x, w);
}

}  // namespace ctgrad::nn
