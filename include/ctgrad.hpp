#pragma once
// ctgrad: differentiable computations as C++ types.
//
//   #include <ctgrad.hpp>
//   auto x = ctgrad::input<"x", 2>;
//   auto y = ctgrad::variance<0>(x);
//   auto [dx] = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(ctgrad::input<"dy", 2>), ctgrad::wrt(x));
#include "ctgrad/core/fixed_string.hpp"
#include "ctgrad/core/rational.hpp"
#include "ctgrad/core/shape.hpp"
#include "ctgrad/diff/jvp.hpp"
#include "ctgrad/diff/vjp.hpp"
#include "ctgrad/eval/evaluate.hpp"
#include "ctgrad/expr/arithmetic.hpp"
#include "ctgrad/expr/contraction.hpp"
#include "ctgrad/expr/elementwise.hpp"
#include "ctgrad/expr/extremum.hpp"
#include "ctgrad/expr/node.hpp"
#include "ctgrad/expr/operation.hpp"
#include "ctgrad/expr/piecewise.hpp"
#include "ctgrad/expr/reduction.hpp"
#include "ctgrad/expr/reshape.hpp"
#include "ctgrad/expr/softmax.hpp"
#include "ctgrad/expr/statistics.hpp"
#include "ctgrad/expr/stop_gradient.hpp"
#include "ctgrad/graph/render.hpp"
#include "ctgrad/graph/topo.hpp"
#include "ctgrad/nn/batch_norm.hpp"
#include "ctgrad/nn/layer_norm.hpp"
#include "ctgrad/nn/linear.hpp"
#include "ctgrad/nn/losses.hpp"
#include "ctgrad/nn/normalize.hpp"
#include "ctgrad/nn/running_stats.hpp"
