// Batch norm as a layer is used: a few training steps, which update the running estimates,
// then inference with them. Run under both running-estimate conventions (the reference
// document's, the default, and PyTorch's), printing how the estimates evolve; a plain-loop
// recomputation of the estimates checks the run.
//
//   build target batch_norm_modes and run build/examples/batch_norm_modes
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <ctgrad.hpp>

namespace {

constexpr auto x = ctgrad::input<"x", 2>;  // m x n batch, normalized over axis 0
constexpr auto gamma = ctgrad::input<"gamma", 1>;
constexpr auto beta = ctgrad::input<"beta", 1>;
constexpr auto running_mean = ctgrad::input<"running_mean", 1>;
constexpr auto running_var = ctgrad::input<"running_var", 1>;
constexpr auto eps = ctgrad::input<"eps", 0>;

/// The layer's state: its parameters and running estimates (initial mean 0, variance 1).
struct layer_state {
  std::vector<double> gamma{1.0, 1.0, 1.0}, beta{0.0, 0.0, 0.0};
  std::vector<double> running_mean{0.0, 0.0, 0.0}, running_var{1.0, 1.0, 1.0};
};

/// One forward pass in the mode picked at run time. Both graphs are built from the same
/// blocks; each is a type, so the run-time choice is a branch between two evaluations.
template <class Momentum>
std::vector<double> forward(bool training, layer_state& s, const std::vector<double>& batch, std::size_t m, Momentum momentum) {
  const std::size_t n = s.gamma.size();
  auto bind_all = [&](auto graph) {
    return ctgrad::evaluate(graph, ctgrad::bind(x, ctgrad::view<const double, 2>(batch.data(), {m, n})),
                            ctgrad::bind(gamma, ctgrad::view<const double, 1>(s.gamma.data(), {n})),
                            ctgrad::bind(beta, ctgrad::view<const double, 1>(s.beta.data(), {n})),
                            ctgrad::bind(running_mean, ctgrad::view<const double, 1>(s.running_mean.data(), {n})),
                            ctgrad::bind(running_var, ctgrad::view<const double, 1>(s.running_var.data(), {n})),
                            ctgrad::bind(eps, 1e-5));
  };
  // y and the next running estimates in one evaluation: the updates reuse y's batch statistics.
  auto [y, rm_next, rv_next] =
      training ? bind_all(ctgrad::nn::batch_norm<ctgrad::nn::training, 0>(x, gamma, beta, running_mean, running_var, eps, momentum))
               : bind_all(ctgrad::nn::batch_norm<ctgrad::nn::inference, 0>(x, gamma, beta, running_mean, running_var, eps, momentum));
  s.running_mean = rm_next.values;
  s.running_var = rv_next.values;
  return y.values;
}

/// Toy data: three features with means 2, -1, 10 and standard deviations 1, 0.5, 3.
std::vector<double> toy_batch(std::size_t m, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  const double mean[] = {2.0, -1.0, 10.0}, sd[] = {1.0, 0.5, 3.0};
  std::vector<double> v(m * 3);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = mean[i % 3] + sd[i % 3] * normal(gen);
  return v;
}

/// The update written out by hand, for the check at the end.
void hand_update(bool pytorch, std::vector<double>& rm, std::vector<double>& rv, const std::vector<double>& batch, std::size_t m) {
  for (std::size_t k = 0; k < rm.size(); ++k) {
    double mu = 0, var = 0;
    for (std::size_t i = 0; i < m; ++i) mu += batch[i * 3 + k] / double(m);
    for (std::size_t i = 0; i < m; ++i) var += (batch[i * 3 + k] - mu) * (batch[i * 3 + k] - mu) / double(m);
    // Same momentum (alpha = 0.9 is p = 0.1); PyTorch stores the unbiased variance.
    rm[k] = 0.9 * rm[k] + 0.1 * mu;
    rv[k] = 0.9 * rv[k] + 0.1 * (pytorch ? var * double(m) / double(m - 1) : var);
  }
}

template <class Momentum>
bool run(const char* title, bool pytorch, Momentum momentum) {
  fmt::print("== {} ==\n   {}\n", title, Momentum::describe());
  layer_state s;
  std::vector<double> rm = s.running_mean, rv = s.running_var;
  const std::size_t m = 8;
  for (unsigned step = 1; step <= 5; ++step) {
    const auto batch = toy_batch(m, step);
    forward(true, s, batch, m, momentum);
    hand_update(pytorch, rm, rv, batch, m);
    fmt::print("   training step {}: running_mean = {::8.4f}   running_var = {::8.4f}\n", step, s.running_mean, s.running_var);
  }
  const auto test = toy_batch(2, 99);
  const auto y = forward(false, s, test, 2, momentum);
  fmt::print("   inference on a batch of 2: y = {::.4f}\n   (running estimates unchanged: {::.4f})\n\n", y, s.running_mean);

  double worst = 0;
  for (std::size_t k = 0; k < rm.size(); ++k)
    worst = std::max({worst, std::abs(rm[k] - s.running_mean[k]), std::abs(rv[k] - s.running_var[k])});
  return worst <= 1e-12;
}

}  // namespace

int main() {
  const bool a = run("reference document's convention (the default): alpha = 0.9", false, ctgrad::nn::reference_momentum{});
  const bool b = run("PyTorch's convention: p = 0.1", true, ctgrad::nn::pytorch_momentum{});
  fmt::print("Running estimates match a plain-loop recomputation: {}\n", a && b ? "yes" : "NO");
  fmt::print("Same batches, p = 1 - alpha: the running means agree; the PyTorch variances are larger\n"
             "(unbiased, m/(m-1) = 8/7 times the biased batch variance).\n");
  return a && b ? 0 : 1;
}
