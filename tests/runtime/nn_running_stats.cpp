// Running estimates under both conventions, checked step by step against plain loops
// (tests/support/normalization_reference.hpp), and the documented relations between them.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include <ctgrad.hpp>

#include "support/normalization_reference.hpp"
#include "support/numeric.hpp"
#include "support/batch_norm_inputs.hpp"

namespace {

using namespace ctgrad_test::bn_inputs;

using vec = std::vector<double>;

double max_abs_diff(const vec& a, const vec& b) {
  double d = a.size() == b.size() ? 0.0 : INFINITY;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

/// Five training steps with batches of different sizes and offsets; after each, the running
/// estimates computed by ctgrad (in the same evaluation as y) are compared with `step`, the
/// update written out by hand. Returns the final running estimates.
template <class Conv, class Step, class... Extra>
std::pair<vec, vec> five_steps(Conv conv, Step step, Extra... extra) {
  const auto [y, rm_next, rv_next] = ctgrad::nn::batch_norm<ctgrad::nn::training, 0>(x, gamma_, beta_, rm, rv, eps, conv);
  const std::size_t n = 5;
  vec running_mean(n, 0.0), running_var(n, 1.0);  // the reference document's initial values
  vec ref_mean = running_mean, ref_var = running_var;
  const vec gs = ctgrad_test::random_vector(n, 7, 0.5, 2.0), bs = ctgrad_test::random_vector(n, 8);
  for (unsigned t = 0; t < 5; ++t) {
    const std::size_t m = 3 + 2 * t;
    vec xs = ctgrad_test::random_vector(m * n, 100 + t, -2.0, 2.0);
    for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = xs[i] * (1.0 + t) + 3.0 * double(i % n) - double(t);
    const auto [yv, rm_v, rv_v] = ctgrad::evaluate(
        ctgrad::exprs(y, rm_next, rv_next), ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n})),
        ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {n})),
        ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {n})),
        ctgrad::bind(rm, ctgrad::view<const double, 1>(running_mean.data(), {n})),
        ctgrad::bind(rv, ctgrad::view<const double, 1>(running_var.data(), {n})), ctgrad::bind(eps, 1e-5), extra...);
    running_mean = rm_v.values;
    running_var = rv_v.values;

    vec mean, var;
    ctgrad_test::group_moments(ctgrad_test::norm_layout{{m, n}, 0b01, 0b10}, xs, mean, var);
    step(m, mean, var, ref_mean, ref_var);
    INFO("step " << t + 1 << ", m = " << m);
    CHECK(rm_v.extents == std::array<std::size_t, 1>{n});
    CHECK(rv_v.extents == std::array<std::size_t, 1>{n});
    CHECK(max_abs_diff(running_mean, ref_mean) <= 1e-12);
    CHECK(max_abs_diff(running_var, ref_var) <= 1e-12);
  }
  return {running_mean, running_var};
}

}  // namespace

TEST_CASE("reference convention (default, alpha = 0.9, biased variance): five steps to 1e-12", "[nn][running]") {
  five_steps(ctgrad::nn::reference_momentum{}, [](std::size_t, const vec& mu, const vec& var, vec& m, vec& v) {
    ctgrad_test::reference_convention_step(0.9, mu, var, m, v);
  });
  // The default convention is the reference document's.
  const auto defaulted = ctgrad::nn::batch_norm<ctgrad::nn::training, 0>(x, gamma_, beta_, rm, rv, eps);
  const auto spelled = ctgrad::nn::batch_norm<ctgrad::nn::training, 0>(x, gamma_, beta_, rm, rv, eps,
                                                                       ctgrad::nn::reference_momentum{ctgrad::constant<9, 10>});
  STATIC_REQUIRE(std::is_same_v<decltype(defaulted), decltype(spelled)>);
}

TEST_CASE("PyTorch convention (p = 0.1, unbiased variance): five steps to 1e-12", "[nn][running]") {
  five_steps(ctgrad::nn::pytorch_momentum{}, [](std::size_t m, const vec& mu, const vec& var, vec& rmean, vec& rvar) {
    ctgrad_test::pytorch_convention_step(0.1, m, mu, var, rmean, rvar);
  });
}

TEST_CASE("momenta other than the defaults, as constants or bound at run time", "[nn][running]") {
  five_steps(ctgrad::nn::reference_momentum{ctgrad::constant<99, 100>}, [](std::size_t, const vec& mu, const vec& var, vec& m, vec& v) {
    ctgrad_test::reference_convention_step(0.99, mu, var, m, v);
  });
  auto p = ctgrad::input<"momentum", 0>;
  five_steps(
      ctgrad::nn::pytorch_momentum{p},
      [](std::size_t m, const vec& mu, const vec& var, vec& rmean, vec& rvar) {
        ctgrad_test::pytorch_convention_step(0.3, m, mu, var, rmean, rvar);
      },
      ctgrad::bind(p, 0.3));
}

TEST_CASE("the two conventions agree as documented: equal means for p = 1 - alpha, variances related by m/(m-1)",
          "[nn][running]") {
  // docs/batch_norm_modes.md: for a fixed m and the same initial values,
  // pytorch_var(t) = m/(m-1) reference_var(t) + alpha^t (pytorch_var(0) - m/(m-1) reference_var(0)).
  const auto ref = ctgrad::nn::running_estimates<0>(x, rm, rv, ctgrad::nn::reference_momentum{ctgrad::constant<3, 4>});
  const auto pt = ctgrad::nn::running_estimates<0>(x, rm, rv, ctgrad::nn::pytorch_momentum{ctgrad::constant<1, 4>});
  const std::size_t m = 6, n = 3;
  vec ref_mean(n, 0.0), ref_var(n, 1.0), pt_mean(n, 0.0), pt_var(n, 1.0);
  double alpha_t = 1;
  for (unsigned t = 0; t < 6; ++t) {
    const vec xs = ctgrad_test::random_vector(m * n, 40 + t, -3.0, 3.0);
    auto bx = ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n}));
    const auto [a_mean, a_var] = ctgrad::evaluate(ref, bx, ctgrad::bind(rm, ctgrad::view<const double, 1>(ref_mean.data(), {n})),
                                                  ctgrad::bind(rv, ctgrad::view<const double, 1>(ref_var.data(), {n})));
    const auto [b_mean, b_var] = ctgrad::evaluate(pt, bx, ctgrad::bind(rm, ctgrad::view<const double, 1>(pt_mean.data(), {n})),
                                                  ctgrad::bind(rv, ctgrad::view<const double, 1>(pt_var.data(), {n})));
    ref_mean = a_mean.values, ref_var = a_var.values, pt_mean = b_mean.values, pt_var = b_var.values;
    alpha_t *= 0.75;
    const double c = double(m) / double(m - 1);
    for (std::size_t k = 0; k < n; ++k) {
      CHECK(std::abs(pt_mean[k] - ref_mean[k]) <= 1e-14);
      CHECK(std::abs(pt_var[k] - (c * ref_var[k] + alpha_t * (1.0 - c))) <= 1e-13);
    }
  }
}

TEST_CASE("training-mode y is the same graph as batch_norm_train, and running updates are printable", "[nn][running]") {
  const auto [y, rm_next, rv_next] = ctgrad::nn::batch_norm<ctgrad::nn::training, 0>(x, gamma_, beta_, rm, rv, eps);
  STATIC_REQUIRE(std::is_same_v<std::remove_const_t<decltype(y)>, decltype(ctgrad::nn::batch_norm_train(x, gamma_, beta_, eps))>);
  CHECK(fmt::format("{}", rm_next).starts_with("9/10 * running_mean + 1/10 * squeeze<0>("));
  const auto pt = ctgrad::nn::running_estimates<0>(x, rm, rv, ctgrad::nn::pytorch_momentum{});
  CHECK(fmt::format("{}", ctgrad::get<1>(pt)).find("bessel(count<0>(x))") != std::string::npos);
}
