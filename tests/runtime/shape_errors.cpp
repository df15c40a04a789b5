// Bad run-time input: extents that do not fit throw ctgrad::shape_error naming the input, the
// axis and both extents, before anything is written.
#include <catch2/catch.hpp>

#include <ctgrad.hpp>

#include "support/batch_norm_inputs.hpp"

namespace {
using namespace ctgrad_test::bn_inputs;
auto y = ctgrad::nn::batch_norm_train(x, gamma_, beta_, eps);
auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_, beta_));
}  // namespace

TEST_CASE("gamma of length n+1 is rejected with a message naming both extents", "[errors]") {
  const std::size_t m = 4, n = 3;
  std::size_t gamma_len = n + 1;
  std::vector<double> xs(m * n, 1.0), gs(gamma_len, 1.0), bs(n, 0.0), ds(m * n, 1.0);
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = double(i % 5);
  // caller-owned output buffers, filled with a sentinel that must survive the failed call
  std::vector<double> y_out(m * n, -7.0), dx_out(m * n, -7.0), dg_out(n, -7.0), db_out(n, -7.0);
  auto outs = std::tuple{ctgrad::view<double, 2>(y_out.data(), {m, n}), ctgrad::view<double, 2>(dx_out.data(), {m, n}),
                         ctgrad::view<double, 1>(dg_out.data(), {n}), ctgrad::view<double, 1>(db_out.data(), {n})};
  auto call = [&] {
    ctgrad::evaluate_into(ctgrad::exprs(y, grads), outs,
                          ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n})),
                          ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {gamma_len})),
                          ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {n})), ctgrad::bind(eps, 1e-5),
                          ctgrad::bind(dy, ctgrad::view<const double, 2>(ds.data(), {m, n})));
  };
  REQUIRE_THROWS_AS(call(), ctgrad::shape_error);
  try {
    call();
  } catch (const ctgrad::shape_error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("input 'gamma' axis 0 has extent 4") != std::string::npos);
    CHECK(msg.find("input 'x' axis 1 has extent 3") != std::string::npos);
  }
  for (double v : y_out) CHECK(v == -7.0);
  for (double v : dx_out) CHECK(v == -7.0);
  for (double v : dg_out) CHECK(v == -7.0);
  for (double v : db_out) CHECK(v == -7.0);

  // The same call with a correct gamma_ writes every output.
  gamma_len = n;
  call();
  for (double v : dg_out) CHECK(v != -7.0);
}

TEST_CASE("an output buffer of the wrong extents is rejected before anything is written", "[errors]") {
  auto e = ctgrad::exp(x);
  std::vector<double> xs(6, 0.5), out(5, -7.0);
  auto call = [&] {
    ctgrad::evaluate_into(ctgrad::exprs(e), std::tuple{ctgrad::view<double, 2>(out.data(), {5, 1})},
                          ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {2, 3})));
  };
  REQUIRE_THROWS_AS(call(), ctgrad::shape_error);
  for (double v : out) CHECK(v == -7.0);
  try {
    call();
  } catch (const ctgrad::shape_error& err) {
    CHECK(std::string(err.what()) == "ctgrad: output 0 (`exp(x)`) has extents [5, 1] but the result has [2, 3]");
  }
}

TEST_CASE("mismatched batch sizes of x and dy are named", "[errors]") {
  std::vector<double> xs(6, 0.5), gs(3, 1.0), bs(3, 0.0), ds(9, 1.0);
  try {
    (void)ctgrad::evaluate(ctgrad::get<0>(grads), ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {2, 3})),
                           ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {3})),
                           ctgrad::allow_unused(ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {3}))),
                           ctgrad::bind(eps, 1e-5), ctgrad::bind(dy, ctgrad::view<const double, 2>(ds.data(), {3, 3})));
    FAIL("no exception");
  } catch (const ctgrad::shape_error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("input 'dy' axis 0 has extent 3") != std::string::npos);
    CHECK(msg.find("input 'x' axis 0 has extent 2") != std::string::npos);
  }
}
