// ctgrad::gradcheck and ctgrad::check_equivalence, and their Catch2 matchers: they pass on
// correct derivations and fail, naming the element, on deliberately wrong ones.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include <ctgrad.hpp>
#include <ctgrad/check/catch2.hpp>
#include <ctgrad/check/equivalence.hpp>
#include <ctgrad/check/gradcheck.hpp>

#include "support/numeric.hpp"

namespace {

/// square with a wrong local rule: d(a^2) = 2a da + a^2 (a - 1) da. The extra term vanishes
/// exactly at a = 0 and a = 1, so on data made of 0s and 1s only the other elements fail.
struct wrong_square_op : ctgrad::elementwise_base {
  static constexpr ctgrad::notation kind = ctgrad::notation::call;
  static constexpr int prec = ctgrad::precedence::atom;
  template <class...>
  static std::string symbol() { return "wrong_square"; }
  template <class T>
  static T apply(T a) { return a * a; }
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A a) {
    return g * (ctgrad::constant<2> * a + ctgrad::square(a) * (a - ctgrad::constant<1>));
  }
};
template <ctgrad::Expression A>
constexpr auto wrong_square(A a) { return ctgrad::make_node<wrong_square_op>(a); }

constexpr auto x = ctgrad::input<"x", 2>;
constexpr auto b = ctgrad::input<"b", 1>;
constexpr auto eps = ctgrad::input<"eps", 0>;

}  // namespace

TEST_CASE("gradcheck passes derived gradients of compositions over every input", "[check]") {
  const auto xs = ctgrad_test::random_vector(12, 1, 0.5, 2.0);
  const auto bs = ctgrad_test::random_vector(4, 2, 0.5, 2.0);
  auto e = ctgrad::log(x * b + eps) * ctgrad::tanh(x) - ctgrad::mean<0>(ctgrad::sqrt(x)) / b;
  const auto r = ctgrad::gradcheck(e, ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {3, 4})),
                                   ctgrad::bind(b, ctgrad::view<const double, 1>(bs.data(), {4})),
                                   ctgrad::bind(eps, 0.25));
  CHECK_THAT(r, ctgrad::matchers::passes_gradcheck());
  REQUIRE(r.inputs.size() == 3);  // x, b and eps, each compared element by element
  std::size_t elements = 0;
  for (const auto& s : r.inputs) elements += s.elements;
  CHECK(elements == 12 + 4 + 1);
  CHECK(r.failures.empty());
}

TEST_CASE("gradcheck checks only the chosen inputs, and reads float bindings in double", "[check]") {
  const auto xs = ctgrad_test::random_vector<float>(6, 3, -1.0, 1.0);
  const auto r = ctgrad::gradcheck(ctgrad::exp(x) * eps, ctgrad::wrt(x), {.abs_tol = 1e-7, .rel_tol = 1e-6},
                                   ctgrad::bind(x, ctgrad::view<const float, 2>(xs.data(), {2, 3})),
                                   ctgrad::bind(eps, 1.5f));
  CHECK_THAT(r, ctgrad::matchers::passes_gradcheck());
  REQUIRE(r.inputs.size() == 1);
  CHECK(r.inputs[0].input == "x");
  CHECK(r.inputs[0].extents == std::vector<std::size_t>{2, 3});
}

TEST_CASE("gradcheck fails a wrong local rule and names the input, element and values", "[check]") {
  // Only element [1, 2] is neither 0 nor 1, so only there is the wrong rule wrong.
  std::vector<double> xs{0, 1, 1, 0, 1, 0.5};
  const auto r = ctgrad::gradcheck(wrong_square(x), ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {2, 3})));
  CHECK_THAT(r, !ctgrad::matchers::passes_gradcheck());
  CHECK_FALSE(static_cast<bool>(r));
  REQUIRE(r.failures.size() == 1);
  const auto& f = r.failures[0];
  CHECK(f.input == "x");
  CHECK(f.index == std::vector<std::size_t>{1, 2});
  // The probed scalar is sum(w * e) with an unknown weight w > 0 at this element; the wrong rule
  // gives w (2a + a^2 (a - 1)) and the truth is w 2a, so their ratio is known independently.
  const double a = 0.5;
  CHECK(f.derived / f.numeric == Approx((2 * a + a * a * (a - 1)) / (2 * a)).epsilon(1e-6));
  CHECK(f.abs_error == Approx(std::abs(f.derived - f.numeric)));
  const std::string text = fmt::format("{}", r);
  CHECK(text.find("FAILED") != std::string::npos);
  CHECK(text.find("x[1, 2]") != std::string::npos);
  CHECK(text.find(fmt::format("{}", f.derived)) != std::string::npos);
  CHECK(text.find(fmt::format("{}", f.numeric)) != std::string::npos);
}

TEST_CASE("gradcheck's tolerances decide: a tiny error passes a loose check only", "[check]") {
  // d(a^2) + a^2 (a - 1) at a = 1 + 1e-6 is off by about 1e-12 relative to 2a w.
  std::vector<double> xs{1 + 1e-6};
  constexpr auto v = ctgrad::input<"v", 1>;
  const auto bound = ctgrad::bind(v, ctgrad::view<const double, 1>(xs.data(), {1}));
  CHECK(ctgrad::gradcheck(wrong_square(v), {.abs_tol = 1e-4, .rel_tol = 1e-4}, bound).passed);
  CHECK_FALSE(ctgrad::gradcheck(wrong_square(v), {.abs_tol = 0, .rel_tol = 1e-14}, bound).passed);
}

TEST_CASE("check_equivalence holds for identities and finds the worst case of a false one", "[check]") {
  const auto same = ctgrad::check_equivalence(ctgrad::square(x - b), x * x - ctgrad::constant<2> * x * b + b * b,
                                              {.trials = 30});
  CHECK_THAT(same, ctgrad::matchers::is_equivalent());
  CHECK(same.shapes_tried.size() == 30);
  CHECK(same.elements > 30);

  // exp(x) and 1 + x + x^2/2 differ by about x^3/6: largest where |x| is largest.
  const auto taylor = ctgrad::check_equivalence(ctgrad::exp(x), ctgrad::constant<1> + x + ctgrad::square(x) / ctgrad::constant<2>,
                                                {.trials = 10, .shapes = {{2, 3}, {4, 1}}, .low = -1, .high = 1});
  CHECK_THAT(taylor, !ctgrad::matchers::is_equivalent());
  const auto& w = taylor.worst;
  CHECK(w.shape.size() == 2);
  CHECK(w.abs_error == Approx(std::abs(w.lhs - w.rhs)));
  // Independent: recover x from the rhs value (1 + x + x^2/2 = rhs) and recompute both sides.
  const double xv = std::abs(w.lhs) > 0 ? std::log(w.lhs) : 0;
  CHECK(1 + xv + xv * xv / 2 == Approx(w.rhs).epsilon(1e-9));
  CHECK(w.abs_error <= std::exp(1.0) - 2.5 + 1e-12);  // |x| <= 1 bounds the error by e - 5/2
  CHECK(fmt::format("{}", taylor).find("FAILS") != std::string::npos);
}

TEST_CASE("check_equivalence compares lists of expressions and honours value ranges", "[check]") {
  constexpr auto dy = ctgrad::input<"dy", 2>;
  const auto derived = ctgrad::vjp(ctgrad::outputs(ctgrad::log(x) * b), ctgrad::seeds(dy), ctgrad::wrt(x, b));
  const auto hand = ctgrad::exprs(dy * b / x, ctgrad::sum<0>(dy * ctgrad::log(x)));
  // dx needs x > 0 for log; the hand-written db keeps axis 0 as a unit axis, so it is reshaped.
  const auto hand_fixed = ctgrad::exprs(ctgrad::get<0>(hand), ctgrad::reduce_to<ctgrad::static_shape{1, 0}>(ctgrad::get<1>(hand)));
  const auto r = ctgrad::check_equivalence(derived, hand_fixed, {.trials = 25, .ranges = {{"x", 0.1, 3.0}}});
  CHECK_THAT(r, ctgrad::matchers::is_equivalent());
  const auto wrong = ctgrad::check_equivalence(derived, ctgrad::exprs(dy * b * x, ctgrad::get<1>(hand_fixed)),
                                               {.trials = 5, .ranges = {{"x", 0.1, 3.0}}});
  CHECK_FALSE(wrong.passed);
  CHECK(wrong.worst.output == 0);
}
