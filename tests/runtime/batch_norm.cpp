// Batch normalization built from primitives: its derived gradients against the closed form of
// the reference document, written independently as plain loops (tests/support).
#include <catch2/catch.hpp>

#include <ctgrad.hpp>

#include "support/batch_norm_reference.hpp"
#include "support/numeric.hpp"
#include "support/batch_norm_inputs.hpp"

namespace {

using namespace ctgrad_test::bn_inputs;

auto y = ctgrad::nn::batch_norm_train(x, gamma_, beta_, eps);
auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_, beta_));
auto all = ctgrad::exprs(y, grads);

struct case_data {
  std::size_t m, n;
  unsigned seed;
};

template <class T>
void check_against_closed_form(case_data c, double tol) {
  const auto xs = ctgrad_test::random_vector<T>(c.m * c.n, c.seed, -3.0, 5.0);
  const auto gs = ctgrad_test::random_vector<T>(c.n, c.seed + 1, 0.5, 2.0);
  const auto bs = ctgrad_test::random_vector<T>(c.n, c.seed + 2);
  const auto ds = ctgrad_test::random_vector<T>(c.m * c.n, c.seed + 3);
  const double e = 1e-5;

  const auto [yv, dxv, dgv, dbv] = ctgrad::evaluate(
      all, ctgrad::bind(x, ctgrad::view<const T, 2>(xs.data(), {c.m, c.n})),
      ctgrad::bind(gamma_, ctgrad::view<const T, 1>(gs.data(), {c.n})),
      ctgrad::bind(beta_, ctgrad::view<const T, 1>(bs.data(), {c.n})), ctgrad::bind(eps, T(e)),
      ctgrad::bind(dy, ctgrad::view<const T, 2>(ds.data(), {c.m, c.n})));
  const auto ref = ctgrad_test::batch_norm_reference(xs, gs, bs, ds, c.m, c.n, double(T(e)));

  INFO("m = " << c.m << ", n = " << c.n << ", seed = " << c.seed);
  CHECK(yv.extents == std::array<std::size_t, 2>{c.m, c.n});
  CHECK(dxv.extents == std::array<std::size_t, 2>{c.m, c.n});
  CHECK(dgv.extents == std::array<std::size_t, 1>{c.n});
  CHECK(dbv.extents == std::array<std::size_t, 1>{c.n});
  CHECK(ctgrad_test::relative_error(yv.values, ref.y) <= tol);
  // dx is a difference of terms of magnitude dx_scale (tests/support/batch_norm_reference.hpp):
  // for m = 2 it is pure cancellation, so errors are measured against that scale.
  CHECK(ctgrad_test::relative_error(dxv.values, ref.dx, ref.dx_scale) <= tol);
  CHECK(ctgrad_test::relative_error(dgv.values, ref.dgamma) <= tol);
  CHECK(ctgrad_test::relative_error(dbv.values, ref.dbeta) <= tol);
}

}  // namespace

TEST_CASE("derived batch-norm gradients equal the closed form (double, 1e-12)", "[batch_norm]") {
  for (std::size_t m : {2, 3, 16, 257})
    for (std::size_t n : {1, 7, 64})
      for (unsigned seed : {1u, 2u, 3u}) check_against_closed_form<double>({m, n, seed * 101 + unsigned(m * n)}, 1e-12);
}

TEST_CASE("derived batch-norm gradients equal the closed form (float, 1e-5)", "[batch_norm]") {
  for (std::size_t m : {2, 3, 16, 257})
    for (std::size_t n : {1, 7, 64})
      for (unsigned seed : {4u, 5u, 6u}) check_against_closed_form<float>({m, n, seed * 101 + unsigned(m * n)}, 1e-5);
}

// Per feature, sum_i dx = 0 exactly, and sum_i dx * xhat = rstd * eps / (var + eps) *
// sum_i dxhat * xhat, which is 0 only when eps = 0 (sum_i xhat^2 = m var / (var + eps), not m).
// Both are checked on the derived dx, to rounding relative to the magnitude of the summed terms.
TEST_CASE("derived dx satisfies sum_i dx = 0 and the sum_i dx * xhat identity", "[batch_norm]") {
  for (double e : {0.0, 1e-5, 1e-1})
    for (std::size_t m : {2, 3, 16, 257}) {
      const std::size_t n = 7;
      const auto xs = ctgrad_test::random_vector(m * n, 11 + unsigned(m), -1.0, 3.0);
      const auto gs = ctgrad_test::random_vector(n, 12, 0.5, 2.0);
      const auto bs = ctgrad_test::random_vector(n, 13);
      const auto ds = ctgrad_test::random_vector(m * n, 14 + unsigned(m));
      const auto dxv = ctgrad::evaluate(
          ctgrad::get<0>(grads), ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n})),
          ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {n})),
          ctgrad::allow_unused(ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {n}))),  // dx reads no beta
          ctgrad::bind(eps, e), ctgrad::bind(dy, ctgrad::view<const double, 2>(ds.data(), {m, n})));
      const auto ref = ctgrad_test::batch_norm_reference(xs, gs, bs, ds, m, n, e);
      for (std::size_t k = 0; k < n; ++k) {
        double sum_dx = 0, sum_dx_xhat = 0, scale = 0, mean = 0, var = 0, sum_dxhat_xhat = 0;
        for (std::size_t i = 0; i < m; ++i) mean += xs[i * n + k] / double(m);
        for (std::size_t i = 0; i < m; ++i) var += (xs[i * n + k] - mean) * (xs[i * n + k] - mean) / double(m);
        for (std::size_t i = 0; i < m; ++i) {
          const double xh = ref.xhat[i * n + k];
          sum_dx += dxv(i, k);
          sum_dx_xhat += dxv(i, k) * xh;
          sum_dxhat_xhat += ds[i * n + k] * gs[k] * xh;
          scale += ref.dx_scale[i * n + k];
        }
        const double expected = (1 / std::sqrt(var + e)) * e / (var + e) * sum_dxhat_xhat;
        INFO("eps = " << e << ", m = " << m << ", feature " << k << ", sum dx = " << sum_dx
                      << ", sum dx*xhat = " << sum_dx_xhat << ", expected " << expected);
        CHECK(std::abs(sum_dx) <= 1e-13 * scale);
        CHECK(std::abs(sum_dx_xhat - expected) <= 1e-13 * scale);
      }
    }
}

TEST_CASE("batch norm's gradients are reported as expression text", "[batch_norm]") {
  // dbeta is the sum of dy over the batch axis, and dgamma sums dy * xhat: the rules for
  // broadcasting gamma_ and beta_ along axis 0 became sums over axis 0 (kept, then squeezed
  // away). The per-feature factor 1/sigma of xhat is taken out of dgamma's sum, which is split
  // around the batch mean of the shifted data d = x - x[0] (see nn/normalize.hpp).
  CHECK(fmt::format("{}", ctgrad::get<2>(grads)) == "squeeze<0>(sum<0>(dy))");
  const std::string dgamma = fmt::format("{}", ctgrad::get<1>(grads));
  CHECK(dgamma.starts_with("squeeze<0>(rsqrt("));
  CHECK(dgamma.find(" * (sum<0>(dy * (x - stop_gradient(first<0>(x)))) - ") != std::string::npos);
}
