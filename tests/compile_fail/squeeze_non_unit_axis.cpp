// squeeze<Axes...>(e) drops axes of static extent 1 only: an axis of an input has a run-time
// extent, so squeezing it is rejected at compile time (there is no run-time check to fail).
#include <ctgrad.hpp>

int main() {
  constexpr auto x = ctgrad::input<"x", 2>;
  constexpr auto bad = ctgrad::squeeze<0>(x);
  (void)bad;
}
