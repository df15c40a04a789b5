// Layer norm (per sample, over the last axis, its own gamma and beta) from nn/normalize.hpp:
// derived gradients against its closed form as plain loops and against finite differences.
#include <catch2/catch.hpp>

#include <ctgrad.hpp>

#include "support/gradcheck_wrt.hpp"
#include "support/normalization_reference.hpp"
#include "support/numeric.hpp"

namespace {

auto gamma_ = ctgrad::input<"gamma", 1>;
auto beta_ = ctgrad::input<"beta", 1>;
auto eps = ctgrad::input<"eps", 0>;

using vec = std::vector<double>;

/// Layer norm of a rank-R input with extents `ext` against the closed form: statistics over the
/// last axis, gamma and beta indexed by it.
template <std::size_t R>
void check_closed_form(std::array<std::size_t, R> ext, unsigned seed, double e) {
  auto x = ctgrad::input<"x", R>;
  auto dy = ctgrad::input<"dy", R>;
  auto y = ctgrad::nn::layer_norm(x, gamma_, beta_, eps);
  auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_, beta_));
  std::size_t N = 1;
  for (auto v : ext) N *= v;
  const std::size_t D = ext[R - 1];
  const vec xs = ctgrad_test::random_vector(N, seed, -3.0, 5.0), ds = ctgrad_test::random_vector(N, seed + 1);
  const vec gs = ctgrad_test::random_vector(D, seed + 2, 0.5, 2.0), bs = ctgrad_test::random_vector(D, seed + 3);
  const auto [yv, dxv, dgv, dbv] = ctgrad::evaluate(
      ctgrad::exprs(y, grads), ctgrad::bind(x, ctgrad::view<const double, R>(xs.data(), ext)),
      ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {D})),
      ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {D})), ctgrad::bind(eps, e),
      ctgrad::bind(dy, ctgrad::view<const double, R>(ds.data(), ext)));
  const std::uint32_t last = std::uint32_t{1} << (R - 1);
  const auto ref =
      ctgrad_test::training_reference(ctgrad_test::norm_layout{{ext.begin(), ext.end()}, last, last}, xs, gs, bs, ds, e);
  INFO("rank " << R << ", last extent " << D << ", seed " << seed);
  CHECK(ctgrad_test::relative_error(yv.values, ref.y) <= 1e-12);
  CHECK(ctgrad_test::relative_error(dxv.values, ref.dx, ref.dx_scale) <= 1e-12);
  CHECK(ctgrad_test::relative_error(dgv.values, ref.dgamma) <= 1e-12);
  CHECK(ctgrad_test::relative_error(dbv.values, ref.dbeta) <= 1e-12);
}

}  // namespace

TEST_CASE("layer norm and its derived gradients equal the closed form (1e-12)", "[nn][layer_norm]") {
  for (std::size_t m : {1, 3, 17})
    for (std::size_t d : {2, 5, 64}) check_closed_form<2>({m, d}, unsigned(m * 13 + d), 1e-5);
  check_closed_form<3>({2, 3, 8}, 77, 1e-5);
  check_closed_form<1>({9}, 78, 1e-1);
}

TEST_CASE("layer norm's gradients agree with central finite differences", "[nn][layer_norm]") {
  auto x = ctgrad::input<"x", 2>;
  auto y = ctgrad::nn::layer_norm(x, gamma_, beta_, eps);
  const std::size_t m = 3, d = 5;
  const vec xs = ctgrad_test::random_vector(m * d, 31, -2.0, 2.0);
  const vec gs = ctgrad_test::random_vector(d, 32, 0.5, 2.0), bs = ctgrad_test::random_vector(d, 33);
  auto bx = ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, d}));
  auto bg = ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {d}));
  auto bb = ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {d}));
  auto be = ctgrad::bind(eps, 1e-5);
  CHECK_THAT(ctgrad_test::gradcheck_wrt(y, x, xs, {m, d}, 1e-7, bg, bb, be), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(y, gamma_, gs, {d}, 1e-8, bx, bb, be), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(y, beta_, bs, {d}, 1e-8, bx, bg, be), ctgrad::matchers::passes_gradcheck());
}

TEST_CASE("layer norm normalizes each sample, not each feature", "[nn][layer_norm]") {
  // Each row of y (gamma = 1, beta = 0) has mean 0 and biased variance var / (var + eps).
  auto x = ctgrad::input<"x", 2>;
  auto y = ctgrad::nn::layer_norm(x, gamma_, beta_, eps);
  const std::size_t m = 4, d = 6;
  const vec xs = ctgrad_test::random_vector(m * d, 41, -5.0, 9.0), ones(d, 1.0), zeros(d, 0.0);
  const auto yv = ctgrad::evaluate(y, ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, d})),
                                   ctgrad::bind(gamma_, ctgrad::view<const double, 1>(ones.data(), {d})),
                                   ctgrad::bind(beta_, ctgrad::view<const double, 1>(zeros.data(), {d})), ctgrad::bind(eps, 0.0));
  for (std::size_t i = 0; i < m; ++i) {
    double mean = 0, sq = 0;
    for (std::size_t j = 0; j < d; ++j) mean += yv(i, j) / double(d);
    for (std::size_t j = 0; j < d; ++j) sq += (yv(i, j) - mean) * (yv(i, j) - mean) / double(d);
    CHECK(std::abs(mean) <= 1e-14);
    CHECK(std::abs(sq - 1.0) <= 1e-13);
  }
}

namespace {

/// Float layer norm over m rows of n, rows [big0, big1) scaled by 1e20: the plan's statistics of
/// those rows (1 / standard deviation 1e-20, its cube below float's range) are outside the float
/// range in which a loop may compute in float (executor::narrowable), the others inside it.
struct float_rows {
  std::size_t m, n;
  std::vector<float> x, dy, g, b;
  float_rows(std::size_t m_, std::size_t n_, std::size_t big0, std::size_t big1) : m(m_), n(n_) {
    const vec xs = ctgrad_test::random_vector(m * n, 5, -3.0, 5.0), ds = ctgrad_test::random_vector(m * n, 6);
    const vec gs = ctgrad_test::random_vector(n, 7, 0.5, 2.0), bs = ctgrad_test::random_vector(n, 8);
    for (std::size_t i = 0; i < m * n; ++i) {
      const std::size_t row = i / n;
      x.push_back(static_cast<float>(xs[i] * (row >= big0 && row < big1 ? 1e20 : 1.0)));
      dy.push_back(static_cast<float>(ds[i]));
    }
    for (std::size_t j = 0; j < n; ++j) {
      g.push_back(static_cast<float>(gs[j]));
      b.push_back(static_cast<float>(bs[j]));
    }
  }
  /// y, dx, dgamma, dbeta by a plan on `threads` threads.
  std::array<std::vector<float>, 4> run(std::size_t threads) const {
    auto xi = ctgrad::input<"x", 2>;
    auto dyi = ctgrad::input<"dy", 2>;
    auto y = ctgrad::nn::layer_norm(xi, gamma_, beta_, eps);
    auto plan = ctgrad::compile<float>(
        ctgrad::exprs(y, ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dyi), ctgrad::wrt(xi, gamma_, beta_))));
    plan.set_threads(threads);
    std::array<std::vector<float>, 4> out{std::vector<float>(m * n), std::vector<float>(m * n), std::vector<float>(n),
                                          std::vector<float>(n)};
    plan.run(std::tuple{ctgrad::view<float, 2>(out[0].data(), {m, n}), ctgrad::view<float, 2>(out[1].data(), {m, n}),
                        ctgrad::view<float, 1>(out[2].data(), {n}), ctgrad::view<float, 1>(out[3].data(), {n})},
             ctgrad::bind(xi, x, {m, n}), ctgrad::bind(dyi, dy, {m, n}), ctgrad::bind(gamma_, g, {n}),
             ctgrad::bind(beta_, b, {n}), ctgrad::bind(eps, 1e-5f));
    return out;
  }
};

}  // namespace

// On one thread the plan runs layer norm's loops block of rows by block of rows (a chain, see
// executor::chain_start), deciding per block whether a loop computes in float or in double; on
// two threads it runs them one after another, each split between the threads.
TEST_CASE("layer norm in float over many blocks of rows: per-row closed form, and one thread as two", "[nn][layer_norm]") {
  SECTION("rows of ordinary scale: one thread and two give the same bits") {
    const float_rows p(1030, 64, 0, 0);  // 1030 rows: blocks of 256 and a partial one
    CHECK(p.run(1) == p.run(2));
  }
  SECTION("a block with rows of scale 1e20: every row within 1e-5 of the closed form") {
    const float_rows p(1030, 64, 300, 311);
    const auto out = p.run(1);
    const std::vector<double> xd(p.x.begin(), p.x.end()), dyd(p.dy.begin(), p.dy.end()), gd(p.g.begin(), p.g.end()),
        bd(p.b.begin(), p.b.end());
    const auto ref = ctgrad_test::training_reference(ctgrad_test::norm_layout{{p.m, p.n}, 2, 2}, xd, gd, bd, dyd, 1e-5);
    for (std::size_t row = 0; row < p.m; ++row) {
      const auto slice = [&](const auto& v) {
        return std::vector<double>(v.begin() + long(row * p.n), v.begin() + long((row + 1) * p.n));
      };
      INFO("row " << row);
      CHECK(ctgrad_test::relative_error(slice(out[0]), slice(ref.y)) <= 1e-5);
      CHECK(ctgrad_test::relative_error(slice(out[1]), slice(ref.dx), slice(ref.dx_scale)) <= 1e-5);
    }
    CHECK(ctgrad_test::relative_error(out[2], ref.dgamma) <= 1e-5);
    CHECK(ctgrad_test::relative_error(out[3], ref.dbeta) <= 1e-5);
  }
}
