// An operation lacking a required member is rejected at make_node with one sentence naming the
// member; the error's context spells the operation (no_symbol_op).
#include <string>

#include <ctgrad.hpp>

struct no_symbol_op : ctgrad::elementwise_base {
  template <class T>
  static T apply(T a) { return a + a; }
};

int main() {
  constexpr auto x = ctgrad::input<"x", 1>;
  constexpr auto y = ctgrad::make_node<no_symbol_op>(x);
  (void)y;
}
