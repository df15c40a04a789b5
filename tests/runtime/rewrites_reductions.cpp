// Rewrites preserve values, reductions and reshapes: each simplification of sum, count,
// broadcast_like, reduce_to, expand, squeeze and first (including the shifted-sum splits the
// batch statistics rely on), and the planner's regrouping of products (eval/hoist.hpp), checked
// by a static_assert that it fires and by values on random inputs: against the unsimplified
// expression (support/rewrite_check.hpp), and for the planner, which rewrites what it evaluates
// whatever it is given, against plain loops.
#include <catch2/catch.hpp>

#include <type_traits>

#include "support/rewrite_check.hpp"

namespace {
using namespace ctgrad_test::rewrites;
namespace cg = ctgrad;

template <class A, class B>
constexpr bool same(A, B) {
  return std::is_same_v<A, B>;
}

// shifted data, as nn::normalize builds it: x minus its first sample, gradient stopped
constexpr auto v = x - cg::stop_gradient(cg::first<0>(x));
constexpr auto uv = ux - cg::stop_gradient(cg::first<0>(ux));
// statistics (they contain a sum and are constant along axis 0)
constexpr auto c = cg::mean<0>(y);
constexpr auto uc = cg::mean<0>(uy);
constexpr auto cv = cg::mean<0>(v);
constexpr auto ucv = cg::mean<0>(uv);
}  // namespace

TEST_CASE("sum over axes already of extent 1, of a negation, of a broadcast", "[rewrites]") {
  static_assert(same(cg::sum<0>(cg::sum<0>(x)), cg::sum<0>(x)));
  static_assert(same(cg::sum<1>(-x), -cg::sum<1>(x)));
  static_assert(same(cg::sum<0>(cg::broadcast_like(cg::sum<0>(y), x)), cg::count<0>(x) * cg::sum<0>(y)));
  check_same_values(cg::sum<0>(cg::sum<0>(x)), cg::sum<0>(cg::sum<0>(ux)), "sum<0>(sum<0>(x))");
  check_same_values(cg::sum<1>(-x), cg::sum<1>(-ux), "sum<1>(-x)");
  check_same_values(cg::sum<0>(cg::broadcast_like(cg::sum<0>(y), x)), cg::sum<0>(cg::broadcast_like(cg::sum<0>(uy), ux)),
                    "sum of a broadcast");
}

TEST_CASE("constant factors are pulled out of sums", "[rewrites]") {
  static_assert(same(cg::sum<0>(x * b), b * cg::sum<0>(x)));
  static_assert(same(cg::sum<0>(cg::constant<3> * x), cg::constant<3> * cg::sum<0>(x)));
  static_assert(same(cg::sum<0>(x * y * b), b * cg::sum<0>(x * y)));
  check_same_values(cg::sum<0>(x * b), cg::sum<0>(ux * ub), "sum<0>(x * b)");
  check_same_values(cg::sum<0>(cg::constant<3> * x), cg::sum<0>(cg::constant<3> * ux), "sum<0>(3 x)");
  check_same_values(cg::sum<0>(x * y * b), cg::sum<0>(ux * uy * ub), "sum<0>(x y b)");
  check_same_values(cg::sum<0>(-(x * c)), cg::sum<0>(-(ux * uc)), "sum<0>(-(x mean(y)))");
  check_same_values(cg::sum<0>(x * y / b), cg::sum<0>(ux * uy / ub), "sum<0>(x y / b)");
  check_same_values(cg::sum<1>(x * cg::sum<1>(y)), cg::sum<1>(ux * cg::sum<1>(uy)), "sum<1>(x sum<1>(y))");
}

TEST_CASE("the shifted-sum splits: sum(v - c), sum(v + c), sum(u (v - c)), sum((v - c)^2)", "[rewrites]") {
  static_assert(same(cg::sum<0>(v - c), cg::sum<0>(v) - c * cg::count<0>(v)));
  static_assert(same(cg::sum<0>(v + c), cg::sum<0>(v) + c * cg::count<0>(v)));
  static_assert(same(cg::sum<0>(y * (v - c)), cg::sum<0>(y * v) - c * cg::sum<0>(y)));
  static_assert(same(cg::sum<0>((v - c) * y), cg::sum<0>(y * v) - c * cg::sum<0>(y)));
  static_assert(same(cg::sum<0>(cg::square(v - c)),
                     cg::sum<0>(cg::square(v)) - c * (cg::constant<2> * cg::sum<0>(v) - c * cg::count<0>(v))));
  check_same_values(cg::sum<0>(v - c), cg::sum<0>(uv - uc), "sum(v - c)");
  check_same_values(cg::sum<0>(v + c), cg::sum<0>(uv + uc), "sum(v + c)");
  check_same_values(cg::sum<0>(y * (v - c)), cg::sum<0>(uy * (uv - uc)), "sum(y (v - c))");
  check_same_values(cg::sum<0>((v + c) * y), cg::sum<0>((uv + uc) * uy), "sum((v + c) y)");
  check_same_values(cg::sum<0>(cg::square(v - c)), cg::sum<0>(cg::square(uv - uc)), "sum((v - c)^2)");
  // with the statistic of the data itself, as in the variance: the sums are of centered data
  check_same_values(cg::sum<0>(cg::square(v - cv)), cg::sum<0>(cg::square(uv - ucv)), "sum((v - mean(v))^2)");
  check_same_values(cg::variance<0>(v), cg::variance<0>(uv), "variance<0>(v)");
  check_same_values(cg::sum<0>(y * (v - cv)), cg::sum<0>(uy * (uv - ucv)), "sum(y (v - mean(v)))");
}

TEST_CASE("count and broadcast_like read a canonical shape reference; broadcasts collapse", "[rewrites]") {
  static_assert(same(cg::count<0>(cg::exp(x) * y), cg::count<0>(x)));
  static_assert(same(cg::broadcast_like(b, cg::exp(x)), cg::broadcast_like(b, x)));
  static_assert(same(cg::broadcast_like(y, x), y));
  static_assert(same(cg::broadcast_like(-b, x), -cg::broadcast_like(b, x)));
  static_assert(same(cg::broadcast_like(cg::broadcast_like(s, b), x), cg::broadcast_like(s, x)));
  static_assert(same(cg::broadcast_like(cg::constant<2>, x) * y, cg::constant<2> * y));
  check_same_values(cg::count<0>(cg::exp(x) * y) * y, cg::count<0>(cg::exp(ux) * uy) * uy, "count<0>(exp(x) y)");
  check_same_values(cg::broadcast_like(b, cg::exp(x)), cg::broadcast_like(ub, cg::exp(ux)), "broadcast_like(b, exp(x))");
  check_same_values(cg::broadcast_like(y, x), cg::broadcast_like(uy, ux), "broadcast_like(y, x)");
  check_same_values(cg::broadcast_like(-b, x), cg::broadcast_like(-ub, ux), "broadcast_like(-b, x)");
  check_same_values(cg::broadcast_like(cg::broadcast_like(s, b), x), cg::broadcast_like(cg::broadcast_like(us, ub), ux),
                    "broadcast_like(broadcast_like(s, b), x)");
  check_same_values(cg::broadcast_like(cg::constant<2>, x) * y, cg::broadcast_like(cg::constant<2>, ux) * uy,
                    "broadcast_like(2, x) * y");
}

TEST_CASE("reduce_to, expand, squeeze and first that have nothing to do, and their sums", "[rewrites]") {
  constexpr auto vector = cg::static_shape{1, 0};
  constexpr auto row = cg::static_shape{2, 0b01};
  static_assert(same(cg::reduce_to<cg::static_shape{2, 0}>(x), x));
  static_assert(same(cg::reduce_to<row>(x), cg::sum<0>(x)));
  static_assert(same(cg::reduce_to<vector>(x), cg::squeeze<0>(cg::sum<0>(x))));
  static_assert(same(cg::reduce_to<vector>(-x), -cg::reduce_to<vector>(x)));
  static_assert(same(cg::squeeze<0>(cg::expand<2, 1>(b)), b));
  static_assert(same(cg::expand<1, 0>(b), b));
  static_assert(same(cg::squeeze<0>(-cg::sum<0>(x)), -cg::squeeze<0>(cg::sum<0>(x))));
  static_assert(same(cg::first<0>(cg::sum<0>(x)), cg::sum<0>(x)));
  check_same_values(cg::reduce_to<row>(x), cg::reduce_to<row>(ux), "reduce_to<1,_>(x)");
  check_same_values(cg::reduce_to<vector>(x * y), cg::reduce_to<vector>(ux * uy), "reduce_to<_>(x y)");
  check_same_values(cg::reduce_to<vector>(-x), cg::reduce_to<vector>(-ux), "reduce_to<_>(-x)");
  check_same_values(cg::squeeze<0>(cg::expand<2, 1>(b)) * x, cg::squeeze<0>(cg::expand<2, 1>(ub)) * ux, "squeeze(expand(b))");
  check_same_values(cg::expand<1, 0>(b) * x, cg::expand<1, 0>(ub) * ux, "expand<1, 0>(b)");
  check_same_values(cg::squeeze<0>(-cg::sum<0>(x)), cg::squeeze<0>(-cg::sum<0>(ux)), "squeeze(-sum(x))");
  check_same_values(cg::first<0>(cg::sum<0>(x)), cg::first<0>(cg::sum<0>(ux)), "first<0>(sum<0>(x))");
}

namespace {
/// e evaluated by a plan (which regroups products, eval/hoist.hpp) against `want(i, j)`, written
/// as plain loops over x, y (m x n), b (n) and s.
template <class E, class Want>
void check_planned(E e, Want want, const char* what) {
  const auto xs = ctgrad_test::random_vector(m * n, 31, -2.0, 3.0), ys = ctgrad_test::random_vector(m * n, 32, 0.5, 2.0);
  const auto bs = ctgrad_test::random_vector(n, 33, 0.5, 2.0);
  const double sv = 1.25;
  // one set of bindings for every expression checked: e need not read y and s
  const auto got = cg::evaluate(e, cg::allow_unused(cg::bind(x, cg::view<const double, 2>(xs.data(), {m, n}))),
                                cg::allow_unused(cg::bind(y, cg::view<const double, 2>(ys.data(), {m, n}))),
                                cg::allow_unused(cg::bind(b, cg::view<const double, 1>(bs.data(), {n}))),
                                cg::allow_unused(cg::bind(s, sv)));
  std::vector<double> ref(m * n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) ref[i * n + j] = want(xs, ys, bs, sv, i, j);
  INFO(what << ": `" << cg::to_text(e) << "` planned as `" << cg::to_text(cg::hoisted_t<E>{}) << "`");
  CHECK(ctgrad_test::relative_error(got.values, ref) <= 1e-14);
}
}  // namespace

TEST_CASE("the planner's product regrouping preserves values", "[rewrites][hoist]") {
  using cg::hoisted_t;
  // (x b) y -> (x y) b: the per-feature factor b multiplied last
  static_assert(std::is_same_v<hoisted_t<decltype(x * b * y)>, decltype(x * y * b)>);
  check_planned(x * b * y, [](auto& xs, auto& ys, auto& bs, double, std::size_t i, std::size_t j) {
    return xs[i * n + j] * bs[j] * ys[i * n + j];
  }, "x b y");
  // a division by a repeating factor becomes a product with its reciprocal
  static_assert(std::is_same_v<hoisted_t<decltype(x / b)>, decltype(x * (cg::constant<1> / b))>);
  check_planned(x / b, [](auto& xs, auto&, auto& bs, double, std::size_t i, std::size_t j) { return xs[i * n + j] / bs[j]; },
                "x / b");
  // the shape of batch norm's dx term: dy * gamma * rsqrt(var + eps) -> dy * (gamma * rsqrt(...))
  constexpr auto e = y * b * cg::rsqrt(cg::mean<0>(cg::square(x)) + s);
  using E = std::remove_const_t<decltype(e)>;
  static_assert(!std::is_same_v<hoisted_t<E>, E>);
  static_assert(std::is_same_v<hoisted_t<E>, decltype(y * (b * cg::rsqrt(cg::mean<0>(cg::square(x)) + s)))>);
  check_planned(e, [](auto& xs, auto& ys, auto& bs, double sv, std::size_t i, std::size_t j) {
    double ms = 0;
    for (std::size_t r = 0; r < m; ++r) ms += xs[r * n + j] * xs[r * n + j];
    return ys[i * n + j] * bs[j] / std::sqrt(ms / double(m) + sv);
  }, "y b rsqrt(mean(x^2) + s)");
  // negations are collected into one sign
  constexpr auto g = -(s * x) * (-(y * b));
  using G = std::remove_const_t<decltype(g)>;
  static_assert(!std::is_same_v<hoisted_t<G>, G>);
  check_planned(g, [](auto& xs, auto& ys, auto& bs, double sv, std::size_t i, std::size_t j) {
    return (sv * xs[i * n + j]) * (ys[i * n + j] * bs[j]);
  }, "-(s x) (-(y b))");
}
