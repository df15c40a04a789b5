// Compile time of an MLP training step (issue 15, point 6): the translation unit of one
// forward + backward pass of an MLP 784-256-256-10 (linear, batch norm, ReLU, twice; linear;
// softmax cross-entropy), with the gradient of every parameter, compiled into one plan and run
// once on random data (exit status 1 when a result is not finite). Measured by
// benchmarks/compile_mlp_step.sh against examples/batch_norm.cpp in the same run.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <tuple>
#include <vector>

#include <ctgrad.hpp>

#include "../../examples/mlp_model.hpp"

namespace {
// The model of examples/train_mlp.cpp, in one place (eps is its constant 1e-5).
using namespace mlp_model;
constexpr auto X = mlp_model::x;
constexpr auto T = mlp_model::targets;
constexpr auto g1 = mlp_model::gamma1;
constexpr auto be1 = mlp_model::beta1;
constexpr auto g2 = mlp_model::gamma2;
constexpr auto be2 = mlp_model::beta2;
constexpr auto loss = mlp_model::bn::loss;

std::vector<float> random_floats(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-0.1f, 0.1f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}
}  // namespace

int main() {
  const auto grads = ctgrad::grad(loss, ctgrad::wrt(W1, b1, g1, be1, W2, b2, g2, be2, W3, b3));
  auto plan = ctgrad::compile<float>(ctgrad::exprs(loss, ctgrad::get<0>(grads), ctgrad::get<2>(grads), ctgrad::get<4>(grads),
                                                   ctgrad::get<5>(grads), ctgrad::get<8>(grads), ctgrad::get<9>(grads)));
  constexpr std::size_t m = 64, i = 784, h = 256, o = 10;
  const auto x = random_floats(m * i, 1), w1 = random_floats(i * h, 2), w2 = random_floats(h * h, 3), w3 = random_floats(h * o, 4);
  const std::vector<float> zh(h, 0.0f), oh(h, 1.0f), zo(o, 0.0f);
  std::vector<float> t(m * o, 0.0f);
  for (std::size_t r = 0; r < m; ++r) t[r * o + r % o] = 1.0f;
  auto c2 = [](const std::vector<float>& v, std::size_t r, std::size_t c) { return ctgrad::view<const float, 2>(v.data(), {r, c}); };
  auto c1 = [](const std::vector<float>& v) { return ctgrad::view<const float, 1>(v.data(), {v.size()}); };
  const auto results = plan(ctgrad::bind(X, c2(x, m, i)), ctgrad::bind(T, c2(t, m, o)), ctgrad::bind(W1, c2(w1, i, h)),
                            ctgrad::bind(b1, c1(zh)), ctgrad::bind(g1, c1(oh)), ctgrad::bind(be1, c1(zh)),
                            ctgrad::bind(W2, c2(w2, h, h)), ctgrad::bind(b2, c1(zh)), ctgrad::bind(g2, c1(oh)),
                            ctgrad::bind(be2, c1(zh)), ctgrad::bind(W3, c2(w3, h, o)), ctgrad::bind(b3, c1(zo)));
  bool finite = true;
  std::apply([&](const auto&... r) { ((finite = finite && std::all_of(r.values.begin(), r.values.end(), [](float v) { return std::isfinite(v); })), ...); }, results);
  std::printf("loss %g, gradients %s\n", double(std::get<0>(results).values[0]), finite ? "finite" : "NOT FINITE");
  return finite ? 0 : 1;
}
