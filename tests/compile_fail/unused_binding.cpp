// A binding whose name no evaluated expression uses (misspelled or left over) must not compile;
// the error spells the binding's name ("beta") and the inputs the expressions do use.
#include <vector>

#include <ctgrad.hpp>

int main() {
  auto x = ctgrad::input<"x", 2>;
  auto gamma = ctgrad::input<"gamma", 1>;
  auto beta = ctgrad::input<"beta", 1>;
  std::vector<double> xs(6, 1.0), gs(2, 1.0), bs(2, 0.0);
  (void)ctgrad::evaluate(x * gamma, ctgrad::bind(x, xs, {3, 2}), ctgrad::bind(gamma, gs, {2}), ctgrad::bind(beta, bs, {2}));
}
