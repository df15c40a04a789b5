// Value oracle, reductions and reshapes: sum over every axis set of a rank-3 tensor, mean,
// variance, count, reduce_to, broadcast_like, expand, squeeze, first, in float and double,
// against plain loops written here (long double sums, index arithmetic by hand).
//
// Tolerances: a float sum is accumulated in double and rounded once, so it must be the long
// double sum rounded to float up to 1 ulp; a double sum of k terms may differ from the exact
// one by k * eps * sum |x| (any order of summation), which is what is allowed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <ctgrad.hpp>

#include "support/oracle.hpp"

namespace {

using ld = long double;
constexpr auto p = ctgrad::input<"p", 3>;
constexpr auto a = ctgrad::input<"a", 2>;
constexpr auto v = ctgrad::input<"v", 1>;
constexpr auto s = ctgrad::input<"s", 0>;

const std::vector<std::size_t> ext3{2, 3, 4};

template <class T>
std::vector<T> data3() {
  std::vector<T> d(24);
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<T>(std::sin(1.7 * double(i) + 0.3) * 5.0 + (i % 5 == 0 ? 40.0 : 0.0));
  return d;
}

/// Row-major index of element `lin` of a tensor with extents `ext`, with the axes in `mask`
/// replaced by 0 (the place a reduction over mask sends it), in the reduced extents.
std::size_t reduced_index(std::size_t lin, const std::vector<std::size_t>& ext, std::uint32_t mask) {
  std::vector<std::size_t> idx(ext.size());
  for (std::size_t k = ext.size(); k-- > 0;) {
    idx[k] = lin % ext[k];
    lin /= ext[k];
  }
  std::size_t r = 0;
  for (std::size_t k = 0; k < ext.size(); ++k) {
    const bool reduced = (mask >> k) & 1U;
    r = r * (reduced ? 1 : ext[k]) + (reduced ? 0 : idx[k]);
  }
  return r;
}

struct sums {
  std::vector<ld> sum, abs_sum;
  std::size_t count = 1;
};

template <class T>
sums sums_over(const std::vector<T>& x, const std::vector<std::size_t>& ext, std::uint32_t mask) {
  sums r;
  std::size_t out = 1;
  for (std::size_t k = 0; k < ext.size(); ++k) ((mask >> k) & 1U ? r.count : out) *= ext[k];
  r.sum.assign(out, 0);
  r.abs_sum.assign(out, 0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    r.sum[reduced_index(i, ext, mask)] += x[i];
    r.abs_sum[reduced_index(i, ext, mask)] += std::abs(static_cast<ld>(x[i]));
  }
  return r;
}

/// got against the exact value `want`, whose rounding error may be up to k * eps * scale.
template <class T>
bool close_sum(T got, ld want, ld scale, std::size_t k) {
  if (std::isnan(want) || std::isinf(want)) return ctgrad_test::close_ulps(got, static_cast<T>(want), 0);
  if (sizeof(T) == 4) return ctgrad_test::close_ulps(got, static_cast<T>(want), 1);
  return std::abs(static_cast<ld>(got) - want) <= ld(k) * std::numeric_limits<double>::epsilon() * scale;
}

template <class T, std::size_t... Axes>
void check_sum_mean() {
  constexpr std::uint32_t mask = ((std::uint32_t{1} << Axes) | ...);
  const auto xs = data3<T>();
  const auto bind_p = [&] { return ctgrad::bind(p, ctgrad::view<const T, 3>(xs.data(), {2, 3, 4})); };
  const auto [sv, mv, cv] = ctgrad::evaluate(ctgrad::exprs(ctgrad::sum<Axes...>(p), ctgrad::mean<Axes...>(p), ctgrad::count<Axes...>(p)),
                                             bind_p());
  const sums ref = sums_over(xs, ext3, mask);
  INFO("axes mask " << mask << " in " << (sizeof(T) == 4 ? "float" : "double"));
  for (std::size_t k = 0; k < 3; ++k) CHECK(sv.extents[k] == ((mask >> k) & 1U ? 1 : ext3[k]));
  REQUIRE(sv.size() == ref.sum.size());
  CHECK(cv.values[0] == static_cast<T>(ref.count));
  for (std::size_t i = 0; i < ref.sum.size(); ++i) {
    INFO("element " << i << ": sum " << sv.values[i] << " vs " << double(ref.sum[i]) << ", mean " << mv.values[i]);
    CHECK(close_sum(sv.values[i], ref.sum[i], ref.abs_sum[i], ref.count));
    CHECK(close_sum(mv.values[i], ref.sum[i] / ld(ref.count), ref.abs_sum[i] / ld(ref.count), ref.count + 1));
  }
}

template <class T, std::size_t... Axes>
void check_variance() {
  constexpr std::uint32_t mask = ((std::uint32_t{1} << Axes) | ...);
  const auto xs = data3<T>();
  const auto got = ctgrad::evaluate(ctgrad::variance<Axes...>(p), ctgrad::bind(p, ctgrad::view<const T, 3>(xs.data(), {2, 3, 4})));
  const sums ref = sums_over(xs, ext3, mask);
  std::vector<ld> var(ref.sum.size(), 0), scale(ref.sum.size(), 0);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const std::size_t g = reduced_index(i, ext3, mask);
    const ld d = xs[i] - ref.sum[g] / ld(ref.count);
    var[g] += d * d / ld(ref.count);
    scale[g] += static_cast<ld>(xs[i]) * xs[i] / ld(ref.count);
  }
  INFO("variance, axes mask " << mask << " in " << (sizeof(T) == 4 ? "float" : "double"));
  for (std::size_t i = 0; i < var.size(); ++i) {
    INFO("element " << i << ": " << got.values[i] << " vs " << double(var[i]));
    if (sizeof(T) == 4) CHECK(ctgrad_test::close_ulps(got.values[i], static_cast<T>(var[i]), 1));
    else CHECK(std::abs(static_cast<ld>(got.values[i]) - var[i]) <= 4 * ld(ref.count) * std::numeric_limits<double>::epsilon() * scale[i]);
  }
}

template <class T>
void every_axis_set() {
  check_sum_mean<T, 0>();
  check_sum_mean<T, 1>();
  check_sum_mean<T, 2>();
  check_sum_mean<T, 0, 1>();
  check_sum_mean<T, 0, 2>();
  check_sum_mean<T, 1, 2>();
  check_sum_mean<T, 0, 1, 2>();
  check_variance<T, 0>();
  check_variance<T, 2>();
  check_variance<T, 0, 2>();
  check_variance<T, 0, 1, 2>();
}

}  // namespace

TEMPLATE_TEST_CASE("sum, mean, count and variance over every axis set of a rank-3 tensor", "[oracle][values][reduction]", float,
                   double) {
  every_axis_set<TestType>();
}

TEMPLATE_TEST_CASE("sums propagate NaN and infinities to their own group only", "[oracle][values][reduction]", float, double) {
  using T = TestType;
  const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  // columns: NaN, +inf, +inf and -inf (NaN), 0 and -0, ordinary
  const std::vector<T> xs{nan, inf, inf, T(-0.0), T(1), T(2), T(1), -inf, T(-0.0), T(3), T(0.5), T(1), T(0), T(0), T(4)};
  const auto got = ctgrad::evaluate(ctgrad::sum<0>(a), ctgrad::bind(a, ctgrad::view<const T, 2>(xs.data(), {3, 5})));
  CHECK(std::isnan(got.values[0]));
  CHECK(got.values[1] == inf);
  CHECK(std::isnan(got.values[2]));
  CHECK(got.values[3] == T(0));
  CHECK(got.values[4] == T(8));
}

TEST_CASE("float sums are accumulated in double: no intermediate overflow or absorption", "[oracle][values][reduction]") {
  // In float, 3e38 + 3e38 overflows and 1e8 + 1 rounds back to 1e8; in double neither happens,
  // and the exact sums, 3e38 and 1, are floats.
  const std::vector<float> xs{3e38f, 1e8f, 3e38f, 1.0f, -3e38f, -1e8f};
  const auto got = ctgrad::evaluate(ctgrad::sum<0>(a), ctgrad::bind(a, ctgrad::view<const float, 2>(xs.data(), {3, 2})));
  CHECK(got.values[0] == 3e38f);
  CHECK(got.values[1] == 1.0f);
}

TEMPLATE_TEST_CASE("reduce_to sums down to a broadcast source's shape", "[oracle][values][reduction]", float, double) {
  using T = TestType;
  const auto xs = data3<T>();
  const auto bind_p = [&] { return ctgrad::bind(p, ctgrad::view<const T, 3>(xs.data(), {2, 3, 4})); };
  const auto check = [&](const auto& got, std::uint32_t mask, const char* what) {
    const sums ref = sums_over(xs, ext3, mask);
    INFO(what);
    REQUIRE(got.size() == ref.sum.size());
    for (std::size_t i = 0; i < ref.sum.size(); ++i) CHECK(close_sum(got.values[i], ref.sum[i], ref.abs_sum[i], ref.count));
  };
  {
    const auto got = ctgrad::evaluate(ctgrad::reduce_to<ctgrad::static_shape{2, 0}>(p), bind_p());  // 3 x 4
    CHECK(got.extents == std::array<std::size_t, 2>{3, 4});
    check(got, 0b001, "reduce_to<_,_> of 2 x 3 x 4");
  }
  {
    const auto got = ctgrad::evaluate(ctgrad::reduce_to<ctgrad::static_shape{1, 0}>(p), bind_p());  // 4
    CHECK(got.extents == std::array<std::size_t, 1>{4});
    check(got, 0b011, "reduce_to<_> of 2 x 3 x 4");
  }
  {
    const auto got = ctgrad::evaluate(ctgrad::reduce_to<ctgrad::static_shape{2, 0b10}>(p), bind_p());  // 3 x 1
    CHECK(got.extents == std::array<std::size_t, 2>{3, 1});
    check(got, 0b101, "reduce_to<_,1> of 2 x 3 x 4");
  }
  {
    const auto got = ctgrad::evaluate(ctgrad::reduce_to<ctgrad::static_shape{0, 0}>(p), bind_p());  // scalar
    check(got, 0b111, "reduce_to<> of 2 x 3 x 4");
  }
}

TEMPLATE_TEST_CASE("broadcast_like repeats its payload over the reference's shape", "[oracle][values][broadcast]", float, double) {
  using T = TestType;
  const std::size_t m = 3, n = 4;
  const auto xs = data3<T>();  // the first 12 values as a 3 x 4 reference
  const std::vector<T> row{T(1.5), T(-2), T(0), T(9)}, col{T(7), T(-1), T(0.25)};
  const auto bind_a = [&] { return ctgrad::bind(a, ctgrad::view<const T, 2>(xs.data(), {m, n})); };
  {
    const auto got = ctgrad::evaluate(ctgrad::broadcast_like(v, a), bind_a(), ctgrad::bind(v, ctgrad::view<const T, 1>(row.data(), {n})));
    REQUIRE(got.extents == std::array<std::size_t, 2>{m, n});
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) CHECK(got(i, j) == row[j]);
  }
  {
    const auto got = ctgrad::evaluate(ctgrad::broadcast_like(ctgrad::expand<2, 0>(v), a), bind_a(),
                                      ctgrad::bind(v, ctgrad::view<const T, 1>(col.data(), {m})));
    REQUIRE(got.extents == std::array<std::size_t, 2>{m, n});
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) CHECK(got(i, j) == col[i]);
  }
  {
    const auto got = ctgrad::evaluate(ctgrad::broadcast_like(s, a), bind_a(), ctgrad::bind(s, T(-3)));
    REQUIRE(got.size() == m * n);
    for (T e : got.values) CHECK(e == T(-3));
  }
  {
    const auto got = ctgrad::evaluate(ctgrad::broadcast_like(ctgrad::sum<1>(a), a), bind_a());
    for (std::size_t i = 0; i < m; ++i) {
      ld r = 0;
      for (std::size_t j = 0; j < n; ++j) r += xs[i * n + j];
      for (std::size_t j = 0; j < n; ++j) CHECK(ctgrad_test::close_ulps(got(i, j), static_cast<T>(r), 1));
    }
  }
  {
    const auto got = ctgrad::evaluate(ctgrad::ones_like(a) + ctgrad::zeros_like(a), bind_a());
    for (T e : got.values) CHECK(e == T(1));
  }
}

TEMPLATE_TEST_CASE("expand, squeeze and first move elements without changing them", "[oracle][values][reshape]", float, double) {
  using T = TestType;
  const std::size_t q = 2, m = 3, n = 4;
  const auto xs = data3<T>();
  const auto bind_p = [&] { return ctgrad::bind(p, ctgrad::view<const T, 3>(xs.data(), {q, m, n})); };
  const auto bind_a = [&] { return ctgrad::bind(a, ctgrad::view<const T, 2>(xs.data(), {m, n})); };
  SECTION("expand<3, 0, 2>(a): m x 1 x n, and expand<3, 1, 2>(a): 1 x m x n, hold a's values") {
    const auto [e1, e2] = ctgrad::evaluate(ctgrad::exprs(ctgrad::expand<3, 0, 2>(a), ctgrad::expand<3, 1, 2>(a)), bind_a());
    CHECK(e1.extents == std::array<std::size_t, 3>{m, 1, n});
    CHECK(e2.extents == std::array<std::size_t, 3>{1, m, n});
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        CHECK(e1(i, 0, j) == xs[i * n + j]);
        CHECK(e2(0, i, j) == xs[i * n + j]);
      }
  }
  SECTION("expand<1, 0>(v) of a vector is the vector; expand<2, 1>(v) is a row") {
    const std::vector<T> vs{T(4), T(-5), T(6)};
    const auto got = ctgrad::evaluate(ctgrad::expand<2, 1>(v), ctgrad::bind(v, ctgrad::view<const T, 1>(vs.data(), {3})));
    CHECK(got.extents == std::array<std::size_t, 2>{1, 3});
    CHECK(got.values == vs);
  }
  SECTION("squeeze drops kept axes: squeeze<1>(sum<1>(p)) is q x n, squeeze<0, 2>(sum<0, 2>(p)) is m") {
    const auto [s1, s2] = ctgrad::evaluate(
        ctgrad::exprs(ctgrad::squeeze<1>(ctgrad::sum<1>(p)), ctgrad::squeeze<0, 2>(ctgrad::sum<0, 2>(p))), bind_p());
    CHECK(s1.extents == std::array<std::size_t, 2>{q, n});
    CHECK(s2.extents == std::array<std::size_t, 1>{m});
    const sums r1 = sums_over(xs, ext3, 0b010), r2 = sums_over(xs, ext3, 0b101);
    for (std::size_t i = 0; i < s1.size(); ++i) CHECK(close_sum(s1.values[i], r1.sum[i], r1.abs_sum[i], r1.count));
    for (std::size_t i = 0; i < s2.size(); ++i) CHECK(close_sum(s2.values[i], r2.sum[i], r2.abs_sum[i], r2.count));
  }
  SECTION("first<axes> takes index 0 along its axes") {
    const auto [f0, f1, f02] =
        ctgrad::evaluate(ctgrad::exprs(ctgrad::first<0>(p), ctgrad::first<1>(p), ctgrad::first<0, 2>(p)), bind_p());
    CHECK(f0.extents == std::array<std::size_t, 3>{1, m, n});
    CHECK(f1.extents == std::array<std::size_t, 3>{q, 1, n});
    CHECK(f02.extents == std::array<std::size_t, 3>{1, m, 1});
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) CHECK(f0(0, i, j) == xs[i * n + j]);
    for (std::size_t h = 0; h < q; ++h)
      for (std::size_t j = 0; j < n; ++j) CHECK(f1(h, 0, j) == xs[h * m * n + j]);
    for (std::size_t i = 0; i < m; ++i) CHECK(f02(0, i, 0) == xs[i * n]);
  }
  SECTION("first<1>(a) is a column, and broadcasts back: a - first<1>(a)") {
    const auto got = ctgrad::evaluate(a - ctgrad::first<1>(a), bind_a());
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) CHECK(got(i, j) == static_cast<T>(xs[i * n + j] - xs[i * n]));
  }
  SECTION("stop_gradient of a statistic is the statistic") {
    const auto [sg, plain] = ctgrad::evaluate(ctgrad::exprs(ctgrad::stop_gradient(ctgrad::mean<0>(a)) * a, ctgrad::mean<0>(a) * a), bind_a());
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        ld mu = 0;
        for (std::size_t r = 0; r < m; ++r) mu += xs[r * n + j];
        mu /= ld(m);
        CHECK(ctgrad_test::close_ulps(sg(i, j), static_cast<T>(mu * xs[i * n + j]), 2));
        CHECK(sg(i, j) == plain(i, j));
      }
  }
}

namespace {

/// The max (Max) or min over `mask` of x, group by group, by a plain loop: NaN in a group gives
/// NaN; an empty group cannot happen here.
template <bool Max, class T>
std::vector<T> extremum_over(const std::vector<T>& x, const std::vector<std::size_t>& ext, std::uint32_t mask) {
  std::size_t out = 1;
  for (std::size_t k = 0; k < ext.size(); ++k)
    if (!((mask >> k) & 1U)) out *= ext[k];
  std::vector<T> r(out);
  std::vector<bool> seen(out, false);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t g = reduced_index(i, ext, mask);
    if (!seen[g] || std::isnan(x[i]) || (!std::isnan(r[g]) && (Max ? x[i] > r[g] : x[i] < r[g]))) r[g] = x[i];
    seen[g] = true;
  }
  return r;
}

template <class T, std::size_t... Axes>
void check_extrema(const std::vector<T>& xs) {
  constexpr std::uint32_t mask = ((std::uint32_t{1} << Axes) | ...);
  const auto [hi, lo] = ctgrad::evaluate(ctgrad::exprs(ctgrad::max<Axes...>(p), ctgrad::min<Axes...>(p)),
                                         ctgrad::bind(p, ctgrad::view<const T, 3>(xs.data(), {2, 3, 4})));
  INFO("max and min, axes mask " << mask << " in " << (sizeof(T) == 4 ? "float" : "double"));
  for (std::size_t k = 0; k < 3; ++k) CHECK(hi.extents[k] == ((mask >> k) & 1U ? 1 : ext3[k]));
  const std::string bad_hi = ctgrad_test::first_mismatch(hi.values, extremum_over<true>(xs, ext3, mask), 0);
  const std::string bad_lo = ctgrad_test::first_mismatch(lo.values, extremum_over<false>(xs, ext3, mask), 0);
  INFO("max: " << bad_hi);
  INFO("min: " << bad_lo);
  CHECK(bad_hi.empty());
  CHECK(bad_lo.empty());
}

template <class T>
void extrema_every_axis_set(const std::vector<T>& xs) {
  check_extrema<T, 0>(xs);
  check_extrema<T, 1>(xs);
  check_extrema<T, 2>(xs);
  check_extrema<T, 0, 1>(xs);
  check_extrema<T, 0, 2>(xs);
  check_extrema<T, 1, 2>(xs);
  check_extrema<T, 0, 1, 2>(xs);
}

}  // namespace

TEMPLATE_TEST_CASE("max and min over every axis set of a rank-3 tensor", "[oracle][values][reduction]", float, double) {
  using T = TestType;
  const T inf = std::numeric_limits<T>::infinity();
  SECTION("ordinary data") { extrema_every_axis_set(data3<T>()); }
  SECTION("all negative: the max is below 0, the identity of a sum") {
    auto xs = data3<T>();
    for (auto& x : xs) x = -std::abs(x) - T(1);
    extrema_every_axis_set(xs);
  }
  SECTION("all positive: the min is above 0") {
    auto xs = data3<T>();
    for (auto& x : xs) x = std::abs(x) + T(1);
    extrema_every_axis_set(xs);
  }
  SECTION("NaN stays in its groups; infinities; ties; -0 and +0") {
    auto xs = data3<T>();
    xs[5] = std::numeric_limits<T>::quiet_NaN();
    xs[10] = inf;
    xs[17] = -inf;
    xs[20] = xs[21] = xs[22] = T(60);  // a three-way tie above every other value
    xs[3] = T(-0.0);
    extrema_every_axis_set(xs);
  }
}

namespace {

/// Sums, maxima and minima along the innermost axis of an m x n matrix, for n across the
/// running values of a row reduction (kernel.hpp: blocks of row_lanes elements, then a tail),
/// and along axis 0 for m across the loop that takes four rows at a time: each against a plain
/// loop. Data: offsets that make the extremum land in every position.
template <class T>
void check_row_and_column_reductions(std::size_t m, std::size_t n) {
  std::vector<T> xs(m * n);
  for (std::size_t i = 0; i < xs.size(); ++i)
    xs[i] = static_cast<T>(std::sin(0.37 * double(i * i % 101) + 0.1 * double(m)) * 10.0 - (i % 3 == 0 ? 25.0 : 0.0));
  const auto bound = ctgrad::bind(a, ctgrad::view<const T, 2>(xs.data(), {m, n}));
  // apart: a loop holding only column reductions is the one that takes four rows at a time
  const auto [rs, rmax, rmin] = ctgrad::evaluate(ctgrad::exprs(ctgrad::sum<1>(a), ctgrad::max<1>(a), ctgrad::min<1>(a)), bound);
  const auto [cs, cmax, cmin] = ctgrad::evaluate(ctgrad::exprs(ctgrad::sum<0>(a), ctgrad::max<0>(a), ctgrad::min<0>(a)), bound);
  const std::vector<std::size_t> ext{m, n};
  INFO(m << " x " << n << " in " << (sizeof(T) == 4 ? "float" : "double"));
  const sums rows = sums_over(xs, ext, 0b10), cols = sums_over(xs, ext, 0b01);
  REQUIRE(rs.size() == m);
  REQUIRE(cs.size() == n);
  for (std::size_t i = 0; i < m; ++i) {
    INFO("row " << i << ": sum " << rs.values[i] << " vs " << double(rows.sum[i]));
    CHECK(close_sum(rs.values[i], rows.sum[i], rows.abs_sum[i], n));
  }
  for (std::size_t j = 0; j < n; ++j) {
    INFO("column " << j << ": sum " << cs.values[j] << " vs " << double(cols.sum[j]));
    CHECK(close_sum(cs.values[j], cols.sum[j], cols.abs_sum[j], m));
  }
  const auto expect = [](const auto& got, const auto& want, const char* what) {
    const std::string bad = ctgrad_test::first_mismatch(got.values, want, 0);
    INFO(what << ": " << bad);
    CHECK(bad.empty());
  };
  expect(rmax, extremum_over<true>(xs, ext, 0b10), "max<1>");
  expect(rmin, extremum_over<false>(xs, ext, 0b10), "min<1>");
  expect(cmax, extremum_over<true>(xs, ext, 0b01), "max<0>");
  expect(cmin, extremum_over<false>(xs, ext, 0b01), "min<0>");
}

}  // namespace

TEMPLATE_TEST_CASE("row and column reductions of every length up to 41 match plain loops", "[oracle][values][reduction]", float,
                   double) {
  for (std::size_t n = 1; n <= 41; ++n) check_row_and_column_reductions<TestType>(3, n);
  for (std::size_t m = 1; m <= 13; ++m) check_row_and_column_reductions<TestType>(m, 5);
  check_row_and_column_reductions<TestType>(37, 19);
}

namespace {

/// logsumexp, softmax and log_softmax along axis 1 (and softmax along axis 0), row by row in
/// long double from their definitions: log(sum(exp(z))) with the sum formed as exp(z - M) *
/// exp(M) for M the row's largest finite entry (so that it does not overflow long double either).
template <class T>
void check_softmax_family(const std::vector<T>& zs, std::size_t m, std::size_t n) {
  const auto [lse, sm, lsm, sm0] =
      ctgrad::evaluate(ctgrad::exprs(ctgrad::logsumexp<1>(a), ctgrad::softmax<1>(a), ctgrad::log_softmax<1>(a), ctgrad::softmax<0>(a)),
                       ctgrad::bind(a, ctgrad::view<const T, 2>(zs.data(), {m, n})));
  const auto row_lse = [&](std::size_t i0, std::size_t step, std::size_t k) {
    ld big = -std::numeric_limits<ld>::infinity();
    for (std::size_t j = 0; j < k; ++j) big = std::max(big, static_cast<ld>(zs[i0 + j * step]));
    ld s = 0;
    for (std::size_t j = 0; j < k; ++j) s += std::exp(static_cast<ld>(zs[i0 + j * step]) - big);
    return big + std::log(s);
  };
  std::vector<ld> want_lse(m), want_sm(m * n), want_lsm(m * n), want_sm0(m * n);
  for (std::size_t i = 0; i < m; ++i) {
    want_lse[i] = row_lse(i * n, 1, n);
    for (std::size_t j = 0; j < n; ++j) {
      want_lsm[i * n + j] = static_cast<ld>(zs[i * n + j]) - want_lse[i];
      want_sm[i * n + j] = std::exp(want_lsm[i * n + j]);
    }
  }
  for (std::size_t j = 0; j < n; ++j) {
    const ld c = row_lse(j, n, m);
    for (std::size_t i = 0; i < m; ++i) want_sm0[i * n + j] = std::exp(static_cast<ld>(zs[i * n + j]) - c);
  }
  // |z - max| of each entry along axis 1 and axis 0: the shifted logits of softmax may be kept
  // in T between passes, an error of half an ulp of |z - max|, which exp turns into a relative
  // error of |z - max| * eps / 2
  std::vector<ld> shift1(m * n), shift0(m * n), none(m * n, 0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      ld r = -std::numeric_limits<ld>::infinity(), c = r;
      for (std::size_t k = 0; k < n; ++k) r = std::max(r, static_cast<ld>(zs[i * n + k]));
      for (std::size_t k = 0; k < m; ++k) c = std::max(c, static_cast<ld>(zs[k * n + j]));
      const ld z = zs[i * n + j];
      shift1[i * n + j] = std::isinf(z) ? 0 : std::abs(z - r);
      shift0[i * n + j] = std::isinf(z) ? 0 : std::abs(z - c);
    }
  // float: computed in double and rounded once (2 ulps), plus the shift's rounding above;
  // double: a relative error of a few eps times the terms of the row, plus the same
  const auto check = [&](const auto& got, const std::vector<ld>& want, const std::vector<ld>& shift, const char* what) {
    REQUIRE(got.size() == want.size());
    const ld eps = std::numeric_limits<T>::epsilon();
    for (std::size_t i = 0; i < want.size(); ++i) {
      INFO(what << "[" << i << "] of a " << m << " x " << n << " tensor in " << (sizeof(T) == 4 ? "float" : "double") << ": "
                << got.values[i] << " vs " << double(want[i]) << ", ulps " << ctgrad_test::ulp_distance(got.values[i], static_cast<T>(want[i])));
      if (std::isinf(want[i]) || std::isnan(want[i])) {
        CHECK(ctgrad_test::close_ulps(got.values[i], static_cast<T>(want[i]), 0));
      } else if (sizeof(T) == 4) {
        CHECK((ctgrad_test::close_ulps(got.values[i], static_cast<T>(want[i]), 2) ||
               std::abs(static_cast<ld>(got.values[i]) - want[i]) <= (2 + shift[i]) * eps * std::abs(want[i])));
      } else {
        CHECK(std::abs(static_cast<ld>(got.values[i]) - want[i]) <=
              (ld(8 + m + n) + shift[i]) * eps * std::max(ld(1), std::abs(want[i])));
      }
    }
  };
  check(lse, want_lse, none, "logsumexp<1>");
  check(sm, want_sm, shift1, "softmax<1>");
  check(lsm, want_lsm, none, "log_softmax<1>");
  check(sm0, want_sm0, shift0, "softmax<0>");
}

}  // namespace

TEMPLATE_TEST_CASE("logsumexp, softmax and log_softmax match their definitions in long double", "[oracle][values][softmax]", float,
                   double) {
  using T = TestType;
  const T inf = std::numeric_limits<T>::infinity();
  SECTION("rows of every length up to 20 around 0") {
    for (std::size_t n = 1; n <= 20; ++n) {
      std::vector<T> zs(3 * n);
      for (std::size_t i = 0; i < zs.size(); ++i) zs[i] = static_cast<T>(std::cos(1.3 * double(i)) * 4.0);
      check_softmax_family(zs, 3, n);
    }
  }
  SECTION("large offsets: exp of the data overflows or underflows") {
    const std::vector<T> zs{T(0), T(80), T(1), T(-100), T(-1000), T(0), T(1000), T(999), T(88), T(89), T(90), T(-90), T(30), T(-30), T(0.5),
                            T(-80), T(-88), T(-89), T(-120), T(-87.5), T(200), T(200), T(200), T(200), T(-3)};
    check_softmax_family(zs, 5, 5);
  }
  SECTION("-inf entries have probability 0 and log-probability -inf") {
    const std::vector<T> zs{-inf, T(1), T(2), T(3), T(-1), -inf, T(4), -inf, T(0.25), T(0.5), T(2), T(-2)};
    check_softmax_family(zs, 3, 4);
  }
}
