// Comparing expressions whose broadcast patterns differ (a 1 x n mean against an m x n matrix)
// must not compile: they cannot have the same values element by element.
#include <ctgrad.hpp>
#include <ctgrad/check/equivalence.hpp>

int main() {
  auto x = ctgrad::input<"x", 2>;
  (void)ctgrad::check_equivalence(ctgrad::mean<0>(x), x);
}
