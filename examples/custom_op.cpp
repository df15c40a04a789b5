// A user-defined primitive (softplus, defined in examples/softplus.hpp without touching
// ctgrad's headers) differentiated by ctgrad; the derived gradient is checked here against
// central finite differences.
#include <cmath>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <ctgrad.hpp>

#include "softplus.hpp"

int main() {
  constexpr auto x = ctgrad::input<"x", 1>;
  constexpr auto loss = ctgrad::sum<0>(softplus(x) * x);
  constexpr auto dx = ctgrad::get<0>(ctgrad::grad(loss, ctgrad::wrt(x)));
  fmt::print("loss = {}\ndloss/dx = {}\n", loss, dx);

  std::vector<double> xs{-30.0, -2.0, -0.5, 0.0, 0.7, 3.0, 25.0};
  auto value = [&] {
    return ctgrad::evaluate(loss, ctgrad::bind(x, ctgrad::view<const double, 1>(xs.data(), {xs.size()}))).values[0];
  };
  const auto derived = ctgrad::evaluate(dx, ctgrad::bind(x, ctgrad::view<const double, 1>(xs.data(), {xs.size()})));

  double worst = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double x0 = xs[i], h = 1e-6 * std::max(1.0, std::abs(x0));
    xs[i] = x0 + h;
    const double up = value();
    xs[i] = x0 - h;
    const double down = value();
    xs[i] = x0;
    const double numeric = (up - down) / (2 * h);
    const double rel = std::abs(derived.values[i] - numeric) / std::max(1.0, std::abs(numeric));
    worst = std::max(worst, rel);
    fmt::print("x = {:6.2f}  derived {:.10f}  finite difference {:.10f}\n", x0, derived.values[i], numeric);
  }
  const bool ok = worst <= 1e-6;
  fmt::print("worst relative error {:.2e}: {}\n", worst, ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
