// Evaluating an expression without binding one of its inputs must not compile; the error
// names the input ("eps").
#include <ctgrad.hpp>

int main() {
  auto x = ctgrad::input<"x", 2>;
  auto eps = ctgrad::input<"eps", 0>;
  std::vector<double> xs(6, 1.0);
  auto y = x / ctgrad::sqrt(ctgrad::variance<0>(x) + eps);
  (void)ctgrad::evaluate(y, ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {3, 2})));
}
