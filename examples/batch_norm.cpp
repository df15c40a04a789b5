// The flagship: batch normalization (training mode) built from primitives, its gradients for
// x, gamma and beta derived by ctgrad, printed, evaluated, and checked against the hand-derived
// closed form of the reference document.
//
//   bash .ci/demo.sh        (or: build target batch_norm and run build/examples/batch_norm)
#include <cmath>
#include <random>
#include <vector>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <ctgrad.hpp>

#include "batch_norm_closed_form.hpp"

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

  fmt::print("Batch normalization, training mode, built from primitives:\n  y = {}\n\n", y);
  fmt::print("Derived by ctgrad (reverse mode, simplified):\n  dx     = {}\n  dgamma = {}\n  dbeta  = {}\n\n",
             ctgrad::get<0>(derived), ctgrad::get<1>(derived), ctgrad::get<2>(derived));
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

  // Forward and all derived gradients in one evaluation, then the closed form.
  const auto [yv, dxv, dgv, dbv] =
      std::apply([&](auto... b) { return ctgrad::evaluate(ctgrad::exprs(y, derived), b...); }, bindings);
  const auto [dx_ref, dg_ref, db_ref] = std::apply([&](auto... b) { return ctgrad::evaluate(hand, b...); }, bindings);

  fmt::print("On a random {} x {} batch (double):\n", m, n);
  fmt::print("  y[0,:]  = {::.6f}\n", std::vector<double>(yv.values.begin(), yv.values.begin() + n));
  fmt::print("  dx[0,:] = {::.6f}\n", std::vector<double>(dxv.values.begin(), dxv.values.begin() + n));
  fmt::print("  dgamma  = {::.6f}\n", dgv.values);
  fmt::print("  dbeta   = {::.6f}\n\n", dbv.values);

  bool ok = true;
  auto compare = [&](const char* name, const auto& a, const auto& b) {
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      diff = std::max(diff, std::abs(a.values[i] - b.values[i]));
      scale = std::max(scale, std::abs(b.values[i]));
    }
    const double rel = scale > 0 ? diff / scale : diff;
    const bool pass = rel <= 1e-12;
    ok = ok && pass;
    fmt::print("  {:<7} max abs error {:.3e}, relative {:.3e}  {}\n", name, diff, rel, pass ? "PASS" : "FAIL");
  };
  fmt::print("Derived vs hand-derived closed form (tolerance 1e-12 relative):\n");
  compare("dx", dxv, dx_ref);
  compare("dgamma", dgv, dg_ref);
  compare("dbeta", dbv, db_ref);
  fmt::print("\n{}\n", ok ? "The derived gradients agree with the closed form." : "MISMATCH");
  return ok ? 0 : 1;
}
