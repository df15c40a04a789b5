// An elementwise operation without `apply` is rejected at make_node, naming the member; the
// error's context spells the operation (no_apply_op).
#include <string>

#include <ctgrad.hpp>

struct no_apply_op : ctgrad::elementwise_base {
  template <class...>
  static std::string symbol() { return "no_apply"; }
};

int main() {
  constexpr auto x = ctgrad::input<"x", 1>;
  constexpr auto y = ctgrad::make_node<no_apply_op>(x, x);
  (void)y;
}
