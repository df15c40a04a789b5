// Batch norm over a compile-time set of axes: N x C x H x W per channel over {0, 2, 3} as
// PyTorch's BatchNorm2d, N x C x L over {0, 2}, channels last over {0, 1, 2}. Derived gradients
// against the closed form with m = the number of reduced elements (plain loops,
// tests/support/normalization_reference.hpp) and against finite differences.
#include <catch2/catch.hpp>

#include <ctgrad.hpp>

#include "support/gradcheck_wrt.hpp"
#include "support/normalization_reference.hpp"
#include "support/numeric.hpp"

namespace {

auto gamma_ = ctgrad::input<"gamma", 1>;
auto beta_ = ctgrad::input<"beta", 1>;
auto rm = ctgrad::input<"running_mean", 1>;
auto rv = ctgrad::input<"running_var", 1>;
auto eps = ctgrad::input<"eps", 0>;

using vec = std::vector<double>;

template <std::size_t... Axes>
constexpr std::uint32_t mask() {
  return ((std::uint32_t{1} << Axes) | ... | 0U);
}

/// Training-mode y, dx, dgamma, dbeta over Axes of a rank-R input, and the running estimates
/// of one step under both conventions, against plain loops.
template <std::size_t R, std::size_t... Axes>
void check_training(std::array<std::size_t, R> ext, unsigned seed) {
  auto x = ctgrad::input<"x", R>;
  auto dy = ctgrad::input<"dy", R>;
  const auto [y, rm_ref, rv_ref] = ctgrad::nn::batch_norm<ctgrad::nn::training, Axes...>(x, gamma_, beta_, rm, rv, eps);
  const auto [y2, rm_pt, rv_pt] =
      ctgrad::nn::batch_norm<ctgrad::nn::training, Axes...>(x, gamma_, beta_, rm, rv, eps, ctgrad::nn::pytorch_momentum{});
  const auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_, beta_));

  const ctgrad_test::norm_layout L{{ext.begin(), ext.end()}, mask<Axes...>(), ~mask<Axes...>() & ((1U << R) - 1U)};
  const std::size_t C = L.params(), N = L.size();
  const vec xs = ctgrad_test::random_vector(N, seed, -3.0, 5.0), ds = ctgrad_test::random_vector(N, seed + 1);
  const vec gs = ctgrad_test::random_vector(C, seed + 2, 0.5, 2.0), bs = ctgrad_test::random_vector(C, seed + 3);
  const vec means = ctgrad_test::random_vector(C, seed + 4), vars = ctgrad_test::random_vector(C, seed + 5, 0.5, 2.0);
  const double e = 1e-5;
  const auto [yv, dxv, dgv, dbv, rm_a, rv_a, rm_b, rv_b] = ctgrad::evaluate(
      ctgrad::exprs(y, grads, rm_ref, rv_ref, rm_pt, rv_pt), ctgrad::bind(x, ctgrad::view<const double, R>(xs.data(), ext)),
      ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {C})),
      ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {C})),
      ctgrad::bind(rm, ctgrad::view<const double, 1>(means.data(), {C})),
      ctgrad::bind(rv, ctgrad::view<const double, 1>(vars.data(), {C})), ctgrad::bind(eps, e),
      ctgrad::bind(dy, ctgrad::view<const double, R>(ds.data(), ext)));
  const auto ref = ctgrad_test::training_reference(L, xs, gs, bs, ds, e);

  INFO("rank " << R << ", m = " << L.m() << ", features " << C << ", seed " << seed);
  CHECK(yv.extents == ext);
  CHECK(dgv.extents == std::array<std::size_t, 1>{C});
  CHECK(ctgrad_test::relative_error(yv.values, ref.y) <= 1e-12);
  CHECK(ctgrad_test::relative_error(dxv.values, ref.dx, ref.dx_scale) <= 1e-12);
  CHECK(ctgrad_test::relative_error(dgv.values, ref.dgamma) <= 1e-12);
  CHECK(ctgrad_test::relative_error(dbv.values, ref.dbeta) <= 1e-12);

  vec ref_mean = means, ref_var = vars, pt_mean = means, pt_var = vars;
  ctgrad_test::reference_convention_step(0.9, ref.mean, ref.var, ref_mean, ref_var);
  ctgrad_test::pytorch_convention_step(0.1, L.m(), ref.mean, ref.var, pt_mean, pt_var);
  CHECK(ctgrad_test::relative_error(rm_a.values, ref_mean) <= 1e-12);
  CHECK(ctgrad_test::relative_error(rv_a.values, ref_var) <= 1e-12);
  CHECK(ctgrad_test::relative_error(rm_b.values, pt_mean) <= 1e-12);
  CHECK(ctgrad_test::relative_error(rv_b.values, pt_var) <= 1e-12);
}

/// Inference mode over Axes against dx = dy * gamma / sqrt(running_var + eps) and friends.
template <std::size_t R, std::size_t... Axes>
void check_inference(std::array<std::size_t, R> ext, unsigned seed) {
  auto x = ctgrad::input<"x", R>;
  auto dy = ctgrad::input<"dy", R>;
  const auto y = ctgrad::nn::batch_norm_inference<Axes...>(x, gamma_, beta_, rm, rv, eps);
  const auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_, beta_));
  const ctgrad_test::norm_layout L{{ext.begin(), ext.end()}, mask<Axes...>(), ~mask<Axes...>() & ((1U << R) - 1U)};
  const std::size_t C = L.params(), N = L.size();
  const vec xs = ctgrad_test::random_vector(N, seed, -3.0, 5.0), ds = ctgrad_test::random_vector(N, seed + 1);
  const vec gs = ctgrad_test::random_vector(C, seed + 2, 0.5, 2.0), bs = ctgrad_test::random_vector(C, seed + 3);
  const vec means = ctgrad_test::random_vector(C, seed + 4), vars = ctgrad_test::random_vector(C, seed + 5, 0.5, 2.0);
  const auto [yv, dxv, dgv, dbv] = ctgrad::evaluate(
      ctgrad::exprs(y, grads), ctgrad::bind(x, ctgrad::view<const double, R>(xs.data(), ext)),
      ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {C})),
      ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {C})),
      ctgrad::bind(rm, ctgrad::view<const double, 1>(means.data(), {C})),
      ctgrad::bind(rv, ctgrad::view<const double, 1>(vars.data(), {C})), ctgrad::bind(eps, 1e-3),
      ctgrad::bind(dy, ctgrad::view<const double, R>(ds.data(), ext)));
  const auto ref = ctgrad_test::inference_reference(L, xs, gs, bs, means, vars, ds, 1e-3);
  INFO("rank " << R << ", features " << C << ", seed " << seed);
  CHECK(ctgrad_test::relative_error(yv.values, ref.y) <= 1e-13);
  CHECK(ctgrad_test::relative_error(dxv.values, ref.dx) <= 1e-13);
  CHECK(ctgrad_test::relative_error(dgv.values, ref.dgamma) <= 1e-13);
  CHECK(ctgrad_test::relative_error(dbv.values, ref.dbeta) <= 1e-13);
}

}  // namespace

TEST_CASE("BatchNorm2d layout: N x C x H x W over {0, 2, 3} equals the closed form with m = N*H*W", "[nn][nd]") {
  check_training<4, 0, 2, 3>({2, 3, 4, 5}, 1);
  check_training<4, 0, 2, 3>({1, 4, 3, 3}, 2);   // a single image: m = H*W
  check_training<4, 0, 2, 3>({8, 1, 2, 2}, 3);   // one channel
  check_training<4, 0, 2, 3>({3, 16, 1, 1}, 4);  // 1 x 1 spatial: BatchNorm1d in disguise
}

TEST_CASE("other layouts: N x C x L over {0, 2}, channels last over {0, 1, 2}, m x n over {0}", "[nn][nd]") {
  check_training<3, 0, 2>({4, 3, 7}, 11);
  check_training<4, 0, 1, 2>({2, 3, 4, 5}, 12);
  check_training<2, 0>({9, 4}, 13);
}

TEST_CASE("inference mode over {0, 2, 3} and {0, 2} equals the affine closed form", "[nn][nd]") {
  check_inference<4, 0, 2, 3>({2, 3, 4, 5}, 21);
  check_inference<3, 0, 2>({4, 3, 7}, 22);
  check_inference<4, 0, 1, 2>({2, 3, 2, 5}, 23);
}

TEST_CASE("N x C x H x W gradients agree with central finite differences", "[nn][nd]") {
  auto x = ctgrad::input<"x", 4>;
  const std::array<std::size_t, 4> ext{2, 3, 2, 2};
  const std::size_t C = 3, N = 24;
  const vec xs = ctgrad_test::random_vector(N, 31, -2.0, 2.0);
  const vec gs = ctgrad_test::random_vector(C, 32, 0.5, 2.0), bs = ctgrad_test::random_vector(C, 33);
  const vec means = ctgrad_test::random_vector(C, 34), vars = ctgrad_test::random_vector(C, 35, 0.5, 2.0);
  auto bx = ctgrad::bind(x, ctgrad::view<const double, 4>(xs.data(), ext));
  auto bg = ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {C}));
  auto bb = ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {C}));
  auto brm = ctgrad::bind(rm, ctgrad::view<const double, 1>(means.data(), {C}));
  auto brv = ctgrad::bind(rv, ctgrad::view<const double, 1>(vars.data(), {C}));
  auto be = ctgrad::bind(eps, 1e-5);
  const auto train = ctgrad::nn::batch_norm_train<0, 2, 3>(x, gamma_, beta_, eps);
  CHECK_THAT(ctgrad_test::gradcheck_wrt(train, x, xs, ext, 1e-7, bg, bb, be), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(train, gamma_, gs, {C}, 1e-8, bx, bb, be), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(train, beta_, bs, {C}, 1e-8, bx, bg, be), ctgrad::matchers::passes_gradcheck());
  const auto infer = ctgrad::nn::batch_norm_inference<0, 2, 3>(x, gamma_, beta_, rm, rv, eps);
  CHECK_THAT(ctgrad_test::gradcheck_wrt(infer, x, xs, ext, 1e-8, bg, bb, brm, brv, be), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(infer, gamma_, gs, {C}, 1e-8, bx, bb, brm, brv, be), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(infer, beta_, bs, {C}, 1e-8, bx, bg, brm, brv, be), ctgrad::matchers::passes_gradcheck());
}

TEST_CASE("per-channel gamma is placed at axis 1, and a wrong channel count names the inputs", "[nn][nd]") {
  auto x = ctgrad::input<"x", 4>;
  const auto y = ctgrad::nn::batch_norm_train<0, 2, 3>(x, gamma_, beta_, eps);
  CHECK(fmt::format("{}", y).starts_with("expand<4;1>(gamma) * "));
  const vec xs(2 * 3 * 2 * 2, 1.0), four(4, 1.0);
  auto call = [&] {
    return ctgrad::evaluate(y, ctgrad::bind(x, ctgrad::view<const double, 4>(xs.data(), {2, 3, 2, 2})),
                            ctgrad::bind(gamma_, ctgrad::view<const double, 1>(four.data(), {4})),
                            ctgrad::bind(beta_, ctgrad::view<const double, 1>(four.data(), {4})), ctgrad::bind(eps, 1e-5));
  };
  CHECK_THROWS_AS(call(), ctgrad::shape_error);
  CHECK_THROWS_WITH(call(), Catch::Contains("'gamma' axis 0 has extent 4") || Catch::Contains("'beta' axis 0 has extent 4"));
}

TEST_CASE("one element per channel (N = H = W = 1) under PyTorch's convention throws, naming the axes", "[nn][nd]") {
  auto x = ctgrad::input<"x", 4>;
  const auto est = ctgrad::nn::running_estimates<0, 2, 3>(x, rm, rv, ctgrad::nn::pytorch_momentum{});
  const vec xs{1.0, 2.0, 3.0}, zeros(3, 0.0), ones(3, 1.0);
  auto call = [&] {
    return ctgrad::evaluate(est, ctgrad::bind(x, ctgrad::view<const double, 4>(xs.data(), {1, 3, 1, 1})),
                            ctgrad::bind(rm, ctgrad::view<const double, 1>(zeros.data(), {3})),
                            ctgrad::bind(rv, ctgrad::view<const double, 1>(ones.data(), {3})));
  };
  CHECK_THROWS_AS(call(), ctgrad::nn::batch_size_error);
  CHECK_THROWS_WITH(call(), Catch::Contains("axes {0, 2, 3}") && Catch::Contains("m = 1"));
}
