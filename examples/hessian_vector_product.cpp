// Second order through batch norm: the Hessian-vector product of the scalar loss
// L = sum(w * batch_norm(x)) with respect to x, derived twice by ctgrad, two ways:
// reverse-over-reverse (vjp of the gradient) and forward-over-reverse (jvp of the gradient),
// checked against central finite differences of the derived gradient.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <fmt/core.h>

#include <ctgrad.hpp>

int main() {
  constexpr auto x = ctgrad::input<"x", 2>;
  constexpr auto gamma = ctgrad::input<"gamma", 1>;
  constexpr auto beta = ctgrad::input<"beta", 1>;
  constexpr auto eps = ctgrad::input<"eps", 0>;
  constexpr auto w = ctgrad::input<"w", 2>;  // loss weights
  constexpr auto v = ctgrad::input<"v", 2>;  // the direction of the Hessian-vector product

  constexpr auto loss = ctgrad::sum<0, 1>(w * ctgrad::nn::batch_norm_train(x, gamma, beta, eps));
  constexpr auto g = ctgrad::get<0>(ctgrad::grad(loss, ctgrad::wrt(x)));                     // dL/dx
  constexpr auto hv_rr = ctgrad::get<0>(ctgrad::vjp(ctgrad::outputs(g), ctgrad::seeds(v), ctgrad::wrt(x)));
  constexpr auto hv_fr = ctgrad::get<0>(ctgrad::jvp(ctgrad::outputs(g), ctgrad::tangents(v), ctgrad::wrt(x)));

  fmt::print("L = {}\n\n", loss);
  fmt::print("Unique nodes: L {}, dL/dx {}, H v (reverse-over-reverse) {}, H v (forward-over-reverse) {}\n\n",
             ctgrad::unique_node_count(loss), ctgrad::unique_node_count(g), ctgrad::unique_node_count(hv_rr),
             ctgrad::unique_node_count(hv_fr));
  fmt::print("H v (forward-over-reverse) = {}\n\n", hv_fr);

  const std::size_t m = 6, n = 3;
  std::mt19937 gen(7);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> xs(m * n), ws(m * n), vs(m * n), gs{0.5, 1.0, 2.0}, bs{0.0, 0.1, -0.1};
  for (auto& e : xs) e = 2.0 + normal(gen);
  for (auto& e : ws) e = normal(gen);
  for (auto& e : vs) e = normal(gen);
  auto bind_x = [&](const std::vector<double>& p) { return ctgrad::bind(x, ctgrad::view<const double, 2>(p.data(), {m, n})); };
  auto bg = ctgrad::bind(gamma, ctgrad::view<const double, 1>(gs.data(), {n}));
  // beta shifts the loss by a constant: the gradient and the Hessian do not read it
  auto bb = ctgrad::allow_unused(ctgrad::bind(beta, ctgrad::view<const double, 1>(bs.data(), {n})));
  auto be = ctgrad::bind(eps, 1e-3);
  auto bw = ctgrad::bind(w, ctgrad::view<const double, 2>(ws.data(), {m, n}));
  auto bv = ctgrad::bind(v, ctgrad::view<const double, 2>(vs.data(), {m, n}));

  const auto [rr, fr] = ctgrad::evaluate(ctgrad::exprs(hv_rr, hv_fr), bind_x(xs), bg, bb, be, bw, bv);

  // central differences of the derived gradient along v
  const double h = 1e-5;
  auto shifted = [&](double s) {
    std::vector<double> p(xs);
    for (std::size_t i = 0; i < p.size(); ++i) p[i] += s * vs[i];
    return ctgrad::evaluate(g, bind_x(p), bg, bb, be, bw).values;
  };
  const auto up = shifted(h), down = shifted(-h);
  double err_rr = 0, err_fr = 0, err_modes = 0, scale = 0;
  for (std::size_t i = 0; i < up.size(); ++i) {
    const double fd = (up[i] - down[i]) / (2 * h);
    err_rr = std::max(err_rr, std::abs(rr.values[i] - fd));
    err_fr = std::max(err_fr, std::abs(fr.values[i] - fd));
    err_modes = std::max(err_modes, std::abs(rr.values[i] - fr.values[i]));
    scale = std::max(scale, std::abs(fd));
  }
  fmt::print("On a random {} x {} batch, relative to max |H v| = {:.4f}:\n", m, n, scale);
  fmt::print("  reverse-over-reverse vs finite differences  {:.2e}\n", err_rr / scale);
  fmt::print("  forward-over-reverse vs finite differences  {:.2e}\n", err_fr / scale);
  fmt::print("  forward-over-reverse vs reverse-over-reverse {:.2e}\n", err_modes / scale);
  const bool ok = err_rr / scale <= 1e-6 && err_fr / scale <= 1e-6 && err_modes / scale <= 1e-12;
  fmt::print("{}\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
