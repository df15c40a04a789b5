// Rewrites preserve values, arithmetic part: each simplification the constructors of + - * /,
// negation, the powers and stop_gradient perform, checked twice: a static_assert that it fires
// (the simplified type is the rewritten form), and the values of the simplified expression
// against the unsimplified one on random inputs (support/rewrite_check.hpp).
#include <catch2/catch.hpp>

#include <type_traits>

#include "support/rewrite_check.hpp"

namespace {
using namespace ctgrad_test::rewrites;
namespace cg = ctgrad;
constexpr auto c0 = cg::constant<0>;
constexpr auto c1 = cg::constant<1>;
constexpr auto cm1 = cg::constant<-1>;

template <class A, class B>
constexpr bool same(A, B) {
  return std::is_same_v<A, B>;
}
}  // namespace

TEST_CASE("additive identities: x + 0, 0 + x, x - 0, 0 - x", "[rewrites]") {
  static_assert(same(x + c0, x));
  static_assert(same(c0 + x, x));
  static_assert(same(x - c0, x));
  static_assert(same(c0 - x, -x));
  static_assert(same(cg::zeros_like(x) + y, y));
  check_same_values((x + c0) * y, (ux + c0) * uy, "x + 0");
  check_same_values((c0 + x) * y, (c0 + ux) * uy, "0 + x");
  check_same_values((x - c0) * y, (ux - c0) * uy, "x - 0");
  check_same_values((c0 - x) * y, (c0 - ux) * uy, "0 - x");
  check_same_values(cg::zeros_like(x) + y, cg::zeros_like(ux) + uy, "zeros_like(x) + y");
}

TEST_CASE("signs: --x, x - (-y), a + (-b), (-a) + b", "[rewrites]") {
  static_assert(same(-(-x), x));
  static_assert(same(x - (-y), x + y));
  static_assert(same(x + (-y), x - y));
  static_assert(same((-x) + y, y - x));
  check_same_values(-(-x) * y, -(-ux) * uy, "--x");
  check_same_values(x - (-y), ux - (-uy), "x - (-y)");
  check_same_values(x + (-y), ux + (-uy), "x + (-y)");
  check_same_values((-x) + y, (-ux) + uy, "(-x) + y");
  check_same_values(x - (-b), ux - (-ub), "x - (-b), broadcast");
}

TEST_CASE("products: x * 1, 1 * x, x * (-1), (-x) * (-y), x * (-y), (-x) * y, constants to the left", "[rewrites]") {
  static_assert(same(x * c1, x));
  static_assert(same(c1 * x, x));
  static_assert(same(x * cm1, -x));
  static_assert(same(cm1 * x, -x));
  static_assert(same((-x) * (-y), x * y));
  static_assert(same(x * (-y), -(x * y)));
  static_assert(same((-x) * y, -(x * y)));
  static_assert(same(x * cg::constant<3>, cg::constant<3> * x));
  static_assert(same(cg::constant<2> * (cg::constant<3> * x), cg::constant<6> * x));
  static_assert(same(-(cg::constant<3> * x), cg::constant<-3> * x));
  check_same_values(x * c1 + y, ux * c1 + uy, "x * 1");
  check_same_values(c1 * x + y, c1 * ux + uy, "1 * x");
  check_same_values(x * cm1 + y, ux * cm1 + uy, "x * (-1)");
  check_same_values(cm1 * x + y, cm1 * ux + uy, "(-1) * x");
  check_same_values((-x) * (-y), (-ux) * (-uy), "(-x) * (-y)");
  check_same_values(x * (-y), ux * (-uy), "x * (-y)");
  check_same_values((-x) * y, (-ux) * uy, "(-x) * y");
  check_same_values(x * cg::constant<3>, ux * cg::constant<3>, "x * 3");
  check_same_values(cg::constant<2> * (cg::constant<3> * x), cg::constant<2> * (cg::constant<3> * ux), "2 * (3 * x)");
  check_same_values(cg::constant<-1, 2> * (cg::constant<3, 7> * x), cg::constant<-1, 2> * (cg::constant<3, 7> * ux),
                    "-1/2 * (3/7 * x)");
  check_same_values(-(cg::constant<3> * x), -(cg::constant<3> * ux), "-(3 * x)");
}

TEST_CASE("quotients: x / c, (-x) / (-y), (-x) / y", "[rewrites]") {
  static_assert(same(x / cg::constant<4>, cg::constant<1, 4> * x));
  static_assert(same(x / cg::constant<-2, 3>, cg::constant<-3, 2> * x));
  static_assert(same((-x) / (-y), x / y));
  static_assert(same((-x) / y, -(x / y)));
  check_same_values(x / cg::constant<4>, ux / cg::constant<4>, "x / 4");
  check_same_values(x / cg::constant<-2, 3>, ux / cg::constant<-2, 3>, "x / (-2/3)");
  check_same_values(x / cg::constant<3>, ux / cg::constant<3>, "x / 3 (1/3 is rounded)");
  check_same_values((-x) / (-y), (-ux) / (-uy), "(-x) / (-y)");
  check_same_values((-x) / y, (-ux) / uy, "(-x) / y");
}

TEST_CASE("constants are folded exactly", "[rewrites]") {
  static_assert(same(cg::constant<2> + cg::constant<3>, cg::constant<5>));
  static_assert(same(cg::constant<2> - cg::constant<3>, cg::constant<-1>));
  static_assert(same(cg::constant<2> * cg::constant<3, 4>, cg::constant<3, 2>));
  static_assert(same(cg::constant<1> / cg::constant<3>, cg::constant<1, 3>));
  static_assert(same(-cg::constant<5, 2>, cg::constant<-5, 2>));
  using raw_sum = cg::node<cg::add_op, cg::constant_node<cg::rational{2}>, cg::constant_node<cg::rational{3}>>;
  using raw_difference = cg::node<cg::sub_op, cg::constant_node<cg::rational{2}>, cg::constant_node<cg::rational{3}>>;
  using raw_product = cg::node<cg::mul_op, cg::constant_node<cg::rational{2}>, cg::constant_node<cg::rational{3, 4}>>;
  using raw_quotient = cg::node<cg::div_op, cg::constant_node<cg::rational{1}>, cg::constant_node<cg::rational{3}>>;
  using raw_negation = cg::node<cg::neg_op, cg::constant_node<cg::rational{5, 2}>>;
  check_same_values(x * (cg::constant<2> + cg::constant<3>), ux * raw_sum{}, "2 + 3");
  check_same_values(x * (cg::constant<2> - cg::constant<3>), ux * raw_difference{}, "2 - 3");
  check_same_values(x * (cg::constant<2> * cg::constant<3, 4>), ux * raw_product{}, "2 * 3/4");
  check_same_values(x * (cg::constant<1> / cg::constant<3>), ux * raw_quotient{}, "1 / 3");
  check_same_values(x * (-cg::constant<5, 2>), ux * raw_negation{}, "-(5/2)");
}

TEST_CASE("constant factors move out of products, quotients and broadcasts, and fold", "[rewrites]") {
  constexpr auto c2 = cg::constant<2>;
  constexpr auto c3 = cg::constant<3>;
  constexpr auto half = cg::constant<-1, 2>;
  static_assert(same((c2 * x) * y, c2 * (x * y)));
  static_assert(same(x * (c2 * y), c2 * (x * y)));
  static_assert(same((c2 * x) * (c3 * y), cg::constant<6> * (x * y)));
  static_assert(same((c2 * x) / y, c2 * (x / y)));
  static_assert(same(x / (c2 * y), cg::constant<1, 2> * (x / y)));
  static_assert(same((c2 * x) / (c2 * y), x / y));
  static_assert(same(cg::broadcast_like(c2 * b, x), c2 * cg::broadcast_like(b, x)));
  // the rsqrt rule's -1/2 meets the square's 2 (RMSNorm's gradient): -(...)
  static_assert(same(cg::broadcast_like(half * (b / s), x) * (c2 * x), -(cg::broadcast_like(b / s, x) * x)));
  check_same_values((c2 * x) * y, (c2 * ux) * uy, "(2x) y");
  check_same_values(x * (c2 * y), ux * (c2 * uy), "x (2y)");
  check_same_values((c2 * x) * (c3 * y), (c2 * ux) * (c3 * uy), "(2x)(3y)");
  check_same_values((c2 * x) / y, (c2 * ux) / uy, "(2x) / y");
  check_same_values(x / (c2 * y), ux / (c2 * uy), "x / (2y)");
  check_same_values(cg::broadcast_like(c2 * b, x), cg::broadcast_like(c2 * ub, ux), "broadcast_like(2b, x)");
  check_same_values(cg::broadcast_like(half * (b / s), x) * (c2 * x), cg::broadcast_like(half * (ub / us), ux) * (c2 * ux),
                    "broadcast_like(-1/2 (b / s), x) (2x)");
}

TEST_CASE("powers: pow<0> is ones_like, pow<1> is x, pow<2> is square", "[rewrites]") {
  static_assert(same(cg::pow<0>(x), cg::ones_like(x)));
  static_assert(same(cg::pow<1>(x), x));
  static_assert(same(cg::pow<2>(x), cg::square(x)));
  // the raw forms keep pow_op<N> itself, whose apply is the general loop
  check_same_values(cg::pow<0>(x) + y, cg::make_node<cg::pow_op<0>>(ux) + uy, "pow<0>");
  check_same_values(cg::pow<1>(x) * y, cg::make_node<cg::pow_op<1>>(ux) * uy, "pow<1>");
  check_same_values(cg::pow<2>(x), cg::make_node<cg::pow_op<2>>(ux), "pow<2>");
}

TEST_CASE("stop_gradient of a constant or of a stopped value", "[rewrites]") {
  static_assert(same(cg::stop_gradient(cg::constant<3>), cg::constant<3>));
  static_assert(same(cg::stop_gradient(cg::stop_gradient(x)), cg::stop_gradient(x)));
  check_same_values(cg::stop_gradient(cg::stop_gradient(x)) * y, cg::stop_gradient(cg::stop_gradient(ux)) * uy, "sg(sg(x))");
}
