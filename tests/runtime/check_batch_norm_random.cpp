// Batch norm's derived gradients against the closed form of the reference document on 1000
// random shapes and values, twice: against the closed form written as a ctgrad expression
// (examples/batch_norm_closed_form.hpp, through ctgrad::check_equivalence), and against the
// plain-loop closed form (tests/support/batch_norm_reference.hpp), which shares no code with ctgrad.
#include <catch2/catch.hpp>

#include <random>

#include <ctgrad.hpp>
#include <ctgrad/check/catch2.hpp>

#include "../../examples/batch_norm_closed_form.hpp"
#include "support/batch_norm_reference.hpp"
#include "support/numeric.hpp"

namespace {
constexpr auto x = ctgrad::input<"x", 2>;
constexpr auto gamma_ = ctgrad::input<"gamma", 1>;
constexpr auto beta_ = ctgrad::input<"beta", 1>;
constexpr auto eps = ctgrad::input<"eps", 0>;
constexpr auto dy = ctgrad::input<"dy", 2>;
constexpr auto y = ctgrad::nn::batch_norm_train(x, gamma_, beta_, eps);
constexpr auto derived = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_, beta_));
}  // namespace

TEST_CASE("derived batch norm gradients equal the closed-form expression on 1000 random shapes", "[property]") {
  const auto hand = closed_form::batch_norm_backward(x, gamma_, beta_, eps, dy);
  const auto r = ctgrad::check_equivalence(derived, hand,
                                           {.trials = 1000, .min_extent = 1, .max_extent = 24, .low = -4, .high = 4,
                                            .ranges = {{"eps", 1e-5, 1e-3}, {"gamma", -2, 2}},
                                            .abs_tol = 1e-9, .rel_tol = 1e-8, .seed = 2024});
  CHECK_THAT(r, ctgrad::matchers::is_equivalent());
  CHECK(r.shapes_tried.size() == 1000);
}

TEST_CASE("derived batch norm gradients equal the plain-loop closed form on 1000 random shapes", "[property]") {
  std::mt19937_64 gen(77);
  std::uniform_int_distribution<std::size_t> extent(1, 24);
  std::uniform_real_distribution<double> offset(-100, 100), scale(0.01, 10);
  double worst_dx = 0, worst_dgamma = 0, worst_dbeta = 0;
  for (int t = 0; t < 1000; ++t) {
    const std::size_t m = extent(gen), n = extent(gen);
    const unsigned seed = static_cast<unsigned>(gen());
    // Values of every scale and offset, so that cancellation in the statistics is exercised.
    auto xs = ctgrad_test::random_vector(m * n, seed, -1, 1);
    const double o = offset(gen), s = scale(gen);
    for (auto& v : xs) v = o + s * v;
    const auto gs = ctgrad_test::random_vector(n, seed + 1, -2, 2);
    const auto bs = ctgrad_test::random_vector(n, seed + 2);
    const auto ds = ctgrad_test::random_vector(m * n, seed + 3);
    const double e = 1e-5;
    const auto [dxv, dgv, dbv] = ctgrad::evaluate(
        derived, ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n})),
        ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {n})),
        ctgrad::allow_unused(ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {n}))),  // the gradients read no beta
        ctgrad::bind(eps, e), ctgrad::bind(dy, ctgrad::view<const double, 2>(ds.data(), {m, n})));
    const auto ref = ctgrad_test::batch_norm_reference(xs, gs, bs, ds, m, n, e);
    worst_dx = std::max(worst_dx, ctgrad_test::relative_error(dxv.values, ref.dx, ref.dx_scale));
    worst_dgamma = std::max(worst_dgamma, ctgrad_test::relative_error(dgv.values, ref.dgamma));
    worst_dbeta = std::max(worst_dbeta, ctgrad_test::relative_error(dbv.values, ref.dbeta));
  }
  INFO("worst relative errors: dx " << worst_dx << ", dgamma " << worst_dgamma << ", dbeta " << worst_dbeta);
  CHECK(worst_dx <= 1e-10);
  CHECK(worst_dgamma <= 1e-10);
  CHECK(worst_dbeta <= 1e-12);
}
