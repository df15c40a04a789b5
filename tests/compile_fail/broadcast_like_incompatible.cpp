// Broadcasting a rank-2 expression to the shape of a rank-1 one must not compile.
#include <ctgrad.hpp>

int main() {
  auto x = ctgrad::input<"x", 2>;
  auto g = ctgrad::input<"g", 1>;
  auto y = ctgrad::broadcast_like(x, g) * g;
  (void)y;
}
