// Derivatives of derivatives: a derived gradient is an ordinary expression, so it can be
// differentiated again, in reverse mode (reverse-over-reverse) or forward mode
// (forward-over-reverse). Both are checked against central finite differences of the derived
// gradient, and against each other.
#include <catch2/catch.hpp>

#include <cmath>

#include <ctgrad.hpp>

#include "support/numeric.hpp"

namespace {

/// Central differences of the vector field `g` (an expression of x) along direction v.
template <class G, class X, std::size_t R, class... Bs>
std::vector<double> directional_fd(G g, X x, std::vector<double> xs, const std::vector<double>& v,
                                   std::array<std::size_t, R> ext, Bs... others) {
  const double h = 1e-5;
  auto at = [&](double s) {
    std::vector<double> p(xs.size());
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = xs[i] + s * v[i];
    return ctgrad::evaluate(g, ctgrad::allow_unused(ctgrad::bind(x, ctgrad::view<const double, R>(p.data(), ext))), ctgrad::allow_unused(others)...).values;
  };
  const auto up = at(h), down = at(-h);
  std::vector<double> d(up.size());
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = (up[i] - down[i]) / (2 * h);
  return d;
}

}  // namespace

TEST_CASE("Hessian-vector product through batch norm: reverse-over-reverse, forward-over-reverse, finite differences",
          "[second_order][batch_norm]") {
  auto x = ctgrad::input<"x", 2>;
  auto g_in = ctgrad::input<"gamma", 1>;
  auto b_in = ctgrad::input<"beta", 1>;
  auto eps = ctgrad::input<"eps", 0>;
  auto w = ctgrad::input<"w", 2>;
  auto v = ctgrad::input<"v", 2>;
  auto loss = ctgrad::sum<0, 1>(w * ctgrad::nn::batch_norm_train(x, g_in, b_in, eps));
  auto g = ctgrad::get<0>(ctgrad::grad(loss, ctgrad::wrt(x)));
  auto hvp_rr = ctgrad::get<0>(ctgrad::vjp(ctgrad::outputs(g), ctgrad::seeds(v), ctgrad::wrt(x)));
  auto hvp_fr = ctgrad::get<0>(ctgrad::jvp(ctgrad::outputs(g), ctgrad::tangents(v), ctgrad::wrt(x)));

  for (auto [m, n] : {std::pair<std::size_t, std::size_t>{4, 3}, {16, 5}}) {
    const auto xs = ctgrad_test::random_vector(m * n, 61 + unsigned(m), -2.0, 3.0);
    const auto gs = ctgrad_test::random_vector(n, 62, 0.5, 2.0);
    const auto bs = ctgrad_test::random_vector(n, 63);
    const auto ws = ctgrad_test::random_vector(m * n, 64);
    const auto vs = ctgrad_test::random_vector(m * n, 65);
    auto bg = ctgrad::bind(g_in, ctgrad::view<const double, 1>(gs.data(), {n}));
    auto bb = ctgrad::bind(b_in, ctgrad::view<const double, 1>(bs.data(), {n}));
    auto be = ctgrad::bind(eps, 1e-3);
    auto bw = ctgrad::bind(w, ctgrad::view<const double, 2>(ws.data(), {m, n}));
    auto bv = ctgrad::bind(v, ctgrad::view<const double, 2>(vs.data(), {m, n}));
    auto bx = ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n}));

    const auto [rr, fr] = ctgrad::evaluate(ctgrad::exprs(hvp_rr, hvp_fr), bx, bg, ctgrad::allow_unused(bb), be, bw, bv);  // beta: not in the Hessian
    const auto fd = directional_fd(g, x, xs, vs, std::array<std::size_t, 2>{m, n}, bg, bb, be, bw);
    INFO("m = " << m << ", n = " << n);
    CHECK(ctgrad_test::relative_error(rr.values, fd) <= 1e-6);
    CHECK(ctgrad_test::relative_error(fr.values, fd) <= 1e-6);
    CHECK(ctgrad_test::relative_error(fr.values, rr.values) <= 1e-12);
  }
}

TEST_CASE("second derivatives of elementwise primitives match finite differences of the first", "[second_order]") {
  auto x = ctgrad::input<"x", 1>;
  auto y = ctgrad::input<"y", 1>;
  const std::size_t n = 6;
  const auto xs = ctgrad_test::random_vector(n, 71, 0.5, 2.0);
  const auto ys = ctgrad_test::random_vector(n, 72, 0.5, 2.0);
  const auto dir = ctgrad_test::random_vector(n, 73);
  auto by = ctgrad::allow_unused(ctgrad::bind(y, ctgrad::view<const double, 1>(ys.data(), {n})));  // x - y * x: h reads no y

  // f'' along dir: d/dx of grad(sum f(x, y)) applied to dir, against central differences of the
  // derived first derivative (which the first-order tests check against finite differences).
  auto check = [&](auto f, const char* what) {
    auto g = ctgrad::get<0>(ctgrad::grad(ctgrad::sum<0>(f), ctgrad::wrt(x)));
    auto d = ctgrad::input<"dir", 1>;
    auto h = ctgrad::get<0>(ctgrad::vjp(ctgrad::outputs(g), ctgrad::seeds(d), ctgrad::wrt(x)));
    const auto hv = ctgrad::evaluate(h, ctgrad::allow_unused(ctgrad::bind(x, ctgrad::view<const double, 1>(xs.data(), {n}))), by,
                                     ctgrad::allow_unused(ctgrad::bind(d, ctgrad::view<const double, 1>(dir.data(), {n}))));
    const auto fd = directional_fd(g, x, xs, dir, std::array<std::size_t, 1>{n}, by);
    INFO(what);
    CHECK(ctgrad_test::relative_error(hv.values, fd) <= 1e-6);
  };
  check(-x * x * y, "neg, mul");
  check(x / y + y / x, "div");
  check(x - y * x, "sub");
  check(ctgrad::square(x) * x, "square");
  check(ctgrad::sqrt(x), "sqrt");
  check(ctgrad::rsqrt(x), "rsqrt");
  check(ctgrad::exp(x * y), "exp");
  check(ctgrad::log(x * y), "log");
  check(ctgrad::tanh(x), "tanh");
  check(ctgrad::pow<4>(x), "pow<4>");
  check(ctgrad::pow<-3>(x), "pow<-3>");
}
