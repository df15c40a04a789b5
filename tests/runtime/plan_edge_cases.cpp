// Plans on empty extents and on counts beyond float's integers (issue 18, point 2). References
// are plain values: sums over no elements are 0 (max: -inf), a mean or variance over no
// elements is a shape_error naming the input and axis, first<0> of an empty axis too (it would
// read out of bounds: CI runs this under AddressSanitizer), and nothing is written then.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include <ctgrad.hpp>

namespace {

constexpr auto x = ctgrad::input<"x", 2>;
constexpr auto gamma_ = ctgrad::input<"gamma", 1>;
constexpr auto beta = ctgrad::input<"beta", 1>;
constexpr auto eps = ctgrad::input<"eps", 0>;
constexpr auto dy = ctgrad::input<"dy", 2>;

}  // namespace

TEST_CASE("sums over an axis of extent 0 are 0, also after a run on data, and what reads them sees 0", "[plan][empty]") {
  constexpr auto s = ctgrad::sum<0>(x);
  constexpr auto e = ctgrad::exp(ctgrad::sum<0>(x) * ctgrad::constant<3>);  // reads the sum's buffer
  constexpr auto mx = ctgrad::max<0>(x);
  constexpr auto z = ctgrad::input<"z", 2>;
  constexpr auto zs = z * ctgrad::sum<0>(x);  // a loop over z's data reads the sum's rounded buffer
  auto p = ctgrad::compile<double>(ctgrad::exprs(s, e, mx, zs));
  const std::size_t n = 3;
  const std::vector<double> some{1, 2, 3, 4, 5, 6}, zv{1, 1, 1, 2, 2, 2};
  std::vector<double> sv(n, -7), ev(n, -7), mv(n, -7), zsv(2 * n, -7);
  auto outs = std::tuple{ctgrad::view<double, 2>(sv.data(), {1, n}), ctgrad::view<double, 2>(ev.data(), {1, n}),
                         ctgrad::view<double, 2>(mv.data(), {1, n}), ctgrad::view<double, 2>(zsv.data(), {2, n})};
  p.run(outs, ctgrad::bind(x, ctgrad::view<const double, 2>(some.data(), {2, n})),
        ctgrad::bind(z, ctgrad::view<const double, 2>(zv.data(), {2, n})));
  CHECK(sv == std::vector<double>{5, 7, 9});
  CHECK(zsv == std::vector<double>{5, 7, 9, 10, 14, 18});
  // Now no rows: the plan's buffers hold the last run's sums, which must not leak through.
  const std::vector<double> none;
  p.run(outs, ctgrad::bind(x, ctgrad::view<const double, 2>(none.data(), {0, n})),
        ctgrad::bind(z, ctgrad::view<const double, 2>(zv.data(), {2, n})));
  CHECK(sv == std::vector<double>{0, 0, 0});
  CHECK(zsv == std::vector<double>(2 * n, 0.0));
  CHECK(ev == std::vector<double>{1, 1, 1});
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(mv == std::vector<double>{-inf, -inf, -inf});
  // Everything empty: an empty result, nothing read.
  const auto all = ctgrad::evaluate(ctgrad::sum<0, 1>(x), ctgrad::bind(x, ctgrad::view<const double, 2>(none.data(), {0, 0})));
  CHECK(all.values == std::vector<double>{0});
  const auto ew = ctgrad::evaluate(ctgrad::exp(x), ctgrad::bind(x, ctgrad::view<const double, 2>(none.data(), {0, n})));
  CHECK(ew.extents == std::array<std::size_t, 2>{0, n});
  CHECK(ew.values.empty());
}

TEST_CASE("a mean or variance over no elements throws shape_error naming the input and axis; nothing written", "[plan][empty]") {
  const std::vector<double> none;
  std::vector<double> out(3, -7);
  auto call = [&](auto expr) {
    ctgrad::evaluate_into(ctgrad::exprs(expr), std::tuple{ctgrad::view<double, 2>(out.data(), {1, 3})},
                          ctgrad::bind(x, ctgrad::view<const double, 2>(none.data(), {0, 3})));
  };
  CHECK_THROWS_AS(call(ctgrad::mean<0>(x)), ctgrad::shape_error);
  CHECK_THROWS_WITH(call(ctgrad::mean<0>(x)), Catch::Contains("input 'x' axis 0 has extent 0") &&
                                                  Catch::Contains("count<0>(x)") &&
                                                  Catch::Contains("over no elements is undefined"));
  CHECK_THROWS_WITH(call(ctgrad::variance<0>(x)), Catch::Contains("input 'x' axis 0 has extent 0"));
  CHECK(out == std::vector<double>(3, -7));
  // Over the other axis (extent 3) the mean of no columns... of zero rows is an empty result.
  const auto per_row = ctgrad::evaluate(ctgrad::mean<1>(x), ctgrad::bind(x, ctgrad::view<const double, 2>(none.data(), {0, 3})));
  CHECK(per_row.values.empty());
}

TEST_CASE("first<0> of an axis of extent 0 throws instead of reading out of bounds", "[plan][empty]") {
  const std::vector<double> none;
  CHECK_THROWS_WITH(ctgrad::evaluate(ctgrad::first<0>(x), ctgrad::bind(x, ctgrad::view<const double, 2>(none.data(), {0, 3}))),
                    Catch::Contains("`first<0>(x)` reads element 0 along an axis with no elements: input 'x' axis 0 has extent 0"));
  // No columns: the result is empty too, nothing is read, no error.
  const auto cols = ctgrad::evaluate(ctgrad::first<0>(x), ctgrad::bind(x, ctgrad::view<const double, 2>(none.data(), {4, 0})));
  CHECK(cols.values.empty());
}

TEST_CASE("batch norm of a batch of 0 rows throws shape_error and writes nothing; of 0 features it is empty", "[plan][empty][nn]") {
  constexpr auto y = ctgrad::nn::batch_norm_train(x, gamma_, beta, eps);
  constexpr auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_, beta));
  const std::size_t n = 2;
  const std::vector<double> none, gs{1, 2}, bs{0, 1};
  std::vector<double> dg(n, -7), db(n, -7);
  auto call = [&](std::size_t rows, std::size_t cols) {
    return ctgrad::evaluate(ctgrad::exprs(y, grads), ctgrad::bind(x, ctgrad::view<const double, 2>(none.data(), {rows, cols})),
                            ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {cols})),
                            ctgrad::bind(beta, ctgrad::view<const double, 1>(bs.data(), {cols})), ctgrad::bind(eps, 1e-5),
                            ctgrad::bind(dy, ctgrad::view<const double, 2>(none.data(), {rows, cols})));
  };
  CHECK_THROWS_AS(call(0, n), ctgrad::shape_error);
  CHECK_THROWS_WITH(call(0, n), Catch::Contains("input 'x' axis 0 has extent 0"));
  CHECK_THROWS_WITH(ctgrad::evaluate_into(ctgrad::exprs(ctgrad::get<1>(grads), ctgrad::get<2>(grads)),
                                          std::tuple{ctgrad::view<double, 1>(dg.data(), {n}), ctgrad::view<double, 1>(db.data(), {n})},
                                          ctgrad::bind(x, ctgrad::view<const double, 2>(none.data(), {0, n})),
                                          ctgrad::bind(eps, 1e-5), ctgrad::bind(dy, ctgrad::view<const double, 2>(none.data(), {0, n}))),
                    Catch::Contains("extent 0"));
  CHECK(dg == std::vector<double>(n, -7));
  CHECK(db == std::vector<double>(n, -7));
  const auto [yv, dxv, dgv, dbv] = call(3, 0);
  CHECK(yv.values.empty());
  CHECK(dxv.values.empty());
  CHECK(dgv.values.empty());
  CHECK(dbv.values.empty());
}

TEST_CASE("a float mean over 2^24 + 1 elements is exact: counts are held in double, not in float", "[plan][counts]") {
  // 2^24 + 1 is the first integer float cannot hold. A count rounded to float (2^24) made the
  // mean of threes 3 (1 + 2^-24), which rounds to 3.0000002f.
  const std::size_t m = (std::size_t{1} << 24) + 1;
  const std::vector<float> threes(m, 3.0f);
  const auto [mean, var, c] = ctgrad::evaluate(
      ctgrad::exprs(ctgrad::mean<0>(x), ctgrad::variance<0>(x), ctgrad::count<0>(x) - ctgrad::constant<16777217>),
      ctgrad::bind(x, ctgrad::view<const float, 2>(threes.data(), {m, 1})));
  CHECK(mean.values[0] == 3.0f);
  CHECK(var.values[0] == 0.0f);
  CHECK(c.values[0] == 0.0f);  // with a float count: 16777216 - 16777217 = -1
}
