// With ctgrad::unused_wrt::error, a wrt input no output depends on must not compile; the error
// spells its name ("beta"). (Without the option its gradient is zeros_like(beta).)
#include <ctgrad.hpp>

int main() {
  auto x = ctgrad::input<"x", 2>;
  auto beta = ctgrad::input<"beta", 1>;
  auto dy = ctgrad::input<"dy", 2>;
  (void)ctgrad::vjp(ctgrad::outputs(ctgrad::exp(x)), ctgrad::seeds(dy), ctgrad::wrt(x, beta), ctgrad::unused_wrt::error);
}
