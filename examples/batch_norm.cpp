// The flagship: batch normalization (training mode) built from primitives, its gradients for
// x, gamma and beta derived by ctgrad, printed, evaluated, and checked against the hand-derived
// closed form of the reference document, computed here with plain loops (nothing of ctgrad:
// not its normalization, not its evaluator), so that the check is independent of what it
// checks. Exits with status 1 when a result disagrees with the closed form or is all zero (an
// evaluation that wrote nothing would otherwise agree with a reference that is zero too).
//
//   bash .ci/demo.sh        (or: build target batch_norm and run build/examples/batch_norm)
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <ctgrad.hpp>

#include "batch_norm_closed_form.hpp"

namespace {

/// The reference document's forward pass and "Simplified Vectorized Form" of the backward pass,
/// in plain loops over an m x n row-major batch, in double:
///   mu = mean_i x, var = mean_i (x - mu)^2, xhat = (x - mu) / sqrt(var + eps), y = gamma xhat + beta
///   dgamma = sum_i dy xhat, dbeta = sum_i dy, dxhat = dy gamma,
///   dx = (1/m) (var + eps)^(-1/2) (m dxhat - sum_i dxhat - xhat sum_i dxhat xhat)
struct closed_form_values {
  std::vector<double> y, dx, dgamma, dbeta;
};
closed_form_values closed_form_loops(const std::vector<double>& x, const std::vector<double>& gamma,
                                     const std::vector<double>& beta, const std::vector<double>& dy, std::size_t m,
                                     std::size_t n, double eps) {
  closed_form_values r{std::vector<double>(m * n), std::vector<double>(m * n), std::vector<double>(n), std::vector<double>(n)};
  const double md = static_cast<double>(m);
  for (std::size_t k = 0; k < n; ++k) {
    double mu = 0, var = 0;
    for (std::size_t i = 0; i < m; ++i) mu += x[i * n + k] / md;
    for (std::size_t i = 0; i < m; ++i) var += (x[i * n + k] - mu) * (x[i * n + k] - mu) / md;
    const double inv_std = 1 / std::sqrt(var + eps);
    double sum_dxhat = 0, sum_dxhat_xhat = 0;
    for (std::size_t i = 0; i < m; ++i) {
      const double xhat = (x[i * n + k] - mu) * inv_std, dxhat = dy[i * n + k] * gamma[k];
      r.y[i * n + k] = gamma[k] * xhat + beta[k];
      r.dgamma[k] += dy[i * n + k] * xhat;
      r.dbeta[k] += dy[i * n + k];
      sum_dxhat += dxhat;
      sum_dxhat_xhat += dxhat * xhat;
    }
    for (std::size_t i = 0; i < m; ++i) {
      const double xhat = (x[i * n + k] - mu) * inv_std, dxhat = dy[i * n + k] * gamma[k];
      r.dx[i * n + k] = inv_std / md * (md * dxhat - sum_dxhat - xhat * sum_dxhat_xhat);
    }
  }
  return r;
}

}  // namespace

int main() {
  // The computation is a type: inputs are named, values arrive at evaluation.
  constexpr auto x = ctgrad::input<"x", 2>;       // m x n batch
  constexpr auto gamma = ctgrad::input<"gamma", 1>;
  constexpr auto beta = ctgrad::input<"beta", 1>;
  constexpr auto eps = ctgrad::input<"eps", 0>;
  constexpr auto dy = ctgrad::input<"dy", 2>;     // upstream gradient

  constexpr auto y = ctgrad::nn::batch_norm_train(x, gamma, beta, eps);
  constexpr auto derived = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma, beta));
  constexpr auto hand = closed_form::batch_norm_backward(x, gamma, beta, eps, dy);

  fmt::print("Batch normalization, training mode, built from primitives:\n{}\n\n", ctgrad::to_text(y, {.let = true, .results = {"y"}}));
  // Let-bound, as JAX prints a jaxpr: each shared subexpression once, under a name.
  fmt::print("Derived by ctgrad (reverse mode, simplified):\n{}\n\n",
             ctgrad::to_text(derived, {.let = true, .results = {"dx", "dgamma", "dbeta"}}));
  // The closed form as a ctgrad expression, for its size only: its values are checked below
  // against plain loops, independent of ctgrad.
  fmt::print("Unique nodes: derived y, dx, dgamma, dbeta: {}; with the hand-derived closed form: {}\n\n",
             ctgrad::unique_node_count(y, derived), ctgrad::unique_node_count(y, hand));

  // A random batch in caller-owned memory.
  const std::size_t m = 8, n = 4;
  std::mt19937 gen(2024);
  std::normal_distribution<double> normal(3.0, 2.0);
  std::vector<double> xs(m * n), gs(n), bs(n), ds(m * n);
  for (auto& v : xs) v = normal(gen);
  for (auto& v : ds) v = normal(gen) - 3.0;
  for (std::size_t k = 0; k < n; ++k) {
    gs[k] = 0.5 + 0.25 * double(k);
    bs[k] = 0.1 * double(k);
  }
  auto bindings = std::tuple{ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n})),
                             ctgrad::bind(gamma, ctgrad::view<const double, 1>(gs.data(), {n})),
                             ctgrad::bind(beta, ctgrad::view<const double, 1>(bs.data(), {n})),
                             ctgrad::bind(eps, 1e-5),
                             ctgrad::bind(dy, ctgrad::view<const double, 2>(ds.data(), {m, n}))};

  // Forward and all derived gradients in one evaluation, then the closed form in plain loops.
  const auto [yv, dxv, dgv, dbv] =
      std::apply([&](auto... b) { return ctgrad::evaluate(ctgrad::exprs(y, derived), b...); }, bindings);
  const closed_form_values ref = closed_form_loops(xs, gs, bs, ds, m, n, 1e-5);

  fmt::print("On a random {} x {} batch (double):\n", m, n);
  fmt::print("  y[0,:]  = {::.6f}\n", std::vector<double>(yv.values.begin(), yv.values.begin() + n));
  fmt::print("  dx[0,:] = {::.6f}\n", std::vector<double>(dxv.values.begin(), dxv.values.begin() + n));
  fmt::print("  dgamma  = {::.6f}\n", dgv.values);
  fmt::print("  dbeta   = {::.6f}\n\n", dbv.values);

  bool ok = true;
  auto compare = [&](const char* name, const std::vector<double>& a, const std::vector<double>& b) {
    double diff = 0, scale = 0, size = 0;
    for (std::size_t i = 0; i < b.size(); ++i) {
      diff = std::max(diff, std::abs(a[i] - b[i]));
      scale = std::max(scale, std::abs(b[i]));
      size = std::max(size, std::abs(a[i]));
    }
    const double rel = scale > 0 ? diff / scale : diff;
    // NaN compares false: a NaN error or value fails. A zero result is a failure too: the data
    // are random, so every quantity here is nonzero, and both sides zero would mean "not computed".
    const bool nonzero = size > 0 && scale > 0;
    const bool pass = a.size() == b.size() && rel <= 1e-12 && nonzero;
    ok = ok && pass;
    fmt::print("  {:<7} max abs error {:.3e}, relative {:.3e}  {}{}\n", name, diff, rel, pass ? "PASS" : "FAIL",
               nonzero ? "" : " (all zero)");
  };
  fmt::print("Derived vs the hand-derived closed form in plain loops (tolerance 1e-12 relative):\n");
  compare("y", yv.values, ref.y);
  compare("dx", dxv.values, ref.dx);
  compare("dgamma", dgv.values, ref.dgamma);
  compare("dbeta", dbv.values, ref.dbeta);
  fmt::print("\n{}\n", ok ? "The derived gradients agree with the closed form." : "MISMATCH");
  return ok ? 0 : 1;
}
