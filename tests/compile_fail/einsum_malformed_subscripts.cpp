// einsum's subscripts are letters, ',' and "->": another character is rejected at compile time
// with a sentence, and the subscripts are spelled in the error's context.
#include <ctgrad.hpp>

int main() {
  constexpr auto a = ctgrad::input<"a", 2>;
  constexpr auto b = ctgrad::input<"b", 2>;
  constexpr auto bad = ctgrad::einsum<"ik,k$->ij">(a, b);
  (void)bad;
}
