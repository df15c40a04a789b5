#pragma once
// ctgrad/nn/losses.hpp: losses built from primitives; their gradients are derived.
//
//   auto logits = ctgrad::input<"logits", 2>;     // m samples x k classes
//   auto targets = ctgrad::input<"targets", 2>;   // m x k probability rows (one-hot for labels)
//   auto loss = ctgrad::nn::softmax_cross_entropy(logits, targets);   // rank 0
//   auto [dlogits] = ctgrad::grad(loss, ctgrad::wrt(logits));        // (softmax - targets) / m
//
// Cross-entropy of softmax(logits) against targets, averaged over the rows (the samples), as
// torch.nn.functional.cross_entropy with probability targets and reduction='mean'. It goes
// through log_softmax (expr/softmax.hpp), so it is finite for any finite logits.
#include "ctgrad/expr/reshape.hpp"
#include "ctgrad/expr/softmax.hpp"
#include "ctgrad/expr/statistics.hpp"

namespace ctgrad::nn {

/// The mean over rows of -sum_j targets_ij log softmax(logits)_ij: a rank-0 expression. Rows
/// are samples, axis 1 the classes; targets is a probability row per sample.
template <Expression L, Expression Y>
constexpr auto softmax_cross_entropy(L logits, Y targets) {
  static_assert(L::shape.rank == 2 && L::shape.unit_mask == 0,
                "ctgrad::nn::softmax_cross_entropy: logits must be an m x k matrix (rows are samples)");
  static_assert(Y::shape.rank == 2 && Y::shape.unit_mask == 0,
                "ctgrad::nn::softmax_cross_entropy: targets must be an m x k matrix of probability rows, like logits");
  const auto per_sample = ctgrad::negate(ctgrad::sum<1>(ctgrad::multiply(targets, ctgrad::log_softmax<1>(logits))));
  return ctgrad::squeeze<0, 1>(ctgrad::mean<0>(per_sample));
}

}  // namespace ctgrad::nn
