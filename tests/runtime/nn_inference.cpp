// Inference mode: normalization with the running estimates. Its derived backward is checked
// against dx = dy * gamma / sqrt(running_var + eps), dgamma = sum dy * xhat, dbeta = sum dy
// (plain loops, tests/support/normalization_reference.hpp) and against finite differences.
#include <catch2/catch.hpp>

#include <type_traits>

#include <ctgrad.hpp>

#include "support/gradcheck_wrt.hpp"
#include "support/normalization_reference.hpp"
#include "support/numeric.hpp"
#include "support/batch_norm_inputs.hpp"

namespace {

using namespace ctgrad_test::bn_inputs;

auto outs = ctgrad::nn::batch_norm<ctgrad::nn::inference, 0>(x, gamma_, beta_, rm, rv, eps);
auto y = ctgrad::get<0>(outs);
auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_, beta_));

using vec = std::vector<double>;

}  // namespace

TEST_CASE("inference-mode batch norm and its derived backward equal the closed form (1e-13)", "[nn][inference]") {
  for (std::size_t m : {1, 2, 5, 64})
    for (std::size_t n : {1, 3, 16}) {
      const unsigned s = unsigned(m * 31 + n);
      const vec xs = ctgrad_test::random_vector(m * n, s, -3.0, 5.0), ds = ctgrad_test::random_vector(m * n, s + 1);
      const vec gs = ctgrad_test::random_vector(n, s + 2, 0.5, 2.0), bs = ctgrad_test::random_vector(n, s + 3);
      const vec means = ctgrad_test::random_vector(n, s + 4), vars = ctgrad_test::random_vector(n, s + 5, 0.1, 4.0);
      const double e = 1e-3;
      const auto [yv, rm_out, rv_out, dxv, dgv, dbv] = ctgrad::evaluate(
          ctgrad::exprs(outs, grads), ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n})),
          ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {n})),
          ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {n})),
          ctgrad::bind(rm, ctgrad::view<const double, 1>(means.data(), {n})),
          ctgrad::bind(rv, ctgrad::view<const double, 1>(vars.data(), {n})), ctgrad::bind(eps, e),
          ctgrad::bind(dy, ctgrad::view<const double, 2>(ds.data(), {m, n})));
      const auto ref = ctgrad_test::inference_reference({{m, n}, 0b01, 0b10}, xs, gs, bs, means, vars, ds, e);
      INFO("m = " << m << ", n = " << n);
      CHECK(ctgrad_test::relative_error(yv.values, ref.y) <= 1e-13);
      CHECK(ctgrad_test::relative_error(dxv.values, ref.dx) <= 1e-13);
      CHECK(ctgrad_test::relative_error(dgv.values, ref.dgamma) <= 1e-13);
      CHECK(ctgrad_test::relative_error(dbv.values, ref.dbeta) <= 1e-13);
      // Inference leaves the running estimates as they were.
      CHECK(rm_out.values == means);
      CHECK(rv_out.values == vars);
    }
}

TEST_CASE("inference-mode gradients agree with central finite differences", "[nn][inference]") {
  const std::size_t m = 4, n = 3;
  const vec xs = ctgrad_test::random_vector(m * n, 5, -2.0, 2.0);
  const vec gs = ctgrad_test::random_vector(n, 6, 0.5, 2.0), bs = ctgrad_test::random_vector(n, 7);
  const vec means = ctgrad_test::random_vector(n, 8), vars = ctgrad_test::random_vector(n, 9, 0.2, 3.0);
  auto bx = ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n}));
  auto bg = ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {n}));
  auto bb = ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {n}));
  auto brm = ctgrad::bind(rm, ctgrad::view<const double, 1>(means.data(), {n}));
  auto brv = ctgrad::bind(rv, ctgrad::view<const double, 1>(vars.data(), {n}));
  auto be = ctgrad::bind(eps, 1e-5);
  CHECK_THAT(ctgrad_test::gradcheck_wrt(y, x, xs, {m, n}, 1e-8, bg, bb, brm, brv, be), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(y, gamma_, gs, {n}, 1e-8, bx, bb, brm, brv, be), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(y, beta_, bs, {n}, 1e-8, bx, bg, brm, brv, be), ctgrad::matchers::passes_gradcheck());
}

TEST_CASE("training and inference come from the same blocks: with the batch's own statistics as running "
          "estimates, inference reproduces training's y",
          "[nn][inference]") {
  const std::size_t m = 7, n = 4;
  const vec xs = ctgrad_test::random_vector(m * n, 21, -1.0, 3.0);
  const vec gs = ctgrad_test::random_vector(n, 22, 0.5, 2.0), bs = ctgrad_test::random_vector(n, 23);
  auto bx = ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n}));
  auto bg = ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {n}));
  auto bb = ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {n}));
  // alpha = 0: the new running estimates are the batch mean and the biased batch variance.
  const auto train = ctgrad::nn::batch_norm<ctgrad::nn::training, 0>(x, gamma_, beta_, rm, rv, eps,
                                                                     ctgrad::nn::reference_momentum{ctgrad::constant<0>});
  const vec zeros(n, 0.0);
  const auto [y_train, batch_mean, batch_var] =
      ctgrad::evaluate(train, bx, bg, bb, ctgrad::bind(rm, ctgrad::view<const double, 1>(zeros.data(), {n})),
                       ctgrad::bind(rv, ctgrad::view<const double, 1>(zeros.data(), {n})), ctgrad::bind(eps, 1e-5));
  const auto y_infer = ctgrad::evaluate(y, bx, bg, bb, ctgrad::bind(rm, batch_mean), ctgrad::bind(rv, batch_var),
                                        ctgrad::bind(eps, 1e-5));
  CHECK(ctgrad_test::relative_error(y_infer.values, y_train.values) <= 1e-13);
  // ...but their gradients differ: inference treats the statistics as constants.
  const vec ds = ctgrad_test::random_vector(m * n, 24);
  auto bd = ctgrad::bind(dy, ctgrad::view<const double, 2>(ds.data(), {m, n}));
  const auto dx_train = ctgrad::evaluate(
      ctgrad::get<0>(ctgrad::vjp(ctgrad::outputs(ctgrad::get<0>(train)), ctgrad::seeds(dy), ctgrad::wrt(x))), bx, bg,
      ctgrad::allow_unused(bb), ctgrad::bind(eps, 1e-5), bd);  // dx reads no beta
  const auto dx_infer =
      // inference's dx = dy gamma rsqrt(running_var + eps) reads neither x, beta nor the running mean
      ctgrad::evaluate(ctgrad::get<0>(grads), ctgrad::allow_unused(bx), bg, ctgrad::allow_unused(bb),
                       ctgrad::allow_unused(ctgrad::bind(rm, batch_mean)), ctgrad::bind(rv, batch_var), ctgrad::bind(eps, 1e-5), bd);
  CHECK(ctgrad_test::relative_error(dx_infer.values, dx_train.values) > 1e-3);
}

TEST_CASE("inference mode's derived dx is the plain affine map, as an expression", "[nn][inference]") {
  CHECK(fmt::format("{}", ctgrad::get<0>(grads)) == "dy * gamma * rsqrt(running_var + eps)");
  CHECK(fmt::format("{}", y) == "gamma * (x - running_mean) * rsqrt(running_var + eps) + beta");
}

TEST_CASE("bound extents that do not fit are rejected, naming the input and axis", "[nn][inference]") {
  const vec xs(6, 1.0), three(3, 1.0), two(2, 1.0);
  auto call = [&] {
    return ctgrad::evaluate(y, ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {2, 3})),
                            ctgrad::bind(gamma_, ctgrad::view<const double, 1>(three.data(), {3})),
                            ctgrad::bind(beta_, ctgrad::view<const double, 1>(three.data(), {3})),
                            ctgrad::bind(rm, ctgrad::view<const double, 1>(two.data(), {2})),
                            ctgrad::bind(rv, ctgrad::view<const double, 1>(three.data(), {3})), ctgrad::bind(eps, 1e-5));
  };
  CHECK_THROWS_AS(call(), ctgrad::shape_error);
  CHECK_THROWS_WITH(call(), Catch::Contains("input 'running_mean' axis 0 has extent 2") &&
                                Catch::Contains("input 'x' axis 1 has extent 3"));
}
