// gradcheck with respect to an intermediate expression (not an input) must not compile.
#include <vector>

#include <ctgrad.hpp>
#include <ctgrad/check/gradcheck.hpp>

int main() {
  auto x = ctgrad::input<"x", 1>;
  auto h = ctgrad::exp(x);
  std::vector<double> xs(3, 1.0);
  (void)ctgrad::gradcheck(h * h, ctgrad::wrt(h), ctgrad::bind(x, ctgrad::view<const double, 1>(xs.data(), {3})));
}
