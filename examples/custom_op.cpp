// A user-defined primitive (softsign, defined in examples/softsign.hpp without touching
// ctgrad's headers) differentiated by ctgrad; the derived gradient, and its forward-mode twin,
// are checked here against central finite differences by ctgrad::gradcheck.
#include <vector>

#include <fmt/core.h>

#include <ctgrad.hpp>
#include <ctgrad/check/gradcheck.hpp>

#include "softsign.hpp"

int main() {
  constexpr auto x = ctgrad::input<"x", 1>;
  constexpr auto loss = ctgrad::sum<0>(softsign(x) * x);
  constexpr auto dx = ctgrad::get<0>(ctgrad::grad(loss, ctgrad::wrt(x)));
  fmt::print("loss = {}\ndloss/dx = {}\n", loss, dx);

  const std::vector<double> xs{-30.0, -2.0, -0.5, 0.3, 0.7, 3.0, 25.0};
  const auto bx = ctgrad::bind(x, ctgrad::view<const double, 1>(xs.data(), {xs.size()}));
  const auto derived = ctgrad::evaluate(dx, bx);
  for (std::size_t i = 0; i < xs.size(); ++i) fmt::print("x = {:6.2f}  dloss/dx = {:.10f}\n", xs[i], derived.values[i]);

  const auto report = ctgrad::gradcheck(loss, {.abs_tol = 1e-8, .rel_tol = 1e-6}, bx);
  fmt::print("{}\n", report);
  return report ? 0 : 1;
}
