// gradcheck with an input bound to a view of another rank must not compile; the error spells
// the input's name ("gamma").
#include <vector>

#include <ctgrad.hpp>
#include <ctgrad/check/gradcheck.hpp>

int main() {
  auto x = ctgrad::input<"x", 2>;
  auto gamma = ctgrad::input<"gamma", 1>;
  std::vector<double> xs(6, 1.0);
  (void)ctgrad::gradcheck(x * gamma, ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {3, 2})),
                          ctgrad::bind(gamma, ctgrad::view<const double, 2>(xs.data(), {3, 2})));
}
