// An operand whose rank differs from the number of its letters is rejected at compile time; the
// error's context names the operand (its position and, for an input, its name) and both counts.
#include <ctgrad.hpp>

int main() {
  constexpr auto x = ctgrad::input<"x", 2>;
  constexpr auto W = ctgrad::input<"W", 2>;
  constexpr auto bad = ctgrad::einsum<"bik,kj->bij">(x, W);
  (void)bad;
}
