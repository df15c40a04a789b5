// Reducing over an axis an expression does not have (axis 2 of a rank-2 x) must not compile.
#include <ctgrad.hpp>

int main() {
  auto x = ctgrad::input<"x", 2>;
  (void)ctgrad::mean<2>(x);
}
