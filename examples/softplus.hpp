#pragma once
// softplus(x) = log(1 + exp(x)) as a user-defined ctgrad primitive, in the user's own header.
// One struct says how to evaluate an element, its local derivative rule and its printed name;
// ctgrad differentiates, simplifies, evaluates and prints through it like through its own ops.
//
//   auto y = softplus(ctgrad::input<"x", 1>);
#include <cmath>
#include <string>

#include <ctgrad.hpp>

struct softplus_op : ctgrad::elementwise_base {  // elementwise, shapes broadcast as usual
  static constexpr ctgrad::notation kind = ctgrad::notation::call;
  static constexpr int prec = ctgrad::precedence::atom;
  template <class...>
  static std::string symbol() { return "softplus"; }

  // evaluation of one element (stable for large |x|)
  template <class T>
  static T apply(T a) {
    return a > 0 ? a + std::log1p(std::exp(-a)) : std::log1p(std::exp(a));
  }

  // local rule: d softplus(a) = sigmoid(a) da, written with ctgrad's own operations
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A a) {
    return g / (ctgrad::constant<1> + ctgrad::exp(-a));
  }
};

template <ctgrad::Expression A>
constexpr auto softplus(A a) { return ctgrad::make_node<softplus_op>(a); }
