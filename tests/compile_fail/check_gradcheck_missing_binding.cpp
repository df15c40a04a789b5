// gradcheck of an expression with an input left unbound must not compile; the error spells the
// input's name ("bias").
#include <vector>

#include <ctgrad.hpp>
#include <ctgrad/check/gradcheck.hpp>

int main() {
  auto x = ctgrad::input<"x", 2>;
  auto bias = ctgrad::input<"bias", 1>;
  std::vector<double> xs(6, 1.0);
  (void)ctgrad::gradcheck(ctgrad::tanh(x) + bias, ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {3, 2})));
}
