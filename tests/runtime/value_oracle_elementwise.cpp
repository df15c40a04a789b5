// Value oracle, elementwise part: the forward value of every elementwise primitive (+ - * /,
// negation, square, sqrt, rsqrt, exp, log, tanh, pow<N>, stop_gradient, log1p, expm1, sigmoid,
// softplus, abs, sign, relu, the comparisons, where, maximum, minimum) and of broadcasting,
// in float and double, against <cmath> and plain arithmetic on the same values. Every finite-
// difference test differentiates ctgrad's own forward pass, so only a test like this one shows
// that the forward pass computes the right function.
//
// The arguments are ordinary points and edges (signed zeros, negatives, tiny and huge
// magnitudes, infinities, NaN): each function must give what <cmath> gives there, NaN where it
// propagates or creates one. References are computed in long double and rounded to T; exact
// IEEE operations must match to 0 ulps in float (double rounding through long double is exact
// for them) and 1 in double, transcendental functions to 2 ulps.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <ctgrad.hpp>

#include "support/oracle.hpp"

namespace {

using ld = long double;
constexpr auto a = ctgrad::input<"a", 2>;
constexpr auto b = ctgrad::input<"b", 2>;
constexpr auto v = ctgrad::input<"v", 1>;
constexpr auto s = ctgrad::input<"s", 0>;

/// One expression with its reference in long double, the ulps it may differ by, and its name.
template <class E, class Ref>
struct oracle_case {
  E e;
  Ref ref;
  std::uint64_t ulps;
  const char* what;
};
template <class E, class Ref>
oracle_case(E, Ref, std::uint64_t, const char*) -> oracle_case<E, Ref>;  // Clang 14 deduces no aggregate's arguments

/// got against c's reference at as (unary: bs is null) or at (as, bs) (binary).
template <class T, class R, class C>
void compare(const R& got, const C& c, const std::vector<T>& as, const std::vector<T>* bs) {
  std::vector<T> want(as.size());
  for (std::size_t i = 0; i < as.size(); ++i) {
    if constexpr (std::is_invocable_v<decltype(c.ref), ld, ld>) want[i] = static_cast<T>(c.ref(static_cast<ld>(as[i]), static_cast<ld>((*bs)[i])));
    else want[i] = static_cast<T>(c.ref(static_cast<ld>(as[i])));
  }
  INFO(c.what << " in " << (sizeof(T) == 4 ? "float" : "double"));
  std::string bad = ctgrad_test::first_mismatch(got.values, want, c.ulps, bs ? nullptr : &as);
  if (!bad.empty() && bs) {
    for (std::size_t i = 0; i < as.size(); ++i)
      if (!ctgrad_test::close_ulps(got.values[i], want[i], c.ulps)) {
        bad += " at a = " + std::to_string(as[i]) + ", b = " + std::to_string((*bs)[i]);
        break;
      }
  }
  INFO(bad);
  CHECK(bad.empty());
}

/// Evaluates every unary case (an expression of a) on every edge value (a 4 x 6 tensor), all
/// in one plan (one plan to compile, not one per case), and compares each with its reference.
template <class T, class... Cs>
void check_unary(const Cs&... cs) {
  const std::vector<T> xs = ctgrad_test::edge_values<T>();
  REQUIRE(xs.size() == 24);
  const auto got = ctgrad::evaluate(ctgrad::exprs(cs.e...), ctgrad::bind(a, ctgrad::view<const T, 2>(xs.data(), {4, 6})));
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (compare<T>(std::get<I>(got), cs, xs, nullptr), ...);
  }(std::index_sequence_for<Cs...>{});
}

/// Evaluates every binary case (an expression of a and b) on every pair of edge values, all in
/// one plan, and compares each with its reference.
template <class T, class... Cs>
void check_binary(const Cs&... cs) {
  const std::vector<T> edges = ctgrad_test::edge_values<T>();
  const std::size_t k = edges.size();
  std::vector<T> as(k * k), bs(k * k);
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j) {
      as[i * k + j] = edges[i];
      bs[i * k + j] = edges[j];
    }
  const auto got = ctgrad::evaluate(ctgrad::exprs(cs.e...), ctgrad::allow_unused(ctgrad::bind(a, ctgrad::view<const T, 2>(as.data(), {k, k}))),
                                    ctgrad::allow_unused(ctgrad::bind(b, ctgrad::view<const T, 2>(bs.data(), {k, k}))));
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (compare<T>(std::get<I>(got), cs, as, &bs), ...);
  }(std::index_sequence_for<Cs...>{});
}

// Exact operations: 0 ulps in float (a float result rounded once from long double is the
// correctly rounded one), 1 in double (long double has too few extra bits to make that promise).
template <class T>
constexpr std::uint64_t exact = sizeof(T) == 4 ? 0 : 1;

template <class T>
void unary_functions() {
  check_unary<T>(
    oracle_case{-a, [](ld x) { return -x; }, 0, "-a"},
    oracle_case{ctgrad::negate(a), [](ld x) { return -x; }, 0, "negate(a)"},
    oracle_case{ctgrad::square(a), [](ld x) { return x * x; }, exact<T>, "square"},
    oracle_case{ctgrad::sqrt(a), [](ld x) { return std::sqrt(x); }, exact<T>, "sqrt"},
    oracle_case{ctgrad::rsqrt(a), [](ld x) { return 1.0L / std::sqrt(x); }, 2, "rsqrt"},
    oracle_case{ctgrad::exp(a), [](ld x) { return std::exp(x); }, 2, "exp"},
    oracle_case{ctgrad::log(a), [](ld x) { return std::log(x); }, 2, "log"},
    oracle_case{ctgrad::tanh(a), [](ld x) { return std::tanh(x); }, 2, "tanh"},
    oracle_case{ctgrad::stop_gradient(a), [](ld x) { return x; }, 0, "stop_gradient"});
}

// The smooth functions added with the piecewise ones. Their references are the definitions
// evaluated in long double (log1pl and expm1l for the two whose point is accuracy near 0);
// ctgrad computes float data in double, so a float result is one rounding away, while a
// double result is a few operations away (sigmoid: exp, an addition, a division).
template <class T>
constexpr std::uint64_t few = sizeof(T) == 4 ? 1 : 4;

template <class T>
void smooth_functions() {
  check_unary<T>(
    oracle_case{ctgrad::log1p(a), [](ld x) { return std::log1p(x); }, few<T>, "log1p"},
    oracle_case{ctgrad::expm1(a), [](ld x) { return std::expm1(x); }, few<T>, "expm1"},
    oracle_case{ctgrad::sigmoid(a), [](ld x) { return 1.0L / (1.0L + std::exp(-x)); }, few<T>, "sigmoid"},
    // log(1 + e^x) does not overflow in long double below 11000; above it, it is x to far below
    // an ulp
    oracle_case{ctgrad::softplus(a), [](ld x) { return x > 11000 ? x : std::log1p(std::exp(x)); }, few<T>, "softplus"});
}

// Piecewise functions are exact: 0 ulps (+0 and -0 count as equal; NaN as NaN).
template <class T>
void piecewise_unary() {
  const ld nan = std::numeric_limits<ld>::quiet_NaN();
  check_unary<T>(
    oracle_case{ctgrad::abs(a), [](ld x) { return std::fabs(x); }, 0, "abs"},
    oracle_case{ctgrad::sign(a), [&](ld x) { return std::isnan(x) ? nan : ld((x > 0) - (x < 0)); }, 0, "sign"},
    oracle_case{ctgrad::relu(a), [&](ld x) { return std::isnan(x) ? nan : (x > 0 ? x : 0.0L); }, 0, "relu"},
    oracle_case{ctgrad::relu(-a), [&](ld x) { return std::isnan(x) ? nan : (-x > 0 ? -x : 0.0L); }, 0, "relu(-a)"});
}

template <class T>
void piecewise_binary() {
  const ld nan = std::numeric_limits<ld>::quiet_NaN();
  const auto bracket = [](bool c) { return c ? 1.0L : 0.0L; };
  const auto nan_or = [&](ld x, ld y, ld r) { return std::isnan(x) || std::isnan(y) ? nan : r; };
  check_binary<T>(
    oracle_case{ctgrad::greater(a, b), [&](ld x, ld y) { return bracket(x > y); }, 0, "greater"},
    oracle_case{ctgrad::less(a, b), [&](ld x, ld y) { return bracket(x < y); }, 0, "less"},
    oracle_case{ctgrad::greater_equal(a, b), [&](ld x, ld y) { return bracket(x >= y); }, 0, "greater_equal"},
    oracle_case{ctgrad::less_equal(a, b), [&](ld x, ld y) { return bracket(x <= y); }, 0, "less_equal"},
    oracle_case{ctgrad::equal(a, b), [&](ld x, ld y) { return bracket(x == y); }, 0, "equal"},
    // NaN in either operand gives NaN (std::fmax would return the other operand)
    oracle_case{ctgrad::maximum(a, b), [&](ld x, ld y) { return nan_or(x, y, std::fmax(x, y)); }, 0, "maximum"},
    oracle_case{ctgrad::minimum(a, b), [&](ld x, ld y) { return nan_or(x, y, std::fmin(x, y)); }, 0, "minimum"},
    // where(c, x, y): x where c != 0 (NaN is != 0), else y; the branches are different
    // expressions, so a swap shows
    oracle_case{ctgrad::where(a, b, ctgrad::constant<7>), [](ld x, ld y) { return x != 0 ? y : 7.0L; }, 0, "where(a, b, 7)"},
    oracle_case{ctgrad::where(ctgrad::less(a, b), -a, b * ctgrad::constant<2>),
                    [](ld x, ld y) { return x < y ? -x : 2 * y; }, 0, "where(a < b, -a, 2 b)"});
}

template <class T>
void integer_powers() {
  check_unary<T>(
    // N multiplications (and a division for N < 0), each rounded: |N| + 1 ulps.
    oracle_case{ctgrad::pow<3>(a), [](ld x) { return std::pow(x, 3); }, 4, "pow<3>"},
    oracle_case{ctgrad::pow<4>(a), [](ld x) { return std::pow(x, 4); }, 5, "pow<4>"},
    oracle_case{ctgrad::pow<5>(a), [](ld x) { return std::pow(x, 5); }, 6, "pow<5>"},
    oracle_case{ctgrad::pow<-1>(a), [](ld x) { return 1.0L / x; }, 2, "pow<-1>"},
    oracle_case{ctgrad::pow<-2>(a), [](ld x) { return std::pow(x, -2); }, 4, "pow<-2>"},
    oracle_case{ctgrad::pow<-3>(a), [](ld x) { return std::pow(x, -3); }, 5, "pow<-3>"},
    // the rewritten powers: pow<2> is square, pow<1> is x, pow<0> is ones_like(x) (1 even at NaN,
    // as std::pow(NaN, 0) is)
    oracle_case{ctgrad::pow<2>(a), [](ld x) { return x * x; }, exact<T>, "pow<2>"},
    oracle_case{ctgrad::pow<1>(a), [](ld x) { return x; }, 0, "pow<1>"},
    oracle_case{ctgrad::pow<0>(a), [](ld x) { return std::pow(x, 0); }, 0, "pow<0>"});
}

template <class T>
void binary_arithmetic() {
  check_binary<T>(
    oracle_case{a + b, [](ld x, ld y) { return x + y; }, exact<T>, "a + b"},
    oracle_case{a - b, [](ld x, ld y) { return x - y; }, exact<T>, "a - b"},
    oracle_case{a * b, [](ld x, ld y) { return x * y; }, exact<T>, "a * b"},
    oracle_case{a / b, [](ld x, ld y) { return x / y; }, exact<T>, "a / b"},
    oracle_case{b - a, [](ld x, ld y) { return y - x; }, exact<T>, "b - a"},
    oracle_case{b / a, [](ld x, ld y) { return y / x; }, exact<T>, "b / a"},
    oracle_case{ctgrad::add(a, b), [](ld x, ld y) { return x + y; }, exact<T>, "add(a, b)"},
    oracle_case{ctgrad::subtract(a, b), [](ld x, ld y) { return x - y; }, exact<T>, "subtract(a, b)"},
    oracle_case{ctgrad::multiply(a, b), [](ld x, ld y) { return x * y; }, exact<T>, "multiply(a, b)"},
    oracle_case{ctgrad::divide(a, b), [](ld x, ld y) { return x / y; }, exact<T>, "divide(a, b)"});
}

template <class T>
void constants() {
  check_unary<T>(
    // exact rational constants, converted to T once: 1/2 and 3 are exact, 1/3 is rounded
    oracle_case{a + ctgrad::constant<1, 2>, [](ld x) { return x + 0.5L; }, exact<T>, "a + 1/2"},
    oracle_case{ctgrad::constant<3> * a, [](ld x) { return 3 * x; }, exact<T>, "3 a"},
    oracle_case{a - ctgrad::constant<7>, [](ld x) { return x - 7; }, exact<T>, "a - 7"},
    oracle_case{ctgrad::constant<1, 3> * a, [](ld x) { return static_cast<ld>(T(1) / T(3)) * x; }, 1, "(1/3) a"},
    oracle_case{ctgrad::constant<-5, 4> - a, [](ld x) { return -1.25L - x; }, exact<T>, "-5/4 - a"});
}

}  // namespace

TEMPLATE_TEST_CASE("unary primitives evaluate to <cmath>'s values, edges included", "[oracle][values]", float, double) {
  unary_functions<TestType>();
}

TEMPLATE_TEST_CASE("log1p, expm1, sigmoid and softplus evaluate to their long double definitions, edges included",
                   "[oracle][values]", float, double) {
  smooth_functions<TestType>();
}

TEMPLATE_TEST_CASE("abs, sign and relu evaluate exactly, NaN included", "[oracle][values]", float, double) {
  piecewise_unary<TestType>();
}

TEMPLATE_TEST_CASE("comparisons, where, maximum and minimum on every pair of edge values", "[oracle][values]", float, double) {
  piecewise_binary<TestType>();
}

TEMPLATE_TEST_CASE("integer powers evaluate to std::pow's values", "[oracle][values]", float, double) {
  integer_powers<TestType>();
}

TEMPLATE_TEST_CASE("+ - * / evaluate to IEEE arithmetic on every pair of edge values", "[oracle][values]", float, double) {
  binary_arithmetic<TestType>();
}

TEMPLATE_TEST_CASE("exact constants evaluate to their values", "[oracle][values]", float, double) {
  constants<TestType>();
}

TEMPLATE_TEST_CASE("broadcasting: missing leading axes, unit axes, scalars", "[oracle][values][broadcast]", float, double) {
  using T = TestType;
  const std::size_t m = 3, n = 4;
  const std::vector<T> xs{T(1.5), T(-2), T(0), T(4), T(-0.5), T(8), T(3), T(-6), T(7), T(0.25), T(-1), T(2)};
  const std::vector<T> vn{T(10), T(-20), T(0.5), T(3)};  // length n: a row
  const std::vector<T> vm{T(2), T(-3), T(5)};            // length m: a column
  const auto bind_a = [&] { return ctgrad::bind(a, ctgrad::view<const T, 2>(xs.data(), {m, n})); };
  const auto bind_vn = [&] { return ctgrad::bind(v, ctgrad::view<const T, 1>(vn.data(), {n})); };
  const auto bind_vm = [&] { return ctgrad::bind(v, ctgrad::view<const T, 1>(vm.data(), {m})); };

  SECTION("a vector meets an m x n tensor along its last axis (a missing leading axis)") {
    const auto got = ctgrad::evaluate(a * v - v, bind_a(), bind_vn());
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) CHECK(got(i, j) == xs[i * n + j] * vn[j] - vn[j]);
  }
  SECTION("expand<2, 1>(v) is a 1 x n row and broadcasts along axis 0") {
    // the plan divides by a repeating factor as a * (1 / v) (eval/hoist.hpp): two roundings
    const auto got = ctgrad::evaluate(a / ctgrad::expand<2, 1>(v), bind_a(), bind_vn());
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) CHECK(ctgrad_test::close_ulps(got(i, j), static_cast<T>(xs[i * n + j] / vn[j]), 1));
  }
  SECTION("expand<2, 0>(v) is an m x 1 column and broadcasts along axis 1") {
    const auto got = ctgrad::evaluate(a + ctgrad::expand<2, 0>(v), bind_a(), bind_vm());
    REQUIRE(got.extents == std::array<std::size_t, 2>{m, n});
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) CHECK(got(i, j) == xs[i * n + j] + vm[i]);
  }
  SECTION("a unit axis kept by a reduction broadcasts (the result is a statistic minus the data)") {
    const auto got = ctgrad::evaluate(ctgrad::sum<1>(a) - a, bind_a());
    for (std::size_t i = 0; i < m; ++i) {
      double row = 0;
      for (std::size_t j = 0; j < n; ++j) row += double(xs[i * n + j]);
      for (std::size_t j = 0; j < n; ++j) CHECK(got(i, j) == static_cast<T>(static_cast<T>(row) - xs[i * n + j]));
    }
  }
  SECTION("a rank-0 input broadcasts against everything") {
    const auto got = ctgrad::evaluate(a * s + s, bind_a(), ctgrad::bind(s, T(-1.5)));
    for (std::size_t i = 0; i < m * n; ++i) CHECK(got.values[i] == static_cast<T>(xs[i] * T(-1.5) + T(-1.5)));
  }
  SECTION("rank 3: a 2-D tensor and a column fill in missing and unit axes") {
    constexpr auto p = ctgrad::input<"p", 3>;
    const std::size_t q = 2;
    std::vector<T> ps(q * m * n);
    for (std::size_t i = 0; i < ps.size(); ++i) ps[i] = T(0.5) * T(i) - T(5);
    const auto got = ctgrad::evaluate(p * a + ctgrad::expand<3, 1>(v), ctgrad::bind(p, ctgrad::view<const T, 3>(ps.data(), {q, m, n})),
                                      bind_a(), bind_vm());
    REQUIRE(got.extents == std::array<std::size_t, 3>{q, m, n});
    for (std::size_t h = 0; h < q; ++h)
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j)
          CHECK(got(h, i, j) == static_cast<T>(ps[(h * m + i) * n + j] * xs[i * n + j] + vm[i]));
  }
  SECTION("NaN and infinities stay in the elements they came from") {
    std::vector<T> ys = xs;
    ys[5] = std::numeric_limits<T>::quiet_NaN();
    ys[6] = std::numeric_limits<T>::infinity();
    const auto got = ctgrad::evaluate(ctgrad::exp(a) * v, ctgrad::bind(a, ctgrad::view<const T, 2>(ys.data(), {m, n})), bind_vn());
    for (std::size_t i = 0; i < m * n; ++i) {
      const T want = static_cast<T>(std::exp(ys[i]) * vn[i % n]);
      INFO("element " << i);
      CHECK(ctgrad_test::close_ulps(got.values[i], want, 2));
    }
  }
}
