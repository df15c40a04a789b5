// Comparing a rank-1 expression with a rank-2 one must not compile.
#include <ctgrad.hpp>
#include <ctgrad/check/equivalence.hpp>

int main() {
  auto x = ctgrad::input<"x", 2>;
  auto g = ctgrad::input<"g", 1>;
  (void)ctgrad::check_equivalence(ctgrad::exprs(x, g), ctgrad::exprs(x, x));
}
