#pragma once
// softsign(x) = x / (1 + |x|) as a user-defined ctgrad primitive, in the user's own header.
// One struct says how to evaluate an element, its local derivative rule and its printed name;
// ctgrad differentiates, simplifies, evaluates and prints through it like through its own ops.
// What an operation must and may say: include/ctgrad/expr/operation.hpp (and the README).
//
//   auto y = softsign(ctgrad::input<"x", 1>);
#include <cmath>
#include <string>

#include <ctgrad.hpp>

struct softsign_op : ctgrad::elementwise_base {  // elementwise, shapes broadcast as usual
  template <class...>
  static std::string symbol() { return "softsign"; }  // printed as softsign(x)
  static constexpr int cost = 4;                      // per element, for the planner (an add is 1)

  // evaluation of one element
  template <class T>
  static T apply(T a) {
    return a / (T(1) + std::abs(a));
  }

  // local rule: d softsign(a) = da / (1 + |a|)^2, written with ctgrad's own operations
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A a) {
    return g * ctgrad::pow<-2>(ctgrad::constant<1> + ctgrad::abs(a));
  }
};

template <ctgrad::Expression A>
constexpr auto softsign(A a) { return ctgrad::make_node<softsign_op>(a); }
