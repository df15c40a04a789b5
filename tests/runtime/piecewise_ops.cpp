// The piecewise primitives (comparisons, where, abs, sign, maximum, minimum, relu), the smooth
// ones added with them (sigmoid, softplus, log1p, expm1) and the max/min reductions:
// values against <cmath> and plain loops, derived gradients against central finite
// differences (ctgrad::gradcheck) away from kinks, the documented subgradients at kinks and
// ties against their definition, forward mode against finite differences, second order.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

#include <ctgrad.hpp>
#include <ctgrad/check/catch2.hpp>
#include <ctgrad/check/gradcheck.hpp>

#include "support/numeric.hpp"

namespace {

constexpr auto a = ctgrad::input<"a", 2>;
constexpr auto b = ctgrad::input<"b", 2>;
constexpr std::size_t M = 3, N = 4;
constexpr double qnan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

template <class T>
auto view2(const std::vector<T>& v, std::size_t m = M, std::size_t n = N) {
  return ctgrad::view<const T, 2>(v.data(), {m, n});
}

/// One expression of a and b with its reference f(a, b) per element and its tolerance.
template <class E, class F>
struct value_case {
  E e;
  F f;
  double tol;
};
template <class E, class F>
value_case(E, F, double) -> value_case<E, F>;  // Clang 14 deduces no aggregate's arguments

template <class T, class R, class E, class F>
void check_case(const R& r, const value_case<E, F>& c, const std::vector<T>& av, const std::vector<T>& bv) {
  REQUIRE(r.size() == av.size());
  for (std::size_t i = 0; i < av.size(); ++i) {
    const double want = c.f(double(av[i]), double(bv[i]));
    INFO(fmt::format("{} at a = {}, b = {}: got {}, want {}", c.e, av[i], bv[i], r.values[i], want));
    if (std::isnan(want)) CHECK(std::isnan(double(r.values[i])));
    else CHECK((double(r.values[i]) == want || std::abs(double(r.values[i]) - want) <= c.tol * std::max(1.0, std::abs(want))));
  }
}

/// Every case's expression evaluated elementwise on a and b (float or double), all in one plan
/// (one plan to compile instead of one per case), each against its f on every element.
template <class T, class... Cs>
void check_values(const std::vector<T>& av, const std::vector<T>& bv, const Cs&... cs) {
  const auto r = ctgrad::evaluate(ctgrad::exprs(cs.e...), ctgrad::allow_unused(ctgrad::bind(a, view2(av, 1, av.size()))),
                                  ctgrad::allow_unused(ctgrad::bind(b, view2(bv, 1, bv.size()))));
  [&]<std::size_t... I>(std::index_sequence<I...>) { (check_case(std::get<I>(r), cs, av, bv), ...); }(std::index_sequence_for<Cs...>{});
}

// ordinary points and the edges: zeros of both signs, ties, large magnitudes, inf and NaN
const std::vector<double> edge_a{-2.5, -1, -0.0, 0.0, 0.5, 3, 1e30, -1e30, 700, -700, inf, -inf, qnan, 2, 1e-9};
const std::vector<double> edge_b{1, -1, 0.0, -0.0, 0.75, 3, 1, -1e31, 1, 2, 5, -inf, 1, qnan, -1e-9};

template <class T>
void check_all_values() {
  const std::vector<T> av(edge_a.begin(), edge_a.end()), bv(edge_b.begin(), edge_b.end());
  const auto cmp = [](bool c) { return c ? 1.0 : 0.0; };
  const auto nan_or = [](double x, double y, double r) { return std::isnan(x) || std::isnan(y) ? qnan : r; };
  check_values(av, bv,  //
               value_case{ctgrad::greater(a, b), [&](double x, double y) { return cmp(x > y); }, 0},
               value_case{ctgrad::less(a, b), [&](double x, double y) { return cmp(x < y); }, 0},
               value_case{ctgrad::greater_equal(a, b), [&](double x, double y) { return cmp(x >= y); }, 0},
               value_case{ctgrad::less_equal(a, b), [&](double x, double y) { return cmp(x <= y); }, 0},
               value_case{ctgrad::equal(a, b), [&](double x, double y) { return cmp(x == y); }, 0},
               value_case{ctgrad::where(ctgrad::greater(a, b), a, b), [](double x, double y) { return x > y ? x : y; }, 0},
               value_case{ctgrad::where(a, b, ctgrad::constant<7>), [](double x, double y) { return x != 0 ? y : 7.0; }, 0},
               value_case{ctgrad::abs(a), [](double x, double) { return std::fabs(x); }, 0},
               value_case{ctgrad::sign(a),
                          [](double x, double) { return std::isnan(x) ? qnan : (x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0)); }, 0},
               value_case{ctgrad::maximum(a, b), [&](double x, double y) { return nan_or(x, y, std::fmax(x, y)); }, 0},
               value_case{ctgrad::minimum(a, b), [&](double x, double y) { return nan_or(x, y, std::fmin(x, y)); }, 0},
               value_case{ctgrad::relu(a), [](double x, double) { return std::isnan(x) ? qnan : std::fmax(x, 0.0); }, 0});
  // smooth functions: against the double <cmath> value of the same (rounded) input; sigmoid and
  // softplus by their defining formulas in long double, where they do not overflow
  const double ftol = std::is_same_v<T, float> ? 1e-6 : 1e-15;
  check_values(av, bv,  //
               value_case{ctgrad::log1p(ctgrad::abs(a)), [](double x, double) { return std::log1p(std::fabs(x)); }, ftol},
               value_case{ctgrad::expm1(ctgrad::minimum(a, ctgrad::constant<50>)),
                          [&](double x, double) { return std::isnan(x) ? qnan : std::expm1(std::fmin(x, 50.0)); }, ftol},
               value_case{ctgrad::sigmoid(a),
                          [](double x, double) { return double(1.0L / (1.0L + std::exp(-static_cast<long double>(x)))); },
                          ftol},
               value_case{ctgrad::softplus(a),
                          [](double x, double) {
                            const long double lx = x;
                            return double(lx > 0 ? lx + std::log1p(std::exp(-lx)) : std::log1p(std::exp(lx)));
                          },
                          ftol});
}

}  // namespace

TEST_CASE("piecewise and smooth primitives match <cmath> at ordinary points and edges", "[values]") {
  SECTION("double") { check_all_values<double>(); }
  SECTION("float") { check_all_values<float>(); }
}

TEST_CASE("max and min reductions match plain loops, propagate NaN, keep their axes", "[values]") {
  // rows: mixed signs with a tie, all negative (max below the identity of a sum), NaN, all positive
  constexpr std::size_t rows = 4;
  const std::vector<double> xs{3, -1, 7, 7,  //
                               -5, -2, -9, -0.5,  //
                               1, qnan, 4, 2,  //
                               2, 8, 5, 9};
  const auto bx = ctgrad::bind(a, view2(xs, rows, N));
  // one plan for the five (one to compile)
  const auto [mx1, mn1, mx0, mn0, all] = ctgrad::evaluate(
      ctgrad::exprs(ctgrad::max<1>(a), ctgrad::min<1>(a), ctgrad::max<0>(a), ctgrad::min<0>(a), ctgrad::max<0, 1>(a)), bx);
  static_assert(ctgrad::shape_of<decltype(ctgrad::max<1>(a))> == ctgrad::static_shape{2, 0b10});
  REQUIRE(mx1.size() == rows);
  for (std::size_t i = 0; i < rows; ++i) {
    double hi = -inf, lo = inf;
    bool has_nan = false;
    for (std::size_t j = 0; j < N; ++j) {
      has_nan |= std::isnan(xs[i * N + j]);
      hi = std::max(hi, xs[i * N + j]);
      lo = std::min(lo, xs[i * N + j]);
    }
    if (has_nan) {
      CHECK(std::isnan(mx1.values[i]));
      CHECK(std::isnan(mn1.values[i]));
    } else {
      CHECK(mx1.values[i] == hi);
      CHECK(mn1.values[i] == lo);
    }
  }
  for (std::size_t j = 0; j < N; ++j) {
    double hi = -inf, lo = inf;
    bool has_nan = false;
    for (std::size_t i = 0; i < rows; ++i) {
      has_nan |= std::isnan(xs[i * N + j]);
      hi = std::max(hi, xs[i * N + j]);
      lo = std::min(lo, xs[i * N + j]);
    }
    CHECK((has_nan ? std::isnan(mx0.values[j]) : mx0.values[j] == hi));
    CHECK((has_nan ? std::isnan(mn0.values[j]) : mn0.values[j] == lo));
  }
  CHECK(std::isnan(all.values[0]));
  // in float, over many rows (the four-rows loop and the running value of a row reduction)
  const auto fs = ctgrad_test::random_vector<float>(37 * 19, 5, -100, 100);
  const auto bf = ctgrad::bind(a, ctgrad::view<const float, 2>(fs.data(), {37, 19}));
  const auto fr = ctgrad::evaluate(ctgrad::exprs(ctgrad::max<0>(a), ctgrad::min<1>(a)), bf);
  for (std::size_t j = 0; j < 19; ++j) {
    float hi = -INFINITY;
    for (std::size_t i = 0; i < 37; ++i) hi = std::max(hi, fs[i * 19 + j]);
    CHECK(std::get<0>(fr).values[j] == hi);
  }
  for (std::size_t i = 0; i < 37; ++i) {
    float lo = INFINITY;
    for (std::size_t j = 0; j < 19; ++j) lo = std::min(lo, fs[i * 19 + j]);
    CHECK(std::get<1>(fr).values[i] == lo);
  }
}

TEST_CASE("a max and a sum over the same data share one fused pass", "[plan]") {
  using both = decltype(ctgrad::compile<float>(ctgrad::exprs(ctgrad::max<0>(a), ctgrad::sum<0>(a), ctgrad::min<0>(a))));
  STATIC_REQUIRE(both::pass_count() == 1);
  STATIC_REQUIRE(both::loop_count() == 1);
  STATIC_REQUIRE(both::passes_over("a") == 1);
}

namespace {
// generic points: away from every kink and tie (|a|, |a - b| >= 0.1)
const std::vector<double> ga{-1.3, 0.4, 2.2, -0.7, 1.1, -2.6, 0.25, 1.9, -0.35, 0.8, -1.75, 2.9};
const std::vector<double> gb{0.6, -1.2, 1.5, 0.45, -0.3, 2.2, -1.9, 0.9, 1.4, -0.75, 0.15, -2.1};
const ctgrad::gradcheck_options tight{.abs_tol = 1e-8, .rel_tol = 1e-6};

template <class E>
ctgrad::gradcheck_report check_generic(E e) {
  return ctgrad::gradcheck(e, tight, ctgrad::bind(a, view2(ga)), ctgrad::bind(b, view2(gb)));
}
}  // namespace

TEST_CASE("derived gradients of the new primitives match finite differences at generic points", "[gradients]") {
  CHECK_THAT(check_generic(ctgrad::abs(a) * b), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(check_generic(ctgrad::sign(a) * b), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(check_generic(ctgrad::maximum(a, b)), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(check_generic(ctgrad::minimum(a, b) * a), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(check_generic(ctgrad::relu(a) * b), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(check_generic(ctgrad::sigmoid(a * b)), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(check_generic(ctgrad::softplus(a * b)), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(check_generic(ctgrad::log1p(ctgrad::square(a)) * b), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(check_generic(ctgrad::expm1(a) * b), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(check_generic(ctgrad::where(ctgrad::greater(a, b), a * b, ctgrad::exp(b))), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(check_generic(ctgrad::less_equal(a, b) * a + ctgrad::equal(a, b)), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(check_generic(ctgrad::max<1>(a * b)), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(check_generic(ctgrad::min<0>(a) * ctgrad::max<0, 1>(b)), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(check_generic(ctgrad::logsumexp<1>(a * b)), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(check_generic(ctgrad::softmax<0>(a) * b), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(check_generic(ctgrad::log_softmax<1>(a) * b), ctgrad::matchers::passes_gradcheck());
  // softplus and sigmoid far out, where naive formulas overflow or lose everything
  const std::vector<double> far{-800, -40, -20, 20, 40, 800, -1e4, 1e4, -5, 5, -30, 30};
  const auto r = ctgrad::gradcheck(ctgrad::softplus(a) + ctgrad::sigmoid(a), tight, ctgrad::bind(a, view2(far)));
  CHECK_THAT(r, ctgrad::matchers::passes_gradcheck());
}

namespace {
/// The derived gradient of sum(w * e) with respect to a at `at` (w = 1 + index / 10).
template <class E>
std::vector<double> gradient_at(E e, const std::vector<double>& at, const std::vector<double>& bv) {
  constexpr auto w = ctgrad::input<"w", 2>;
  std::vector<double> ws(at.size());
  for (std::size_t i = 0; i < ws.size(); ++i) ws[i] = 1 + double(i) / 10;
  const auto [g] = ctgrad::vjp(ctgrad::outputs(e), ctgrad::seeds(w), ctgrad::wrt(a));
  return ctgrad::evaluate(g, ctgrad::allow_unused(ctgrad::bind(a, view2(at, 1, at.size()))), ctgrad::allow_unused(ctgrad::bind(b, view2(bv, 1, bv.size()))),
                          ctgrad::allow_unused(ctgrad::bind(w, view2(ws, 1, ws.size()))))
      .values;
}
}  // namespace

TEST_CASE("subgradients at kinks and ties are PyTorch's", "[gradients]") {
  const std::vector<double> at{0.0, -0.0, 2.0, -3.0};
  const std::vector<double> same{0.0, 0.0, 2.0, -3.0};  // ties with at
  std::vector<double> w(4);
  for (std::size_t i = 0; i < 4; ++i) w[i] = 1 + double(i) / 10;
  // relu'(0) = 0, abs'(0) = 0 (and relu'(x) = [x > 0], abs'(x) = sign(x) elsewhere)
  const auto dr = gradient_at(ctgrad::relu(a), at, same);
  const auto da = gradient_at(ctgrad::abs(a), at, same);
  const std::vector<double> relu_want{0, 0, w[2], 0}, abs_want{0, 0, w[2], -w[3]};
  CHECK(dr == relu_want);
  CHECK(da == abs_want);
  // maximum(a, b) and minimum(a, b) at a == b: half each
  const auto dmax = gradient_at(ctgrad::maximum(a, b), at, same);
  const auto dmin = gradient_at(ctgrad::minimum(a, b), at, same);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(dmax[i] == w[i] / 2);
    CHECK(dmin[i] == w[i] / 2);
  }
  // a max over a row with a three-way tie: each of the three gets a third, the others nothing
  const std::vector<double> row{5, 1, 5, 5, 2, -7};
  const auto [dm] = ctgrad::grad(ctgrad::max<0, 1>(a) * ctgrad::constant<3>, ctgrad::wrt(a));
  const auto dmv = ctgrad::evaluate(dm, ctgrad::bind(a, view2(row, 1, row.size()))).values;
  const std::vector<double> want{1, 0, 1, 1, 0, 0};  // 3 / 3 for each of the tied entries
  REQUIRE(dmv.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(dmv[i] == Approx(want[i]).margin(1e-15));
  const std::vector<double> low{-7, 1, -7, 3};
  const auto [dn] = ctgrad::grad(ctgrad::min<0, 1>(a), ctgrad::wrt(a));
  CHECK(ctgrad::evaluate(dn, ctgrad::bind(a, view2(low, 1, low.size()))).values == std::vector<double>{0.5, 0, 0.5, 0});
}

namespace {
/// jvp of e along v at (ga, gb) against central finite differences (e(a + h v) - e(a - h v)) / 2h.
template <class E>
double jvp_error(E e) {
  constexpr auto v = ctgrad::input<"v", 2>;
  const std::vector<double> vs = ctgrad_test::random_vector(M * N, 17, -1, 1);
  const auto t = ctgrad::get<0>(ctgrad::jvp(ctgrad::outputs(e), ctgrad::tangents(v), ctgrad::wrt(a)));  // a lambda reads it
  // e and its tangent in one plan (one to compile), evaluated at three points; one set of
  // bindings for every expression checked: e need not read b
  const auto at = [&](const std::vector<double>& point) {
    return ctgrad::evaluate(ctgrad::exprs(e, t), ctgrad::allow_unused(ctgrad::bind(a, view2(point))),
                            ctgrad::allow_unused(ctgrad::bind(b, view2(gb))), ctgrad::allow_unused(ctgrad::bind(v, view2(vs))));
  };
  const auto derived = std::get<1>(at(ga)).values;
  const double h = 1e-6;
  std::vector<double> up(ga), down(ga);
  for (std::size_t i = 0; i < ga.size(); ++i) {
    up[i] += h * vs[i];
    down[i] -= h * vs[i];
  }
  const auto eu = std::get<0>(at(up)).values;
  const auto ed = std::get<0>(at(down)).values;
  std::vector<double> numeric(eu.size());
  for (std::size_t i = 0; i < eu.size(); ++i) numeric[i] = (eu[i] - ed[i]) / (2 * h);
  return ctgrad_test::relative_error(derived, numeric);
}
}  // namespace

TEST_CASE("forward mode of the new primitives matches finite differences", "[forward]") {
  CHECK(jvp_error(ctgrad::abs(a) * b) <= 1e-7);
  CHECK(jvp_error(ctgrad::maximum(a, b) + ctgrad::minimum(a * a, b)) <= 1e-7);
  CHECK(jvp_error(ctgrad::relu(a) * b) <= 1e-7);
  CHECK(jvp_error(ctgrad::sigmoid(a) + ctgrad::softplus(a * b)) <= 1e-7);
  CHECK(jvp_error(ctgrad::log1p(ctgrad::square(a)) + ctgrad::expm1(a)) <= 1e-7);
  CHECK(jvp_error(ctgrad::where(ctgrad::less(a, b), ctgrad::exp(a), b * a)) <= 1e-7);
  CHECK(jvp_error(ctgrad::max<1>(a * b) + ctgrad::min<0>(a)) <= 1e-7);
  CHECK(jvp_error(ctgrad::logsumexp<1>(a) + ctgrad::softmax<0>(a * b)) <= 1e-7);
  CHECK(jvp_error(ctgrad::log_softmax<1>(a)) <= 1e-7);
}

TEST_CASE("second derivatives of the smooth new primitives match finite differences of the gradient", "[second-order]") {
  // the derived gradient is an expression: gradcheck differentiates it again
  constexpr auto w = ctgrad::input<"w", 2>;
  const std::vector<double> ws = ctgrad_test::random_vector(M * N, 23, 0.5, 1.5);
  const auto second = [&](auto e) {
    const auto [g] = ctgrad::vjp(ctgrad::outputs(e), ctgrad::seeds(w), ctgrad::wrt(a));
    return ctgrad::gradcheck(g, ctgrad::wrt(a), tight, ctgrad::bind(a, view2(ga)), ctgrad::bind(b, view2(gb)),
                             ctgrad::bind(w, view2(ws)));
  };
  CHECK_THAT(second(ctgrad::sigmoid(a * b)), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(second(ctgrad::softplus(a) * b), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(second(ctgrad::log1p(ctgrad::square(a)) + ctgrad::expm1(a)), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(second(ctgrad::logsumexp<1>(a * b)), ctgrad::matchers::passes_gradcheck());
  // piecewise-linear pieces: the second derivative is zero away from kinks, and so is the
  // derived one (relu(a) * a = a^2 on a > 0: second derivative 2)
  CHECK_THAT(second(ctgrad::relu(a) * a + ctgrad::maximum(a, b) * b), ctgrad::matchers::passes_gradcheck());
}

TEST_CASE("the reverse rule of a max over a computed operand sees the values the max saw, in float", "[gradients][plan]") {
  // exp(a) / b is computed in double inside the max's loop and in float in the gradient's loop;
  // unless the operand is stored once, [operand = max] can hold nowhere and the gradient is
  // 0 / 0. Compared with the same gradient in double.
  constexpr std::size_t m = 64, n = 33;
  const auto ad = ctgrad_test::random_vector(m * n, 31, -3, 3), bd = ctgrad_test::random_vector(m * n, 32, 0.5, 3);
  const std::vector<float> af(ad.begin(), ad.end()), bf(bd.begin(), bd.end());
  const auto loss = ctgrad::sum<0, 1>(ctgrad::max<1>(ctgrad::exp(a) / b));
  const auto [da] = ctgrad::grad(loss, ctgrad::wrt(a));
  const auto gf = ctgrad::evaluate(da, ctgrad::bind(a, ctgrad::view<const float, 2>(af.data(), {m, n})),
                                   ctgrad::bind(b, ctgrad::view<const float, 2>(bf.data(), {m, n})));
  const std::vector<double> ar(af.begin(), af.end()), br(bf.begin(), bf.end());
  const auto gd = ctgrad::evaluate(da, ctgrad::bind(a, view2(ar, m, n)), ctgrad::bind(b, view2(br, m, n)));
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < m * n; ++i) {
    INFO(i);
    REQUIRE(std::isfinite(gf.values[i]));
    CHECK(std::abs(double(gf.values[i]) - gd.values[i]) <= 1e-5 * std::max(1.0, std::abs(gd.values[i])));
    nonzero += gf.values[i] != 0;
  }
  CHECK(nonzero == m);  // one winner per row
}

TEST_CASE("forward and reverse mode of the new reductions and composites agree: <w, J v> = <J^T w, v>", "[forward]") {
  // max, min and logsumexp have forward rules of their own (jvp beside vjp), so the identity
  // compares two different rules; for elementwise ops the forward rule is the reverse one
  // applied to a tangent, which the finite-difference test above checks instead.
  constexpr auto v = ctgrad::input<"v", 2>;
  constexpr auto w = ctgrad::input<"w", 2>;
  const auto vs = ctgrad_test::random_vector(M * N, 51, -1, 1);
  const auto check = [&](auto e, std::size_t rows, std::size_t cols) {
    const auto ws = ctgrad_test::random_vector(rows * cols, 52, -1, 1);
    const auto [t] = ctgrad::jvp(ctgrad::outputs(e), ctgrad::tangents(v), ctgrad::wrt(a));
    const auto [g] = ctgrad::vjp(ctgrad::outputs(e), ctgrad::seeds(w), ctgrad::wrt(a));
    // both in one plan (one to compile)
    const auto [jvr, jtwr] = ctgrad::evaluate(ctgrad::exprs(t, g), ctgrad::bind(a, view2(ga)), ctgrad::bind(v, view2(vs)),
                                              ctgrad::bind(w, view2(ws, rows, cols)));
    const auto& jv = jvr.values;
    const auto& jtw = jtwr.values;
    double lhs = 0, rhs = 0;
    for (std::size_t i = 0; i < ws.size(); ++i) lhs += ws[i] * jv[i];
    for (std::size_t i = 0; i < vs.size(); ++i) rhs += jtw[i] * vs[i];
    INFO(fmt::format("{}", e));
    CHECK(lhs == Approx(rhs).epsilon(1e-12));
  };
  check(ctgrad::max<1>(a), M, 1);
  check(ctgrad::min<0>(a), 1, N);
  check(ctgrad::max<0, 1>(ctgrad::square(a)), 1, 1);
  check(ctgrad::logsumexp<1>(a), M, 1);
  check(ctgrad::softmax<1>(a), M, N);
}
