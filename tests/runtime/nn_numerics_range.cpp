// Batch norm's derived dx over the whole range of scales (issue 18, point 3): data of standard
// deviation 1e-20 .. 1e30 in float and 1e-150 .. 1e150 in double, eps = 1e-5. The reference is
// the closed form of the reference document computed here in long double (x87 extended: its
// exponent range is wide enough that no intermediate of the closed form under- or overflows),
// with no ctgrad code. The error is measured relative to the terms that are summed
// (rstd / m * (m |dxhat| + |sum dxhat| + |xhat sum dxhat xhat|)), since dx cancels.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

#include <ctgrad.hpp>

#include "support/batch_norm_inputs.hpp"

namespace {

using namespace ctgrad_test::bn_inputs;

auto y = ctgrad::nn::batch_norm_train(x, gamma_, beta_, eps);
auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_, beta_));

struct closed_form {
  std::vector<long double> dx, scale;  // scale: per feature, the largest summed term
};

/// dx = rstd / m (m dxhat - sum dxhat - xhat sum dxhat xhat), dxhat = dy gamma, in long double.
template <class T>
closed_form reference_dx(std::size_t m, std::size_t n, const std::vector<T>& xs, const std::vector<T>& gs,
                         const std::vector<T>& ds, long double e) {
  closed_form r{std::vector<long double>(m * n), std::vector<long double>(n)};
  for (std::size_t k = 0; k < n; ++k) {
    long double mu = 0, var = 0, sd = 0, sdx = 0;
    for (std::size_t i = 0; i < m; ++i) mu += static_cast<long double>(xs[i * n + k]);
    mu /= static_cast<long double>(m);
    for (std::size_t i = 0; i < m; ++i) {
      const long double d = static_cast<long double>(xs[i * n + k]) - mu;
      var += d * d;
    }
    var /= static_cast<long double>(m);
    const long double rstd = 1.0L / std::sqrt(var + e);
    for (std::size_t i = 0; i < m; ++i) {
      const long double dxh = static_cast<long double>(ds[i * n + k]) * static_cast<long double>(gs[k]);
      const long double xh = (static_cast<long double>(xs[i * n + k]) - mu) * rstd;
      sd += dxh;
      sdx += dxh * xh;
    }
    const long double mm = static_cast<long double>(m);
    for (std::size_t i = 0; i < m; ++i) {
      const long double dxh = static_cast<long double>(ds[i * n + k]) * static_cast<long double>(gs[k]);
      const long double xh = (static_cast<long double>(xs[i * n + k]) - mu) * rstd;
      r.dx[i * n + k] = rstd / mm * (mm * dxh - sd - xh * sdx);
      const long double term = rstd / mm * (mm * std::fabs(dxh) + std::fabs(sd) + std::fabs(xh * sdx));
      if (term > r.scale[k]) r.scale[k] = term;
    }
  }
  return r;
}

/// The worst error of ctgrad's dx, over features, relative to that feature's largest term.
template <class T>
long double worst_dx_error(long double sd, unsigned seed) {
  const std::size_t m = 64, n = 3;
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<T> xs(m * n), ds(m * n);
  for (std::size_t i = 0; i < m * n; ++i) {
    // mean of order sd (a shift the normalization removes), spread of order sd
    xs[i] = static_cast<T>(sd * static_cast<long double>(0.5 + 1.7 * u(gen)));
    ds[i] = static_cast<T>(u(gen));
  }
  const std::vector<T> gs{T(1.5), T(-0.5), T(2)}, bs{T(0.1), T(0.2), T(-0.3)};
  const T e = T(1e-5);
  const auto [yv, dxv, dgv, dbv] = ctgrad::evaluate(
      ctgrad::exprs(y, grads), ctgrad::bind(x, ctgrad::view<const T, 2>(xs.data(), {m, n})),
      ctgrad::bind(gamma_, ctgrad::view<const T, 1>(gs.data(), {n})), ctgrad::bind(beta_, ctgrad::view<const T, 1>(bs.data(), {n})),
      ctgrad::bind(eps, e), ctgrad::bind(dy, ctgrad::view<const T, 2>(ds.data(), {m, n})));
  const closed_form ref = reference_dx(m, n, xs, gs, ds, static_cast<long double>(e));
  long double worst = 0;
  for (std::size_t i = 0; i < m * n; ++i) {
    const long double err = std::fabs(static_cast<long double>(dxv.values[i]) - ref.dx[i]) / ref.scale[i % n];
    if (!(err <= worst)) worst = err;  // NaN propagates into the result
  }
  return worst;
}

}  // namespace

TEST_CASE("float batch norm dx within 1e-5 of the long-double closed form for sd 1e-20 .. 1e30", "[nn][numerics][range]") {
  for (int p = -20; p <= 30; ++p) {
    const long double sd = std::pow(10.0L, p);
    const long double err = worst_dx_error<float>(sd, 1000U + static_cast<unsigned>(p + 100));
    INFO("float, standard deviation 1e" << p << ": relative error " << static_cast<double>(err));
    CHECK(err <= 1e-5L);
  }
}

TEST_CASE("double batch norm dx within 1e-12 of the long-double closed form for sd 1e-150 .. 1e150", "[nn][numerics][range]") {
  for (int p = -150; p <= 150; p += 5) {
    const long double sd = std::pow(10.0L, p);
    const long double err = worst_dx_error<double>(sd, 2000U + static_cast<unsigned>(p + 200));
    INFO("double, standard deviation 1e" << p << ": relative error " << static_cast<double>(err));
    CHECK(err <= 1e-12L);
  }
}
