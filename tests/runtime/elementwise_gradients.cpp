// Every elementwise primitive's derived gradient against central finite differences in double.
#include <catch2/catch.hpp>

#include "support/gradcheck_wrt.hpp"

namespace {
auto a = ctgrad::input<"a", 2>;
auto b = ctgrad::input<"b", 2>;
const std::array<std::size_t, 2> ext{3, 4};
const auto av = ctgrad_test::random_vector(12, 21, 0.5, 2.0);  // positive: sqrt, log, rsqrt
const auto bv = ctgrad_test::random_vector(12, 22, 0.5, 2.0);
auto bind_b = [] { return ctgrad::bind(b, ctgrad::view<const double, 2>(bv.data(), ext)); };

template <class E>
void check_both(E e, const char* what) {
  INFO(what);
  CHECK_THAT(ctgrad_test::gradcheck_wrt(e, a, av, ext, 1e-6, bind_b()), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(e, b, bv, ext, 1e-6, ctgrad::bind(a, ctgrad::view<const double, 2>(av.data(), ext))), ctgrad::matchers::passes_gradcheck());
}
template <class E>
void check_unary(E e, const char* what) {
  INFO(what);
  CHECK_THAT(ctgrad_test::gradcheck_wrt(e, a, av, ext, 1e-6), ctgrad::matchers::passes_gradcheck());
}
}  // namespace

TEST_CASE("binary arithmetic primitives match finite differences", "[gradients]") {
  check_both(a + b, "a + b");
  check_both(a - b, "a - b");
  check_both(a * b, "a * b");
  check_both(a / b, "a / b");
}

TEST_CASE("unary primitives match finite differences", "[gradients]") {
  check_unary(-a, "-a");
  check_unary(ctgrad::square(a), "square");
  check_unary(ctgrad::sqrt(a), "sqrt");
  check_unary(ctgrad::rsqrt(a), "rsqrt");
  check_unary(ctgrad::exp(a), "exp");
  check_unary(ctgrad::log(a), "log");
  check_unary(ctgrad::tanh(a), "tanh");
  check_unary(ctgrad::pow<3>(a), "pow<3>");
  check_unary(ctgrad::pow<-2>(a), "pow<-2>");
}

TEST_CASE("constants and compositions match finite differences", "[gradients]") {
  check_unary(ctgrad::constant<3> * a - ctgrad::constant<1, 2>, "3a - 1/2");
  check_unary(a / ctgrad::constant<4>, "a / 4");
  check_unary(ctgrad::exp(ctgrad::tanh(a) * a) / ctgrad::sqrt(a), "exp(tanh(a) a) / sqrt(a)");
  check_both(ctgrad::log(a * b + ctgrad::square(b)) * ctgrad::rsqrt(a), "log(ab + b^2) rsqrt(a)");
}
