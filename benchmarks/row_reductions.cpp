// Row reductions (issue 14, point 5): layer norm forward + backward and softmax cross-entropy
// forward + backward, float data, one thread, against hand-written kernels in the same binary
// and against ctgrad's own batch norm on the same m x n bytes.
//
//   build-bench/benchmarks/bench_row_reductions --benchmark_repetitions=7 --benchmark_format=json
//   python3 benchmarks/row_reductions_report.py      (runs it and prints the ratio table)
//
// Every implementation is checked against a long-double closed form before it is timed; a
// result off by more than 1e-5 (relative to its terms) aborts the run.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <ctgrad.hpp>

#include "normalization_model.hpp"

namespace {

using normalization_model::batch_norm_all;
using normalization_model::beta_;
using normalization_model::dy;
using normalization_model::eps;
using normalization_model::gamma_;
using normalization_model::layer_norm_all;
using normalization_model::x;

constexpr float kEps = 1e-5f;
constexpr auto logits = ctgrad::input<"logits", 2>;
constexpr auto targets = ctgrad::input<"targets", 2>;
constexpr auto ce_loss = ctgrad::nn::softmax_cross_entropy(logits, targets);
constexpr auto ce_all = ctgrad::exprs(ce_loss, ctgrad::get<0>(ctgrad::grad(ce_loss, ctgrad::wrt(logits))));

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "bench_row_reductions: %s\n", what.c_str());
  std::abort();
}

std::vector<float> random_floats(std::size_t count, unsigned seed, float lo, float hi) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(count);
  for (auto& e : v) e = d(gen);
  return v;
}

// -- normalization: layer norm (features of a sample: the contiguous axis) and batch norm -----

struct norm_problem {
  std::size_t m, n;
  std::vector<float> xs, dys, gamma_ln, beta_ln, gamma_bn, beta_bn, y, dx, dgamma, dbeta;
  std::vector<double> acc_g, acc_b;  // the hand-written kernel's column sums
  norm_problem(std::size_t m_, std::size_t n_)
      : m(m_), n(n_), xs(random_floats(m * n, 1, -2, 3)), dys(random_floats(m * n, 2, -1, 1)),
        gamma_ln(random_floats(n, 3, 0.5, 1.5)), beta_ln(random_floats(n, 4, -0.5, 0.5)),
        gamma_bn(gamma_ln), beta_bn(beta_ln), y(m * n), dx(m * n), dgamma(n), dbeta(n), acc_g(n), acc_b(n) {}
  auto outs() {
    return std::tuple{ctgrad::view<float, 2>(y.data(), {m, n}), ctgrad::view<float, 2>(dx.data(), {m, n}),
                      ctgrad::view<float, 1>(dgamma.data(), {n}), ctgrad::view<float, 1>(dbeta.data(), {n})};
  }
  template <class Plan>
  void run(Plan& plan) {
    plan.run(outs(), ctgrad::bind(x, ctgrad::view<const float, 2>(xs.data(), {m, n})),
             ctgrad::bind(dy, ctgrad::view<const float, 2>(dys.data(), {m, n})),
             ctgrad::bind(gamma_, ctgrad::view<const float, 1>(gamma_ln.data(), {n})),
             ctgrad::bind(beta_, ctgrad::view<const float, 1>(beta_ln.data(), {n})), ctgrad::bind(eps, kEps));
  }
};

/// Layer norm forward + backward by hand: per row, the statistics in double (two passes over a
/// row that sits in cache), y, then the two row sums of the backward and dx; dgamma and dbeta
/// accumulate over rows in double.
void layer_norm_by_hand(norm_problem& p) {
  const std::size_t n = p.n;
  std::fill(p.acc_g.begin(), p.acc_g.end(), 0.0);
  std::fill(p.acc_b.begin(), p.acc_b.end(), 0.0);
  for (std::size_t i = 0; i < p.m; ++i) {
    const float* xr = p.xs.data() + i * n;
    const float* dyr = p.dys.data() + i * n;
    double s = 0;
    for (std::size_t j = 0; j < n; ++j) s += xr[j];
    const double mean = s / double(n);
    double v = 0;
    for (std::size_t j = 0; j < n; ++j) v += (xr[j] - mean) * (xr[j] - mean);
    const double rstd = 1.0 / std::sqrt(v / double(n) + double(kEps));
    double s1 = 0, s2 = 0;
    for (std::size_t j = 0; j < n; ++j) {
      const double xhat = (xr[j] - mean) * rstd;
      const double g = double(dyr[j]) * p.gamma_ln[j];
      p.y[i * n + j] = static_cast<float>(p.gamma_ln[j] * xhat + p.beta_ln[j]);
      s1 += g;
      s2 += g * xhat;
      p.acc_g[j] += double(dyr[j]) * xhat;
      p.acc_b[j] += dyr[j];
    }
    const double c1 = s1 / double(n), c2 = s2 / double(n);
    for (std::size_t j = 0; j < n; ++j) {
      const double xhat = (xr[j] - mean) * rstd;
      p.dx[i * n + j] = static_cast<float>(rstd * (double(dyr[j]) * p.gamma_ln[j] - c1 - xhat * c2));
    }
  }
  for (std::size_t j = 0; j < n; ++j) {
    p.dgamma[j] = static_cast<float>(p.acc_g[j]);
    p.dbeta[j] = static_cast<float>(p.acc_b[j]);
  }
}

/// The layer-norm closed form in long double; the largest error of p's outputs relative to the
/// magnitude of each output's terms.
double layer_norm_error(const norm_problem& p) {
  const std::size_t n = p.n;
  double worst = 0;
  std::vector<long double> g(n, 0), b(n, 0);
  for (std::size_t i = 0; i < p.m; ++i) {
    long double s = 0, v = 0;
    for (std::size_t j = 0; j < n; ++j) s += p.xs[i * n + j];
    const long double mean = s / n;
    for (std::size_t j = 0; j < n; ++j) v += (p.xs[i * n + j] - mean) * (p.xs[i * n + j] - mean);
    const long double rstd = 1 / std::sqrt(v / n + kEps);
    long double s1 = 0, s2 = 0;
    for (std::size_t j = 0; j < n; ++j) {
      const long double xhat = (p.xs[i * n + j] - mean) * rstd, gj = (long double)p.dys[i * n + j] * p.gamma_ln[j];
      s1 += gj;
      s2 += gj * xhat;
      g[j] += p.dys[i * n + j] * xhat;
      b[j] += p.dys[i * n + j];
      // relative to the terms: xhat is itself (x - mean) * rstd
      const long double xhat_terms = (std::fabs((long double)p.xs[i * n + j]) + std::fabs(mean)) * rstd;
      worst = std::max(worst, double(std::fabs(p.y[i * n + j] - (p.gamma_ln[j] * xhat + p.beta_ln[j])) /
                                     (std::fabs(p.gamma_ln[j]) * xhat_terms + std::fabs(p.beta_ln[j]))));
    }
    for (std::size_t j = 0; j < n; ++j) {
      const long double xhat = (p.xs[i * n + j] - mean) * rstd, gj = (long double)p.dys[i * n + j] * p.gamma_ln[j];
      const long double want = rstd * (gj - s1 / n - xhat * s2 / n);
      const long double xhat_terms = (std::fabs((long double)p.xs[i * n + j]) + std::fabs(mean)) * rstd;
      const long double scale = rstd * (std::fabs(gj) + std::fabs(s1 / n) + xhat_terms * std::fabs(s2 / n));
      worst = std::max(worst, double(std::fabs(p.dx[i * n + j] - want) / scale));
    }
  }
  for (std::size_t j = 0; j < n; ++j) {
    worst = std::max(worst, double(std::fabs(p.dgamma[j] - g[j]) / (std::fabs(g[j]) + std::sqrt((long double)p.m))));
    worst = std::max(worst, double(std::fabs(p.dbeta[j] - b[j]) / (std::fabs(b[j]) + std::sqrt((long double)p.m))));
  }
  return worst;
}

// -- softmax cross-entropy -------------------------------------------------------------------

struct ce_problem {
  std::size_t m, k;
  std::vector<float> z, t, dz, loss;
  ce_problem(std::size_t m_, std::size_t k_) : m(m_), k(k_), z(random_floats(m * k, 5, -8, 8)), t(m * k, 0.f), dz(m * k), loss(1) {
    for (std::size_t i = 0; i < m; ++i) t[i * k + (i * 7919) % k] = 1;
  }
  template <class Plan>
  void run(Plan& plan) {
    plan.run(std::tuple{ctgrad::view<float, 0>(loss.data(), {}), ctgrad::view<float, 2>(dz.data(), {m, k})},
             ctgrad::bind(logits, ctgrad::view<const float, 2>(z.data(), {m, k})),
             ctgrad::bind(targets, ctgrad::view<const float, 2>(t.data(), {m, k})));
  }
};

/// Softmax cross-entropy forward + backward by hand: per row the max, the sum of exp(z - max)
/// in double, the loss term, and dz = (softmax - t) / m.
void cross_entropy_by_hand(ce_problem& p) {
  const std::size_t k = p.k;
  double loss = 0;
  const double inv_m = 1.0 / double(p.m);
  for (std::size_t i = 0; i < p.m; ++i) {
    const float* zr = p.z.data() + i * k;
    const float* tr = p.t.data() + i * k;
    float hi = zr[0];
    for (std::size_t j = 1; j < k; ++j) hi = std::max(hi, zr[j]);
    double s = 0, tz = 0, ts = 0;
    for (std::size_t j = 0; j < k; ++j) {
      s += std::exp(double(zr[j]) - hi);
      tz += double(tr[j]) * (zr[j] - hi);
      ts += tr[j];
    }
    const double log_s = std::log(s);
    loss -= (tz - log_s * ts) * inv_m;
    const double inv_s = 1.0 / s;
    for (std::size_t j = 0; j < k; ++j)
      p.dz[i * k + j] = static_cast<float>((std::exp(double(zr[j]) - hi) * inv_s * ts - tr[j]) * inv_m);
  }
  p.loss[0] = static_cast<float>(loss);
}

double cross_entropy_error(const ce_problem& p) {
  const std::size_t k = p.k;
  long double loss = 0;
  double worst = 0;
  for (std::size_t i = 0; i < p.m; ++i) {
    long double hi = p.z[i * k];
    for (std::size_t j = 1; j < k; ++j) hi = std::max(hi, (long double)p.z[i * k + j]);
    long double s = 0;
    for (std::size_t j = 0; j < k; ++j) s += std::exp(p.z[i * k + j] - hi);
    const long double lse = hi + std::log(s);
    for (std::size_t j = 0; j < k; ++j) {
      loss -= p.t[i * k + j] * (p.z[i * k + j] - lse) / p.m;
      const long double want = (std::exp(p.z[i * k + j] - lse) - p.t[i * k + j]) / p.m;
      worst = std::max(worst, double(std::fabs(p.dz[i * k + j] - want) * p.m));  // terms are O(1 / m)
    }
  }
  return std::max(worst, double(std::fabs(p.loss[0] - loss) / std::fabs(loss)));
}

// -- benchmarks --------------------------------------------------------------------------------

constexpr double kTolerance = 1e-5;

template <class P, class Run, class Error>
void checked(P& p, Run run, Error error, const std::string& name) {
  run(p);
  const double e = error(p);
  if (!(e <= kTolerance)) fail(name + ": max relative error " + std::to_string(e));
}

void set_bytes(benchmark::State& state, std::size_t bytes) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(bytes));
}

void bm_layer_norm_ctgrad(benchmark::State& state, std::size_t m, std::size_t n) {
  norm_problem p(m, n);
  auto plan = ctgrad::compile<float>(layer_norm_all);
  checked(p, [&](norm_problem& q) { q.run(plan); }, layer_norm_error, "ctgrad layer norm");
  for (auto _ : state) p.run(plan);
  set_bytes(state, 4 * m * n * sizeof(float));
}
void bm_layer_norm_by_hand(benchmark::State& state, std::size_t m, std::size_t n) {
  norm_problem p(m, n);
  checked(p, layer_norm_by_hand, layer_norm_error, "hand-written layer norm");
  for (auto _ : state) layer_norm_by_hand(p);
  set_bytes(state, 4 * m * n * sizeof(float));
}
/// ctgrad's batch norm on the same m x n bytes (reductions over rows instead of along them).
void bm_batch_norm_ctgrad(benchmark::State& state, std::size_t m, std::size_t n) {
  norm_problem p(m, n);
  auto plan = ctgrad::compile<float>(batch_norm_all);
  p.run(plan);
  for (auto _ : state) p.run(plan);
  set_bytes(state, 4 * m * n * sizeof(float));
}
void bm_cross_entropy_ctgrad(benchmark::State& state, std::size_t m, std::size_t k) {
  ce_problem p(m, k);
  auto plan = ctgrad::compile<float>(ce_all);
  checked(p, [&](ce_problem& q) { q.run(plan); }, cross_entropy_error, "ctgrad softmax cross-entropy");
  for (auto _ : state) p.run(plan);
  set_bytes(state, 3 * m * k * sizeof(float));
}
void bm_cross_entropy_by_hand(benchmark::State& state, std::size_t m, std::size_t k) {
  ce_problem p(m, k);
  checked(p, cross_entropy_by_hand, cross_entropy_error, "hand-written softmax cross-entropy");
  for (auto _ : state) cross_entropy_by_hand(p);
  set_bytes(state, 3 * m * k * sizeof(float));
}

void register_all() {
  for (auto [m, n] : {std::pair<std::size_t, std::size_t>{4096, 1024}, {16384, 256}, {8192, 4096}}) {
    const std::string size = std::to_string(m) + "x" + std::to_string(n);
    benchmark::RegisterBenchmark(("layer_norm/ctgrad_plan/" + size).c_str(), bm_layer_norm_ctgrad, m, n)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("layer_norm/by_hand/" + size).c_str(), bm_layer_norm_by_hand, m, n)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("layer_norm/ctgrad_batch_norm_same_bytes/" + size).c_str(), bm_batch_norm_ctgrad, m, n)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("softmax_cross_entropy/ctgrad_plan/4096x1000", bm_cross_entropy_ctgrad, 4096, 1000)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("softmax_cross_entropy/by_hand/4096x1000", bm_cross_entropy_by_hand, 4096, 1000)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
