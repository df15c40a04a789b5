// Binding a rank-1 input to a rank-2 view must not compile; the error names the input.
#include <ctgrad.hpp>

int main() {
  auto gamma = ctgrad::input<"gamma", 1>;
  std::vector<double> gs(6, 1.0);
  (void)ctgrad::bind(gamma, ctgrad::view<const double, 2>(gs.data(), {3, 2}));
}
