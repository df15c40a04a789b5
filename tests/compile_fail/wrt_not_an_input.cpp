// Differentiating with respect to an expression that is not an input must not compile.
#include <ctgrad.hpp>

int main() {
  auto x = ctgrad::input<"x", 1>;
  auto dy = ctgrad::input<"dy", 1>;
  auto h = ctgrad::exp(x);
  (void)ctgrad::vjp(ctgrad::outputs(h * h), ctgrad::seeds(dy), ctgrad::wrt(h));
}
