// ctgrad::interpret (eval/interpret.hpp): a plan's fused loops run from its tables at run time.
// Checked against plain loops written here (batch norm's closed form, a stable softmax), and
// against ctgrad::evaluate, whose compiled kernels share nothing with the interpreter but the
// schedule, on every kind of node: elementwise and piecewise ops, sums, max, counts, broadcasts,
// index maps, reshapes and contractions, forward and reverse.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <ctgrad.hpp>

#include "support/batch_norm_reference.hpp"

namespace {

constexpr auto x = ctgrad::input<"x", 2>;
constexpr auto w = ctgrad::input<"w", 2>;
constexpr auto gamma_ = ctgrad::input<"gamma", 1>;
constexpr auto beta_ = ctgrad::input<"beta", 1>;
constexpr auto eps = ctgrad::input<"eps", 0>;
constexpr auto dy = ctgrad::input<"dy", 2>;
constexpr auto t = ctgrad::input<"t", 2>;

template <class T>
std::vector<T> wave(std::size_t n, double phase, double scale = 2.0) {
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<T>(scale * std::sin(1.3 * double(i) + phase) + 0.1 * double(i % 3));
  return v;
}

/// max |a - b| / max |b| (b the reference), over tensors or vectors of the same size.
template <class A, class B>
double relative_error(const A& a, const B& b) {
  REQUIRE(a.size() == b.size());
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

/// The values of a tensor, as a vector.
template <class Tensor>
auto values(const Tensor& r) {
  return std::vector<std::remove_cvref_t<decltype(*r.data())>>(r.data(), r.data() + r.size());
}

/// Every result of ctgrad::interpret against ctgrad::evaluate's, within `tol` relative.
template <class Got, class Want, std::size_t... K>
void same_results(const Got& got, const Want& want, double tol, std::index_sequence<K...>) {
  const auto one = [&](std::size_t k, double error) {
    INFO("result " << k << ": relative error " << error);
    CHECK(error <= tol);
  };
  (one(K, relative_error(values(std::get<K>(got)), values(std::get<K>(want)))), ...);
}
template <class... Rs>
void same_results(const std::tuple<Rs...>& got, const std::tuple<Rs...>& want, double tol) {
  same_results(got, want, tol, std::index_sequence_for<Rs...>{});
}

}  // namespace

TEMPLATE_TEST_CASE("interpret: batch norm forward and gradients equal the closed form", "[interpret]", float, double) {
  using T = TestType;
  const std::size_t m = 7, n = 5;
  const auto xs = wave<T>(m * n, 0.2), dys = wave<T>(m * n, 1.1), gs = wave<T>(n, 0.5, 0.5), bs = wave<T>(n, 2.0);
  const double e = 1e-3;
  const T eps_v = static_cast<T>(e);
  const auto y = ctgrad::nn::batch_norm_train(x, gamma_, beta_, eps);
  const auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_, beta_));
  const auto [ry, rdx, rdgamma, rdbeta] = ctgrad::interpret(
      ctgrad::exprs(y, grads), ctgrad::bind(x, ctgrad::view<const T, 2>(xs.data(), {m, n})),
      ctgrad::bind(gamma_, ctgrad::view<const T, 1>(gs.data(), {n})), ctgrad::bind(beta_, ctgrad::view<const T, 1>(bs.data(), {n})),
      ctgrad::bind(eps, ctgrad::view<const T, 0>(&eps_v, {})), ctgrad::bind(dy, ctgrad::view<const T, 2>(dys.data(), {m, n})));
  const auto ref = ctgrad_test::batch_norm_reference(xs, gs, bs, dys, m, n, double(eps_v));
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-13;
  CHECK(relative_error(values(ry), ref.y) <= tol);
  CHECK(relative_error(values(rdx), ref.dx) <= tol);
  CHECK(relative_error(values(rdgamma), ref.dgamma) <= tol);
  CHECK(relative_error(values(rdbeta), ref.dbeta) <= tol);
}

TEST_CASE("interpret: stable softmax cross-entropy equals the closed form on extreme rows", "[interpret]") {
  const std::size_t m = 3, k = 3;
  const std::vector<double> logits{0, 800, 1, -1000, 0, 1000, 0.5, -0.25, 2};
  const std::vector<double> targets{0, 1, 0, 0.25, 0.25, 0.5, 1, 0, 0};
  const auto loss = ctgrad::nn::softmax_cross_entropy(x, t);
  const auto grad = ctgrad::vjp(ctgrad::outputs(loss), ctgrad::seeds(ctgrad::constant<1>), ctgrad::wrt(x));
  const auto [rl, rg] = ctgrad::interpret(ctgrad::exprs(loss, grad), ctgrad::bind(x, ctgrad::view<const double, 2>(logits.data(), {m, k})),
                                          ctgrad::bind(t, ctgrad::view<const double, 2>(targets.data(), {m, k})));
  double want_loss = 0;
  std::vector<double> want_grad(m * k);
  for (std::size_t i = 0; i < m; ++i) {
    const double* row = &logits[i * k];
    const double top = *std::max_element(row, row + k);
    double z = 0;
    for (std::size_t j = 0; j < k; ++j) z += std::exp(row[j] - top);
    for (std::size_t j = 0; j < k; ++j) {
      const double log_p = row[j] - top - std::log(z);
      want_loss -= targets[i * k + j] * log_p / double(m);
      want_grad[i * k + j] = (std::exp(log_p) - targets[i * k + j]) / double(m);
    }
  }
  CHECK(std::isfinite(rl()));
  CHECK(std::abs(rl() - want_loss) <= 1e-13 * std::abs(want_loss));
  CHECK(relative_error(values(rg), want_grad) <= 1e-15);
}

TEST_CASE("interpret: every kind of node agrees with the compiled loops", "[interpret]") {
  const std::size_t m = 6, n = 4, k = 5;
  const auto xs = wave<double>(m * n, 0.3), ws = wave<double>(n * k, 0.9), gs = wave<double>(n, 0.4), bs = wave<double>(n, 1.7);
  const auto dys = wave<double>(m * n, 2.2), ts = wave<double>(m * k, 0.6, 0.3);
  const double e = 1e-2;
  const auto bx = ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n}));
  const auto bw = ctgrad::bind(w, ctgrad::view<const double, 2>(ws.data(), {n, k}));
  const auto bg = ctgrad::bind(gamma_, ctgrad::view<const double, 1>(gs.data(), {n}));
  const auto bb = ctgrad::bind(beta_, ctgrad::view<const double, 1>(bs.data(), {n}));
  const auto be = ctgrad::bind(eps, ctgrad::view<const double, 0>(&e, {}));
  const auto bdy = ctgrad::bind(dy, ctgrad::view<const double, 2>(dys.data(), {m, n}));
  const auto bt = ctgrad::bind(t, ctgrad::view<const double, 2>(ts.data(), {m, k}));

  SECTION("layer norm, its gradients, piecewise ops and max") {
    const auto y = ctgrad::nn::layer_norm(x, gamma_, beta_, eps);
    const auto h = ctgrad::where(ctgrad::greater(x, ctgrad::constant<0>), ctgrad::relu(y) * ctgrad::sigmoid(x),
                                 ctgrad::abs(x) - ctgrad::max<1>(x)) +
                   ctgrad::minimum(ctgrad::softplus(x), ctgrad::log1p(ctgrad::abs(y)));
    const auto grads = ctgrad::vjp(ctgrad::outputs(y, h), ctgrad::seeds(dy, dy), ctgrad::wrt(x, gamma_, beta_));
    const auto es = ctgrad::exprs(y, h, ctgrad::min<0>(h), grads);
    same_results(ctgrad::interpret(es, bx, bg, bb, be, bdy), ctgrad::evaluate(es, bx, bg, bb, be, bdy), 1e-13);
  }
  SECTION("a contraction, a transpose and a reshape, with gradients") {
    const auto z = ctgrad::matmul(ctgrad::tanh(x), w);  // m x k
    const auto loss = ctgrad::sum<0, 1>(ctgrad::exp(-ctgrad::square(z - t)) * ctgrad::transpose(ctgrad::reshape<0, -1>(ctgrad::transpose(z))));
    const auto grads = ctgrad::vjp(ctgrad::outputs(loss), ctgrad::seeds(ctgrad::constant<1>), ctgrad::wrt(x, w));
    const auto es = ctgrad::exprs(z, loss, grads, ctgrad::einsum<"ij,ij->j">(z, t));
    same_results(ctgrad::interpret(es, bx, bw, bt), ctgrad::evaluate(es, bx, bw, bt), 1e-13);

    // interpret_values: the same results, as dynamic tensors in the order requested
    auto p = ctgrad::compile<double>(es);
    const auto dynamic = p.interpret_values(bx, bw, bt);
    const auto tuple = p.interpret(bx, bw, bt);
    REQUIRE(dynamic.size() == es.size);
    std::apply([&](const auto&... r) {
      std::size_t k = 0;
      const auto one = [&](const auto& want) {
        INFO("result " << k);
        CHECK(std::vector<std::size_t>(want.extents.begin(), want.extents.end()) == dynamic[k].extents);
        CHECK(values(want) == dynamic[k].values);
        ++k;
      };
      (one(r), ...);
    }, tuple);
  }
}
