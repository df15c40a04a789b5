#pragma once
// ctgrad/eval/evaluate.hpp: evaluating any set of expressions together, in one call.
//
//   auto [y, dx] = ctgrad::evaluate(ctgrad::exprs(y_expr, dx_expr),
//                                   ctgrad::bind(x, x_view), ctgrad::bind(dy, dy_view));
//   ctgrad::tensor<double, 2> only_y = ctgrad::evaluate(y_expr, ctgrad::bind(x, x_view));
//
// Each call compiles the evaluation plan of the expressions (eval/plan.hpp: fused loops
// decided at compile time, forward and gradients together so that a gradient reuses the
// forward's statistics) and runs it once. To evaluate repeatedly without allocating, keep the
// plan: `auto p = ctgrad::compile<float>(ctgrad::exprs(...)); p.run(outputs, bindings...);`.
#include <tuple>
#include <type_traits>

#include "ctgrad/eval/plan.hpp"

namespace ctgrad {

namespace detail {
template <class T, class... Bs>
using value_type_for = std::conditional_t<std::is_void_v<T>, typename common_value_type<Bs...>::type, T>;
}  // namespace detail

/// Evaluates a list of expressions (ctgrad::exprs(...), or what vjp returns) together; returns
/// a std::tuple of owned tensors, one per expression.
template <class T = void, class... Es, class... Bs>
auto evaluate(expr_list<Es...> es, Bs... bindings) {
  detail::check_bindings<Bs...>();
  auto p = ctgrad::compile<detail::value_type_for<T, Bs...>>(es);
  return p(bindings...);
}

/// Evaluates one expression; returns an owned tensor.
template <class T = void, Expression E, class... Bs>
auto evaluate(E, Bs... bindings) {
  return std::get<0>(ctgrad::evaluate<T>(expr_list<E>{}, bindings...));
}

/// Evaluates as evaluate() does, with the plan's fused loops interpreted from its tables at run
/// time rather than compiled (ctgrad::plan::interpret): a fraction of the compile time, tens of
/// times the run time. For checks on small inputs.
template <class T = void, class... Es, class... Bs>
auto interpret(expr_list<Es...> es, Bs... bindings) {
  detail::check_bindings<Bs...>();
  auto p = ctgrad::compile<detail::value_type_for<T, Bs...>>(es);
  return p.interpret(bindings...);
}

/// Evaluates into caller-owned buffers: `outs` is a tuple of views, one per expression, whose
/// extents must equal the results'. Every extent is checked before anything is written.
template <class T = void, class... Es, class... Vs, class... Bs>
void evaluate_into(expr_list<Es...> es, std::tuple<Vs...> outs, Bs... bindings) {
  detail::check_bindings<Bs...>();
  auto p = ctgrad::compile<detail::value_type_for<T, Bs...>>(es);
  p.run(outs, bindings...);
}

}  // namespace ctgrad
