// Forward mode against reverse mode: the dot-product test <J v, w> = <v, J^T w> for every
// primitive and for batch norm, in double, on random v and w. J v comes from ctgrad::jvp and
// J^T w from ctgrad::vjp: two derivations through different rules that must agree.
#include <catch2/catch.hpp>

#include <cmath>

#include <ctgrad.hpp>

#include "support/numeric.hpp"

namespace {

auto a = ctgrad::input<"a", 2>;
auto b = ctgrad::input<"b", 1>;
auto va = ctgrad::input<"va", 2>;  // tangents
auto vb = ctgrad::input<"vb", 1>;
const std::size_t m = 5, n = 3;
const auto av = ctgrad_test::random_vector(m * n, 51, 0.5, 2.0);  // positive: sqrt, log
const auto bv = ctgrad_test::random_vector(n, 52, 0.5, 2.0);
const auto tav = ctgrad_test::random_vector(m * n, 53);
const auto tbv = ctgrad_test::random_vector(n, 54);

template <class T>
double dot(const T& p, const std::vector<double>& q) {
  double s = 0;
  for (std::size_t i = 0; i < q.size(); ++i) s += p.values[i] * q[i];
  return s;
}

/// <jvp(f; va, vb), w> and <va, vjp_a(w)> + <vb, vjp_b(w)> for f of a (m x n) and b (n).
template <class F>
void dot_product_test(F f, const char* what) {
  constexpr std::size_t rank = F::shape.rank;
  auto w = ctgrad::input<"w", rank>;
  auto ja = ctgrad::get<0>(ctgrad::jvp(ctgrad::outputs(f), ctgrad::tangents(va, vb), ctgrad::wrt(a, b)));
  auto grads = ctgrad::vjp(ctgrad::outputs(f), ctgrad::seeds(w), ctgrad::wrt(a, b));
  auto bind_common = [&](auto... more) {
    return std::tuple{ctgrad::bind(a, ctgrad::view<const double, 2>(av.data(), {m, n})),
                      ctgrad::bind(b, ctgrad::view<const double, 1>(bv.data(), {n})), more...};
  };
  const auto fv = std::apply([&](auto... bs) { return ctgrad::evaluate(f, bs...); }, bind_common());
  const auto wv = ctgrad_test::random_vector(fv.size(), 55);
  const ctgrad::view<const double, rank> w_view(wv.data(), fv.extents);
  const auto jv = std::apply([&](auto... bs) { return ctgrad::evaluate(ja, bs...); },
                             bind_common(ctgrad::bind(va, ctgrad::view<const double, 2>(tav.data(), {m, n})),
                                         ctgrad::bind(vb, ctgrad::view<const double, 1>(tbv.data(), {n}))));
  const auto [ga, gb] = std::apply([&](auto... bs) { return ctgrad::evaluate(grads, bs...); },
                                   bind_common(ctgrad::bind(w, w_view)));
  const double lhs = dot(jv, wv);
  const double rhs = dot(ga, tav) + dot(gb, tbv);
  INFO(what << ": <Jv, w> = " << lhs << ", <v, J^T w> = " << rhs);
  CHECK(std::abs(lhs - rhs) <= 1e-12 * std::max(1.0, std::abs(rhs)));
}

}  // namespace

TEST_CASE("dot-product test for arithmetic with broadcasting", "[jvp]") {
  dot_product_test(a + b, "a + b");
  dot_product_test(a - b, "a - b");
  dot_product_test(a * b, "a * b");
  dot_product_test(a / b, "a / b");
  dot_product_test(b / a, "b / a");
  dot_product_test(-a * b, "-a * b");
}

TEST_CASE("dot-product test for elementwise functions", "[jvp]") {
  dot_product_test(ctgrad::square(a) * b, "square");
  dot_product_test(ctgrad::sqrt(a) * b, "sqrt");
  dot_product_test(ctgrad::rsqrt(a) * b, "rsqrt");
  dot_product_test(ctgrad::exp(a) * b, "exp");
  dot_product_test(ctgrad::log(a) * b, "log");
  dot_product_test(ctgrad::tanh(a) * b, "tanh");
  dot_product_test(ctgrad::pow<3>(a) * b, "pow<3>");
  dot_product_test(ctgrad::pow<-2>(a) * b, "pow<-2>");
}

TEST_CASE("dot-product test for reductions, broadcasts and reshapes", "[jvp]") {
  dot_product_test(ctgrad::sum<0>(a * b), "sum<0>");
  dot_product_test(ctgrad::sum<1>(a) * ctgrad::sum<0>(a), "sum<1> * sum<0>");
  dot_product_test(ctgrad::sum<0, 1>(ctgrad::exp(a)), "sum<0,1>");
  dot_product_test(ctgrad::mean<0>(a) + ctgrad::variance<0>(a), "mean + variance");
  dot_product_test(ctgrad::squeeze<0>(ctgrad::sum<0>(a)) * b, "squeeze");
  dot_product_test(a * ctgrad::expand<2, 1>(b * b), "expand");
  dot_product_test(a - ctgrad::broadcast_like(ctgrad::mean<1>(a), a), "broadcast_like");
}

TEST_CASE("dot-product test for batch norm (x, gamma, beta together)", "[jvp][batch_norm]") {
  // gamma and beta are both b here: the dot-product identity holds for any linearization point
  dot_product_test(ctgrad::nn::batch_norm_train(a, b, ctgrad::square(b), ctgrad::constant<1, 100000>), "batch norm");
}
