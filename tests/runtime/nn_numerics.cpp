// Numerics users have been burned by: large offsets in float, constant features, a batch of
// one, and NaN/Inf in one feature. References are plain double loops
// (tests/support/normalization_reference.hpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

#include <ctgrad.hpp>

#include "support/normalization_reference.hpp"
#include "support/numeric.hpp"
#include "support/batch_norm_inputs.hpp"

namespace {

using namespace ctgrad_test::bn_inputs;

auto y = ctgrad::nn::batch_norm_train(x, gamma_, beta_, eps);
auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_, beta_));
auto var = ctgrad::nn::batch_variance<0>(x);
auto xhat = ctgrad::nn::normalize<0>(x, eps);

template <class T>
std::vector<T> offset_batch(std::size_t m, std::size_t n, unsigned seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> noise(0.0, 0.01);
  std::vector<T> v(m * n);
  for (auto& e : v) e = static_cast<T>(1e4 + noise(gen));
  return v;
}

template <class T>
bool all_finite(const std::vector<T>& v) {
  for (T e : v)
    if (!std::isfinite(e)) return false;
  return true;
}

}  // namespace

TEST_CASE("float data at 1e4 with noise 0.01, m = 1000: variance and outputs within 1e-3 of double", "[nn][numerics]") {
  const std::size_t m = 1000, n = 3;
  const auto xs = offset_batch<float>(m, n, 2024);
  const std::vector<float> gs{1.0f, 0.5f, 2.0f}, bs{0.0f, 1.0f, -1.0f}, ds(m * n, 1.0f);
  const float e = 1e-5f;
  const auto [vv, yv] = ctgrad::evaluate(ctgrad::exprs(var, y), ctgrad::bind(x, ctgrad::view<const float, 2>(xs.data(), {m, n})),
                                         ctgrad::bind(gamma_, ctgrad::view<const float, 1>(gs.data(), {n})),
                                         ctgrad::bind(beta_, ctgrad::view<const float, 1>(bs.data(), {n})), ctgrad::bind(eps, e));
  // The reference sees the same float data, converted to double.
  const auto ref = ctgrad_test::training_reference(ctgrad_test::norm_layout{{m, n}, 0b01, 0b10}, xs, gs, bs, ds, double(e));
  for (std::size_t k = 0; k < n; ++k) {
    INFO("feature " << k << ": variance " << vv.values[k] << ", double reference " << ref.var[k]);
    CHECK(vv.values[k] >= 0.0f);
    CHECK(std::abs(double(vv.values[k]) - ref.var[k]) <= 1e-3 * ref.var[k]);
  }
  CHECK(ctgrad_test::relative_error(yv.values, ref.y) <= 1e-3);

  // The test discriminates: E[x^2] - E[x]^2 on the same data, in float as a float kernel would
  // compute it, loses every digit to cancellation. (ctgrad itself sums squares in double.)
  double worst = 0;
  for (std::size_t k = 0; k < n; ++k) {
    float s = 0.0f, s2 = 0.0f;
    for (std::size_t i = 0; i < m; ++i) {
      s += xs[i * n + k];
      s2 += xs[i * n + k] * xs[i * n + k];
    }
    const float mean_f = s / float(m), naive = s2 / float(m) - mean_f * mean_f;
    worst = std::max(worst, std::abs(double(naive) - ref.var[k]) / ref.var[k]);
  }
  CHECK(worst > 1e-3);
}

TEST_CASE("a constant feature normalizes to exactly 0 with finite gradients", "[nn][numerics]") {
  for (double c : {0.1, -7.77, 1e4 + 0.3, 3.14159265358979, 1e-300})
    for (std::size_t m : {2, 3, 10, 1000}) {
      const std::size_t n = 3;
      auto xs = ctgrad_test::random_vector(m * n, unsigned(m), -1.0, 1.0);
      for (std::size_t i = 0; i < m; ++i) xs[i * n + 1] = c;  // feature 1 is constant
      const auto ds = ctgrad_test::random_vector(m * n, unsigned(m) + 1);
      const std::vector<double> gs{1.5, 0.5, 2.0}, bs{0.1, -0.2, 0.3};
      const auto [xh, vv, yv, dxv, dgv, dbv] = ctgrad::evaluate(
          ctgrad::exprs(xhat, var, y, grads), ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n})),
          ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {n})),
          ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {n})), ctgrad::bind(eps, 1e-5),
          ctgrad::bind(dy, ctgrad::view<const double, 2>(ds.data(), {m, n})));
      const auto mu = ctgrad::evaluate(ctgrad::nn::batch_mean<0>(x), ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n})));
      INFO("c = " << c << ", m = " << m);
      CHECK(vv.values[1] == 0.0);
      CHECK(mu.values[1] == c);
      for (std::size_t i = 0; i < m; ++i) {
        CHECK(xh(i, 1) == 0.0);
        CHECK(yv(i, 1) == bs[1]);
      }
      CHECK(dgv.values[1] == 0.0);
      CHECK(all_finite(dxv.values));
      CHECK(all_finite(dgv.values));
      CHECK(all_finite(dbv.values));
      // dx of the constant feature: xhat = 0, so dx = rstd (dxhat - mean dxhat), from the closed form.
      const auto ref = ctgrad_test::training_reference(ctgrad_test::norm_layout{{m, n}, 0b01, 0b10}, xs, gs, bs, ds, 1e-5);
      CHECK(ctgrad_test::relative_error(dxv.values, ref.dx, ref.dx_scale) <= 1e-12);
    }
}

TEST_CASE("the plain two-pass centering is not exact for a constant feature (why the shift exists)", "[nn][numerics]") {
  // The sum of ten 0.3s is 2.9999999999999996 in double, added one by one or four rows at a
  // time, so mean - 0.3 is one ulp, not 0.
  const std::vector<double> xs(10, 0.3);
  const auto centered = ctgrad::evaluate(x - ctgrad::mean<0>(x), ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {10, 1})));
  CHECK(centered.values[0] != 0.0);
  const auto shifted = ctgrad::evaluate(xhat, ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {10, 1})), ctgrad::bind(eps, 1e-5));
  CHECK(shifted.values[0] == 0.0);
}

TEST_CASE("a batch of one in training mode: y = beta, dx = 0, dgamma = 0, dbeta = dy (documented)", "[nn][numerics]") {
  const std::size_t n = 4;
  const std::vector<double> xs{3.0, -1.0, 1e4, 0.1}, gs{1.0, 2.0, 3.0, 4.0}, bs{0.5, 0.6, 0.7, 0.8}, ds{1.0, -2.0, 3.0, -4.0};
  const std::vector<double> means{0.0, 0.0, 0.0, 0.0}, vars{1.0, 1.0, 1.0, 1.0};
  auto bindings = std::tuple{ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {1, n})),
                             ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {n})),
                             ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {n})),
                             ctgrad::bind(rm, ctgrad::view<const double, 1>(means.data(), {n})),
                             ctgrad::bind(rv, ctgrad::view<const double, 1>(vars.data(), {n})), ctgrad::bind(eps, 1e-5),
                             ctgrad::bind(dy, ctgrad::view<const double, 2>(ds.data(), {1, n}))};
  const auto train = ctgrad::nn::batch_norm<ctgrad::nn::training, 0>(x, gamma_, beta_, rm, rv, eps);
  const auto [yv, rm_v, rv_v, dxv, dgv, dbv] =
      std::apply([&](auto... b) { return ctgrad::evaluate(ctgrad::exprs(train, grads), b...); }, bindings);
  for (std::size_t k = 0; k < n; ++k) {
    CHECK(yv.values[k] == bs[k]);
    CHECK(dxv.values[k] == 0.0);
    CHECK(dgv.values[k] == 0.0);
    CHECK(dbv.values[k] == ds[k]);
    // Reference convention: the batch mean is the sample, the biased variance is 0.
    CHECK(std::abs(rm_v.values[k] - 0.1 * xs[k]) <= 1e-12 * std::abs(xs[k]));
    CHECK(std::abs(rv_v.values[k] - 0.9) <= 1e-15);
  }
}

TEST_CASE("a batch of one under PyTorch's convention throws, naming the input, the axes and the count", "[nn][numerics]") {
  const std::size_t n = 2;
  const std::vector<double> xs{3.0, -1.0}, means{0.0, 0.0}, vars{1.0, 1.0};
  const auto estimates = ctgrad::nn::running_estimates<0>(x, rm, rv, ctgrad::nn::pytorch_momentum{});
  std::vector<double> out_mean{-5.0, -5.0}, out_var{-5.0, -5.0};
  auto call = [&] {
    ctgrad::evaluate_into(estimates,
                          std::tuple{ctgrad::view<double, 1>(out_mean.data(), {n}), ctgrad::view<double, 1>(out_var.data(), {n})},
                          ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {1, n})),
                          ctgrad::bind(rm, ctgrad::view<const double, 1>(means.data(), {n})),
                          ctgrad::bind(rv, ctgrad::view<const double, 1>(vars.data(), {n})));
  };
  CHECK_THROWS_AS(call(), ctgrad::nn::batch_size_error);
  CHECK_THROWS_WITH(call(), Catch::Contains("m = 1") && Catch::Contains("`x`") && Catch::Contains("axes {0}"));
  // Nothing was written.
  CHECK(out_mean == std::vector<double>{-5.0, -5.0});
  CHECK(out_var == std::vector<double>{-5.0, -5.0});
  // Two samples are enough.
  const std::vector<double> two{3.0, -1.0, 5.0, 1.0};
  const auto [mv, vv] = ctgrad::evaluate(estimates, ctgrad::bind(x, ctgrad::view<const double, 2>(two.data(), {2, n})),
                                         ctgrad::bind(rm, ctgrad::view<const double, 1>(means.data(), {n})),
                                         ctgrad::bind(rv, ctgrad::view<const double, 1>(vars.data(), {n})));
  CHECK(std::abs(vv.values[0] - (0.9 + 0.1 * 2.0)) <= 1e-15);  // unbiased variance of {3, 5} is 2
}

TEST_CASE("NaN or Inf in one feature's input affects only that feature's outputs and gradients", "[nn][numerics]") {
  const std::size_t m = 6, n = 4;
  const auto clean = ctgrad_test::random_vector(m * n, 91, -2.0, 2.0);
  const auto ds = ctgrad_test::random_vector(m * n, 92);
  const std::vector<double> gs{1.0, 2.0, 0.5, 1.5}, bs{0.1, 0.2, 0.3, 0.4}, means(n, 0.0), vars(n, 1.0);
  const auto train = ctgrad::nn::batch_norm<ctgrad::nn::training, 0>(x, gamma_, beta_, rm, rv, eps);
  auto run = [&](const std::vector<double>& xs) {
    return ctgrad::evaluate(ctgrad::exprs(train, grads), ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n})),
                            ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {n})),
                            ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {n})),
                            ctgrad::bind(rm, ctgrad::view<const double, 1>(means.data(), {n})),
                            ctgrad::bind(rv, ctgrad::view<const double, 1>(vars.data(), {n})), ctgrad::bind(eps, 1e-5),
                            ctgrad::bind(dy, ctgrad::view<const double, 2>(ds.data(), {m, n})));
  };
  const auto good = run(clean);
  const double inf = std::numeric_limits<double>::infinity();
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), inf, -inf}) {
    const std::size_t k_bad = 2;
    auto xs = clean;
    xs[3 * n + k_bad] = bad;
    const auto got = run(xs);
    INFO("bad value " << bad);
    // Per-element tensors (y, dx) and per-feature ones (running estimates, dgamma, dbeta).
    auto check_tensor = [&](const auto& g, const auto& c, std::size_t stride) {
      bool others_identical = true, bad_feature_non_finite = false;
      for (std::size_t i = 0; i < g.values.size(); ++i) {
        if (i % stride == k_bad) bad_feature_non_finite = bad_feature_non_finite || !std::isfinite(g.values[i]);
        else others_identical = others_identical && g.values[i] == c.values[i];
      }
      CHECK(others_identical);
      CHECK(bad_feature_non_finite);
    };
    check_tensor(std::get<0>(got), std::get<0>(good), n);  // y
    check_tensor(std::get<1>(got), std::get<1>(good), n);  // running mean
    check_tensor(std::get<2>(got), std::get<2>(good), n);  // running variance
    check_tensor(std::get<3>(got), std::get<3>(good), n);  // dx
    check_tensor(std::get<4>(got), std::get<4>(good), n);  // dgamma
    // dbeta = sum dy does not read x at all: it stays finite everywhere.
    CHECK(std::get<5>(got).values == std::get<5>(good).values);
  }
}
