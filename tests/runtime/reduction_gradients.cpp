// Reductions and broadcasting: derived gradients against central finite differences in double.
#include <catch2/catch.hpp>

#include "support/gradcheck_wrt.hpp"

namespace {
auto x = ctgrad::input<"x", 2>;
auto v = ctgrad::input<"v", 1>;
auto s = ctgrad::input<"s", 0>;
auto t = ctgrad::input<"t", 3>;
const std::array<std::size_t, 2> ext{5, 3};
const auto xv = ctgrad_test::random_vector(15, 31, -2.0, 2.0);
const auto vv = ctgrad_test::random_vector(3, 32, 0.5, 2.0);
const std::vector<double> sv{0.7};
const std::array<std::size_t, 3> text{2, 3, 4};
const auto tv = ctgrad_test::random_vector(24, 33, -1.0, 1.0);

auto bx = [] { return ctgrad::bind(x, ctgrad::view<const double, 2>(xv.data(), ext)); };
auto bv = [] { return ctgrad::bind(v, ctgrad::view<const double, 1>(vv.data(), {3})); };
auto bs = [] { return ctgrad::bind(s, 0.7); };
}  // namespace

TEST_CASE("sums over axes match finite differences", "[gradients]") {
  CHECK_THAT(ctgrad_test::gradcheck_wrt(ctgrad::sum<0>(x), x, xv, ext, 1e-6), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(ctgrad::sum<1>(x), x, xv, ext, 1e-6), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(ctgrad::sum<0, 1>(ctgrad::square(x)), x, xv, ext, 1e-6), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(ctgrad::sum<0, 2>(t * t * t), t, tv, text, 1e-6), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(ctgrad::sum<1>(ctgrad::exp(t)), t, tv, text, 1e-6), ctgrad::matchers::passes_gradcheck());
}

TEST_CASE("mean and variance (composites) match finite differences", "[gradients]") {
  CHECK_THAT(ctgrad_test::gradcheck_wrt(ctgrad::mean<0>(x), x, xv, ext, 1e-6), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(ctgrad::variance<0>(x), x, xv, ext, 1e-6), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(ctgrad::variance<1>(x), x, xv, ext, 1e-6), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(ctgrad::variance<0, 2>(t), t, tv, text, 1e-6), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(x - ctgrad::mean<1>(x), x, xv, ext, 1e-6), ctgrad::matchers::passes_gradcheck());
}

TEST_CASE("broadcasting a lower-rank operand sums its gradient over the broadcast axes", "[gradients]") {
  // v (rank 1) broadcasts along axis 0 of x; s (rank 0) along both axes.
  CHECK_THAT(ctgrad_test::gradcheck_wrt(x * v + s, v, vv, {3}, 1e-6, bx(), bs()), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(x * v + s, x, xv, ext, 1e-6, bv(), bs()), ctgrad::matchers::passes_gradcheck());
  const std::vector<double> s_data{0.7};
  CHECK_THAT(ctgrad_test::gradcheck_wrt(ctgrad::exp(x * s) / v, s, s_data, {}, 1e-6, bx(), bv()), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(ctgrad::sum<0>(x) * v, v, vv, {3}, 1e-6, bx()), ctgrad::matchers::passes_gradcheck());
}

TEST_CASE("broadcasting a kept (unit) axis matches finite differences", "[gradients]") {
  // sum<1>(t) has shape 2 x 1 x 4 and broadcasts along axis 1 of t
  CHECK_THAT(ctgrad_test::gradcheck_wrt(t * ctgrad::sum<1>(t), t, tv, text, 1e-6), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(ctgrad::sum<0>(x) * ctgrad::sum<1>(x), x, xv, ext, 1e-6), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(ctgrad::tanh(x / ctgrad::sum<0, 1>(ctgrad::square(x))), x, xv, ext, 1e-6), ctgrad::matchers::passes_gradcheck());
}

TEST_CASE("batch norm's derived gradients match finite differences", "[gradients][batch_norm]") {
  auto g = ctgrad::input<"gamma", 1>;
  auto b = ctgrad::input<"beta", 1>;
  auto eps = ctgrad::input<"eps", 0>;
  auto y = ctgrad::nn::batch_norm_train(x, g, b, eps);
  const auto gv = ctgrad_test::random_vector(3, 34, 0.5, 2.0);
  const auto bv2 = ctgrad_test::random_vector(3, 35);
  auto bg = ctgrad::bind(g, ctgrad::view<const double, 1>(gv.data(), {3}));
  auto bb = ctgrad::bind(b, ctgrad::view<const double, 1>(bv2.data(), {3}));
  auto be = ctgrad::bind(eps, 1e-5);
  CHECK_THAT(ctgrad_test::gradcheck_wrt(y, x, xv, ext, 1e-6, bg, bb, be), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(y, g, gv, {3}, 1e-6, bx(), bb, be), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(y, b, bv2, {3}, 1e-6, bx(), bg, be), ctgrad::matchers::passes_gradcheck());
}

TEST_CASE("expand and squeeze place axes; their gradients match finite differences", "[gradients]") {
  // t is 2 x 3 x 4; w (length 3) is placed on axis 1 as 1 x 3 x 1, as a per-channel scale is.
  auto w = ctgrad::input<"w", 1>;
  const auto wv = ctgrad_test::random_vector(3, 36, 0.5, 1.5);
  auto bw = [&] { return ctgrad::bind(w, ctgrad::view<const double, 1>(wv.data(), {3})); };
  auto bt = [] { return ctgrad::bind(t, ctgrad::view<const double, 3>(tv.data(), text)); };
  auto scaled = t * ctgrad::expand<3, 1>(w);
  static_assert(decltype(ctgrad::expand<3, 1>(w))::shape == ctgrad::static_shape{3, 0b101});
  CHECK_THAT(ctgrad_test::gradcheck_wrt(ctgrad::exp(scaled), w, wv, {3}, 1e-6, bt()), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(ctgrad::exp(scaled), t, tv, text, 1e-6, bw()), ctgrad::matchers::passes_gradcheck());
  // squeeze: the per-channel sums as a plain vector, times w
  auto per_channel = ctgrad::squeeze<0, 2>(ctgrad::sum<0, 2>(t * t)) * w;
  static_assert(decltype(per_channel)::shape == ctgrad::static_shape{1, 0});
  CHECK_THAT(ctgrad_test::gradcheck_wrt(per_channel, t, tv, text, 1e-6, bw()), ctgrad::matchers::passes_gradcheck());
  CHECK_THAT(ctgrad_test::gradcheck_wrt(per_channel, w, wv, {3}, 1e-6, bt()), ctgrad::matchers::passes_gradcheck());

  // values: expand reads w[j] at every (i, j, k)
  const auto sv = ctgrad::evaluate(scaled, bt(), bw());
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k) CHECK(sv(i, j, k) == tv[(i * 3 + j) * 4 + k] * wv[j]);
}
