// The README's code example.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <ctgrad.hpp>

int main() {
  constexpr auto x = ctgrad::input<"x", 2>;            // a named m x n input; values come later
  constexpr auto dy = ctgrad::input<"dy", 2>;          // the upstream gradient
  constexpr auto y = (x - ctgrad::mean<0>(x)) * ctgrad::tanh(x);

  // The gradient is derived at compile time as another expression type.
  constexpr auto dx = ctgrad::get<0>(ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x)));
  fmt::print("y  = {}\ndx = {}\n", y, dx);

  // Evaluate forward and gradient together on caller-owned memory.
  std::vector<double> xs{1, 2, 3, 4, 5, 6}, ones(6, 1.0);
  const auto [yv, dxv] = ctgrad::evaluate(ctgrad::exprs(y, dx),
                                          ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {3, 2})),
                                          ctgrad::bind(dy, ctgrad::view<const double, 2>(ones.data(), {3, 2})));
  fmt::print("y  = {::.4f}\ndx = {::.4f}\n", yv.values, dxv.values);
}
