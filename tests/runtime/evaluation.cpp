// Evaluation: several outputs in one call, shared subexpressions computed once, float and
// double, views of caller memory, rank 0 and rank 3.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include <ctgrad.hpp>

#include "support/numeric.hpp"

namespace {

// An elementwise op that counts how many elements it evaluated: exp(x), observably.
inline std::size_t counted_calls = 0;
struct counted_exp_op : ctgrad::elementwise_base {
  static constexpr ctgrad::notation kind = ctgrad::notation::call;
  static constexpr int prec = ctgrad::precedence::atom;
  template <class...>
  static std::string symbol() { return "counted_exp"; }
  template <class T>
  static T apply(T a) {
    ++counted_calls;
    return std::exp(a);
  }
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self self, A) { return g * self; }
};
template <ctgrad::Expression A>
constexpr auto counted_exp(A a) { return ctgrad::make_node<counted_exp_op>(a); }

auto x = ctgrad::input<"x", 2>;
auto v = ctgrad::input<"v", 1>;
auto dy = ctgrad::input<"dy", 2>;

}  // namespace

TEST_CASE("a subexpression shared by several outputs is computed once per evaluation", "[eval]") {
  const std::size_t m = 4, n = 5;
  const auto xs = ctgrad_test::random_vector(m * n, 41);
  const auto ds = ctgrad_test::random_vector(m * n, 42);
  auto e = counted_exp(x);
  auto a = e * ctgrad::constant<2>;
  auto b = e + ctgrad::mean<0>(e);  // e feeds a reduction and is read elementwise again
  auto [g] = ctgrad::vjp(ctgrad::outputs(a, b), ctgrad::seeds(dy, dy), ctgrad::wrt(x));

  counted_calls = 0;
  const auto [av, bv, gv] = ctgrad::evaluate(ctgrad::exprs(a, b, g), ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n})),
                                             ctgrad::bind(dy, ctgrad::view<const double, 2>(ds.data(), {m, n})));
  CHECK(counted_calls == m * n);  // once per element, though a, b, mean<0>(e) and g all use it

  for (std::size_t k = 0; k < n; ++k) {
    double mean = 0;
    for (std::size_t i = 0; i < m; ++i) mean += std::exp(xs[i * n + k]) / double(m);
    double sum_dy = 0;
    for (std::size_t i = 0; i < m; ++i) sum_dy += ds[i * n + k];
    for (std::size_t i = 0; i < m; ++i) {
      const double ex = std::exp(xs[i * n + k]);
      CHECK(av(i, k) == Approx(2 * ex).epsilon(1e-14));
      CHECK(bv(i, k) == Approx(ex + mean).epsilon(1e-14));
      // d/dx_ik of sum(dy * (2e + e + mean(e))) = dy_ik * 3 e_ik + e_ik * sum_i dy_ik / m
      CHECK(gv(i, k) == Approx(3 * ds[i * n + k] * ex + ex * sum_dy / double(m)).epsilon(1e-12));
    }
  }
}

TEST_CASE("float data: float results, sums accumulated in double", "[eval]") {
  // 1e8 followed by 1000 ones: float's spacing at 1e8 is 8, so a float accumulator would stay
  // at 1e8; summed in double the result is 100001000, which float represents exactly.
  std::vector<float> vs(1001, 1.0f);
  vs[0] = 1e8f;
  const std::size_t m = vs.size();
  const ctgrad::tensor<float, 1> r = ctgrad::evaluate(ctgrad::sum<0>(v), ctgrad::bind(v, ctgrad::view<const float, 1>(vs.data(), {m})));
  REQUIRE(r.extents == std::array<std::size_t, 1>{1});
  CHECK(r.values[0] == 100001000.0f);
}

TEST_CASE("rank 0 and rank 3 inputs, scalar bindings and owned-tensor bindings", "[eval]") {
  auto t = ctgrad::input<"t", 3>;
  auto s = ctgrad::input<"s", 0>;
  ctgrad::tensor<double, 3> tv({2, 3, 4});
  for (std::size_t i = 0; i < tv.size(); ++i) tv.values[i] = double(i);
  auto e = ctgrad::sum<0, 2>(t * s) + s;  // shape 1 x 3 x 1
  const auto r = ctgrad::evaluate(e, ctgrad::bind(t, tv), ctgrad::bind(s, 0.5));
  REQUIRE(r.extents == std::array<std::size_t, 3>{1, 3, 1});
  for (std::size_t j = 0; j < 3; ++j) {
    double expect = 0;
    for (std::size_t i = 0; i < 2; ++i)
      for (std::size_t k = 0; k < 4; ++k) expect += tv(i, j, k) * 0.5;
    CHECK(r(0, j, 0) == Approx(expect + 0.5).epsilon(1e-15));
  }
  const auto c = ctgrad::evaluate(ctgrad::count<0, 2>(t), ctgrad::bind(t, tv));
  CHECK(c.values[0] == 8.0);
}

TEST_CASE("evaluate_into writes caller-owned buffers", "[eval]") {
  std::vector<double> xs{1, 2, 3, 4, 5, 6}, out(6, 0.0), out2(2, 0.0);
  ctgrad::evaluate_into(ctgrad::exprs(ctgrad::square(x), ctgrad::sum<0>(x)),
                        std::tuple{ctgrad::view<double, 2>(out.data(), {3, 2}), ctgrad::view<double, 2>(out2.data(), {1, 2})},
                        ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {3, 2})));
  CHECK(out == std::vector<double>{1, 4, 9, 16, 25, 36});
  CHECK(out2 == std::vector<double>{9, 12});
}

TEST_CASE("results no fused loop writes: inputs, constants, counts, sums and copies through index maps", "[eval]") {
  // Each is written by the plan's run-time copies (eval/plan.hpp, executor::write_output and
  // copy_index_map); the expected values are computed here by plain loops over the data.
  auto t = ctgrad::input<"t", 3>;
  ctgrad::tensor<double, 3> tv({2, 3, 4});
  for (std::size_t i = 0; i < tv.size(); ++i) tv.values[i] = 0.5 * double(i) - 3.0;
  const auto [same, half, n02, total, col, shift, grown] = ctgrad::evaluate(
      ctgrad::exprs(t, ctgrad::constant<1, 2>, ctgrad::count<0, 2>(t), ctgrad::sum<0, 1, 2>(t),
                    ctgrad::squeeze<0, 2>(ctgrad::sum<0, 2>(t)), ctgrad::first<0>(t),
                    ctgrad::expand<3, 1>(ctgrad::squeeze<0, 2>(ctgrad::sum<0, 2>(t)))),
      ctgrad::bind(t, tv));
  CHECK(same.values == tv.values);
  CHECK(half.values[0] == 0.5);
  CHECK(n02.values[0] == 8.0);
  double all = 0;
  for (double v : tv.values) all += v;
  CHECK(total.extents == std::array<std::size_t, 3>{1, 1, 1});
  CHECK(total.values[0] == Approx(all).epsilon(1e-15));
  REQUIRE(col.extents == std::array<std::size_t, 1>{3});
  REQUIRE(grown.extents == std::array<std::size_t, 3>{1, 3, 1});
  for (std::size_t j = 0; j < 3; ++j) {
    double s = 0;
    for (std::size_t i = 0; i < 2; ++i)
      for (std::size_t k = 0; k < 4; ++k) s += tv(i, j, k);
    CHECK(col.values[j] == Approx(s).epsilon(1e-15));
    CHECK(grown(0, j, 0) == Approx(s).epsilon(1e-15));
  }
  REQUIRE(shift.extents == std::array<std::size_t, 3>{1, 3, 4});
  for (std::size_t j = 0; j < 3; ++j)
    for (std::size_t k = 0; k < 4; ++k) CHECK(shift(0, j, k) == tv(0, j, k));
}
