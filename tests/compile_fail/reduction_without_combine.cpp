// A reduction without `identity` and `combine` is rejected at make_node, naming the members;
// the error's context spells the operation (product_op).
#include <string>

#include <ctgrad.hpp>

struct product_op : ctgrad::reduction_op {
  template <class A>
  static constexpr ctgrad::static_shape result_shape() { return {A::shape.rank, A::shape.unit_mask | 1U}; }
  template <class...>
  static std::string symbol() { return "prod<0>"; }
};

int main() {
  constexpr auto x = ctgrad::input<"x", 2>;
  constexpr auto y = ctgrad::make_node<product_op>(x);
  (void)y;
}
