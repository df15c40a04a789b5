// Contractions (issue 15, point 5): a linear layer forward + backward (y, dx, dW, db) and one
// forward + backward pass of an MLP 784-256-256-10 with batch norm, ReLU and softmax
// cross-entropy (every parameter's gradient), float, against the same work written by hand over
// CBLAS in the same binary. Run the BLAS on one thread:
//
//   OPENBLAS_NUM_THREADS=1 build/benchmarks/bench_linear --benchmark_repetitions=5
//   python3 benchmarks/linear_report.py          (runs it and prints the ratio table)
//
// Every implementation is checked against the other before it is timed (relative error 1e-3 of
// the largest magnitude, float GEMMs summing up to 1024 terms); a disagreement aborts the run.
#include <benchmark/benchmark.h>

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <ctgrad.hpp>

#include "../examples/mlp_model.hpp"

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "bench_linear: %s\n", what.c_str());
  std::abort();
}

std::vector<float> random_floats(std::size_t count, unsigned seed, float lo, float hi) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(count);
  for (auto& e : v) e = d(gen);
  return v;
}

void require_close(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  float scale = 0;
  for (float w : want) scale = std::max(scale, std::abs(w));
  for (std::size_t i = 0; i < want.size(); ++i)
    if (!(std::abs(got[i] - want[i]) <= 1e-3f * std::max(scale, 1e-30f)))
      fail(what + ": element " + std::to_string(i) + " is " + std::to_string(got[i]) + ", want " + std::to_string(want[i]));
}

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda, const float* b,
          std::size_t ldb, float* c, std::size_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k), 1.0f, a,
              int(lda), b, int(ldb), 0.0f, c, int(ldc));
}

// -- the linear layer -------------------------------------------------------------------------

constexpr auto x = ctgrad::input<"x", 2>;
constexpr auto W = ctgrad::input<"W", 2>;
constexpr auto b = ctgrad::input<"b", 1>;
constexpr auto dy = ctgrad::input<"dy", 2>;
constexpr auto y_expr = ctgrad::nn::linear(x, W, b);
constexpr auto linear_all = [] {
  const auto [dx, dW, db] = ctgrad::vjp(ctgrad::outputs(y_expr), ctgrad::seeds(dy), ctgrad::wrt(x, W, b));
  return ctgrad::exprs(y_expr, dx, dW, db);
}();

struct linear_problem {
  std::size_t m, k, n;
  std::vector<float> xs, Ws, bs, dys, y, dx, dW, db;
  linear_problem(std::size_t m_, std::size_t k_, std::size_t n_)
      : m(m_), k(k_), n(n_), xs(random_floats(m * k, 1, -1, 1)), Ws(random_floats(k * n, 2, -0.1f, 0.1f)),
        bs(random_floats(n, 3, -1, 1)), dys(random_floats(m * n, 4, -1, 1)), y(m * n), dx(m * k), dW(k * n), db(n) {}
  template <class Plan>
  void run(Plan& plan) {
    plan.run(std::tuple{ctgrad::view<float, 2>(y.data(), {m, n}), ctgrad::view<float, 2>(dx.data(), {m, k}),
                        ctgrad::view<float, 2>(dW.data(), {k, n}), ctgrad::view<float, 1>(db.data(), {n})},
             ctgrad::bind(x, ctgrad::view<const float, 2>(xs.data(), {m, k})),
             ctgrad::bind(W, ctgrad::view<const float, 2>(Ws.data(), {k, n})),
             ctgrad::bind(b, ctgrad::view<const float, 1>(bs.data(), {n})),
             ctgrad::bind(dy, ctgrad::view<const float, 2>(dys.data(), {m, n})));
  }
  /// The same by hand: three GEMMs, the bias added to y, db the column sums of dy.
  void by_hand() {
    gemm(false, false, m, n, k, xs.data(), k, Ws.data(), n, y.data(), n);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) y[i * n + j] += bs[j];
    gemm(false, true, m, k, n, dys.data(), n, Ws.data(), n, dx.data(), k);
    gemm(true, false, k, n, m, xs.data(), k, dys.data(), n, dW.data(), n);
    std::fill(db.begin(), db.end(), 0.0f);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) db[j] += dys[i * n + j];
  }
};

void check_linear(std::size_t m, std::size_t k, std::size_t n) {
  linear_problem p(m, k, n), q(m, k, n);
  auto plan = ctgrad::compile<float>(linear_all);
  p.run(plan);
  q.by_hand();
  require_close(p.y, q.y, "linear y");
  require_close(p.dx, q.dx, "linear dx");
  require_close(p.dW, q.dW, "linear dW");
  require_close(p.db, q.db, "linear db");
  if (plan.gemm_calls() != 3) fail("ctgrad's linear layer made " + std::to_string(plan.gemm_calls()) + " GEMM calls, not 3");
}

void set_flops(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void bm_linear_ctgrad(benchmark::State& state, std::size_t m, std::size_t k, std::size_t n) {
  check_linear(m, k, n);
  linear_problem p(m, k, n);
  auto plan = ctgrad::compile<float>(linear_all);
  p.run(plan);
  for (auto _ : state) p.run(plan);
  set_flops(state, 6.0 * double(m) * double(k) * double(n));
}
void bm_linear_by_hand(benchmark::State& state, std::size_t m, std::size_t k, std::size_t n) {
  linear_problem p(m, k, n);
  p.by_hand();
  for (auto _ : state) p.by_hand();
  set_flops(state, 6.0 * double(m) * double(k) * double(n));
}

// -- the MLP: 784-256-256-10, batch norm and ReLU after each hidden linear layer ---------------

// The model of examples/train_mlp.cpp, in one place (its eps is the constant 1e-5, kEps below).
constexpr auto X = mlp_model::x;
constexpr auto T = mlp_model::targets;
constexpr auto W1 = mlp_model::W1;
constexpr auto b1 = mlp_model::b1;
constexpr auto g1 = mlp_model::gamma1;
constexpr auto be1 = mlp_model::beta1;
constexpr auto W2 = mlp_model::W2;
constexpr auto b2 = mlp_model::b2;
constexpr auto g2 = mlp_model::gamma2;
constexpr auto be2 = mlp_model::beta2;
constexpr auto W3 = mlp_model::W3;
constexpr auto b3 = mlp_model::b3;
constexpr auto loss = mlp_model::bn::loss;
constexpr auto mlp_all = [] {
  const auto [dW1, db1, dg1, dbe1, dW2, db2, dg2, dbe2, dW3, db3] =
      ctgrad::grad(loss, ctgrad::wrt(W1, b1, g1, be1, W2, b2, g2, be2, W3, b3));
  return ctgrad::exprs(loss, dW1, db1, dg1, dbe1, dW2, db2, dg2, dbe2, dW3, db3);
}();

constexpr std::size_t n_in = 784, n_h = 256, n_out = 10;
constexpr float kEps = 1e-5f;

struct layer {
  std::size_t in, out;
  std::vector<float> W, b, gamma, beta, dW, db, dgamma, dbeta;
  layer(std::size_t i, std::size_t o, unsigned seed)
      : in(i), out(o), W(random_floats(i * o, seed, -1.0f / std::sqrt(float(i)), 1.0f / std::sqrt(float(i)))),
        b(random_floats(o, seed + 1, -0.1f, 0.1f)), gamma(random_floats(o, seed + 2, 0.8f, 1.2f)),
        beta(random_floats(o, seed + 3, -0.1f, 0.1f)), dW(i * o), db(o), dgamma(o), dbeta(o) {}
};

struct mlp_problem {
  std::size_t m;
  std::vector<float> xs, ts;
  layer l1{n_in, n_h, 10}, l2{n_h, n_h, 20}, l3{n_h, n_out, 30};
  float loss_value = 0;
  // the hand-written pass's work arrays
  std::vector<float> z1, xh1, a1, z2, xh2, a2, z3, d3, dh, dz;
  std::vector<float> rstd1, rstd2;
  explicit mlp_problem(std::size_t m_)
      : m(m_), xs(random_floats(m * n_in, 1, -1, 1)), ts(m * n_out, 0.0f), z1(m * n_h), xh1(m * n_h), a1(m * n_h), z2(m * n_h),
        xh2(m * n_h), a2(m * n_h), z3(m * n_out), d3(m * n_out), dh(m * n_h), dz(m * n_h), rstd1(n_h), rstd2(n_h) {
    for (std::size_t i = 0; i < m; ++i) ts[i * n_out + (i * 7) % n_out] = 1.0f;
  }

  template <class Plan>
  void run(Plan& plan) {
    auto v2 = [](std::vector<float>& v, std::size_t r, std::size_t c) { return ctgrad::view<float, 2>(v.data(), {r, c}); };
    auto v1 = [](std::vector<float>& v) { return ctgrad::view<float, 1>(v.data(), {v.size()}); };
    auto c2 = [](const std::vector<float>& v, std::size_t r, std::size_t c) { return ctgrad::view<const float, 2>(v.data(), {r, c}); };
    auto c1 = [](const std::vector<float>& v) { return ctgrad::view<const float, 1>(v.data(), {v.size()}); };
    plan.run(std::tuple{ctgrad::view<float, 0>(&loss_value, {}), v2(l1.dW, n_in, n_h), v1(l1.db), v1(l1.dgamma), v1(l1.dbeta),
                        v2(l2.dW, n_h, n_h), v1(l2.db), v1(l2.dgamma), v1(l2.dbeta), v2(l3.dW, n_h, n_out), v1(l3.db)},
             ctgrad::bind(X, c2(xs, m, n_in)), ctgrad::bind(T, c2(ts, m, n_out)), ctgrad::bind(W1, c2(l1.W, n_in, n_h)),
             ctgrad::bind(b1, c1(l1.b)), ctgrad::bind(g1, c1(l1.gamma)), ctgrad::bind(be1, c1(l1.beta)),
             ctgrad::bind(W2, c2(l2.W, n_h, n_h)), ctgrad::bind(b2, c1(l2.b)), ctgrad::bind(g2, c1(l2.gamma)),
             ctgrad::bind(be2, c1(l2.beta)), ctgrad::bind(W3, c2(l3.W, n_h, n_out)), ctgrad::bind(b3, c1(l3.b)));
  }

  /// linear + batch norm (biased variance, two-pass, double sums) + ReLU, forward.
  void forward_block(const float* in, const layer& l, std::vector<float>& z, std::vector<float>& xh, std::vector<float>& a,
                     std::vector<float>& rstd) {
    const std::size_t n = l.out;
    gemm(false, false, m, n, l.in, in, l.in, l.W.data(), n, z.data(), n);
    std::vector<double> mean(n, 0.0), var(n, 0.0);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) mean[j] += double(z[i * n + j] + l.b[j]);
    for (std::size_t j = 0; j < n; ++j) mean[j] /= double(m);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const double d = double(z[i * n + j] + l.b[j]) - mean[j];
        var[j] += d * d;
      }
    for (std::size_t j = 0; j < n; ++j) rstd[j] = float(1.0 / std::sqrt(var[j] / double(m) + double(kEps)));
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const float h = (z[i * n + j] + l.b[j] - float(mean[j])) * rstd[j];
        xh[i * n + j] = h;
        a[i * n + j] = std::max(0.0f, l.gamma[j] * h + l.beta[j]);
      }
  }
  /// The backward of ReLU(batch norm(z)) from dh (the gradient of a) to dz, with db, dgamma, dbeta.
  void backward_block(layer& l, const std::vector<float>& xh, const std::vector<float>& a, const std::vector<float>& rstd) {
    const std::size_t n = l.out;
    std::vector<double> sg(n, 0.0), sb(n, 0.0);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const float g = a[i * n + j] > 0 ? dh[i * n + j] : 0.0f;
        dh[i * n + j] = g;
        sg[j] += double(g) * double(xh[i * n + j]);
        sb[j] += double(g);
      }
    for (std::size_t j = 0; j < n; ++j) {
      l.dgamma[j] = float(sg[j]);
      l.dbeta[j] = float(sb[j]);
    }
    const float inv_m = 1.0f / float(m);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j)
        dz[i * n + j] = l.gamma[j] * rstd[j] * inv_m *
                        (float(m) * dh[i * n + j] - float(sb[j]) - xh[i * n + j] * float(sg[j]));
    for (std::size_t j = 0; j < n; ++j) {  // 0 up to rounding: batch norm removes a bias before it
      double s = 0;
      for (std::size_t i = 0; i < m; ++i) s += double(dz[i * n + j]);
      l.db[j] = float(s);
    }
  }

  /// The same pass by hand: forward, loss, every parameter's gradient.
  void by_hand() {
    forward_block(xs.data(), l1, z1, xh1, a1, rstd1);
    forward_block(a1.data(), l2, z2, xh2, a2, rstd2);
    gemm(false, false, m, n_out, n_h, a2.data(), n_h, l3.W.data(), n_out, z3.data(), n_out);
    double total = 0;
    for (std::size_t i = 0; i < m; ++i) {
      float* row = &z3[i * n_out];
      float mx = -INFINITY;
      for (std::size_t j = 0; j < n_out; ++j) {
        row[j] += l3.b[j];
        mx = std::max(mx, row[j]);
      }
      double se = 0;
      for (std::size_t j = 0; j < n_out; ++j) se += std::exp(double(row[j] - mx));
      const double lse = std::log(se) + mx;
      for (std::size_t j = 0; j < n_out; ++j) {
        total -= double(ts[i * n_out + j]) * (double(row[j]) - lse);
        d3[i * n_out + j] = float((std::exp(double(row[j]) - lse) - double(ts[i * n_out + j])) / double(m));
      }
    }
    loss_value = float(total / double(m));
    gemm(true, false, n_h, n_out, m, a2.data(), n_h, d3.data(), n_out, l3.dW.data(), n_out);
    std::fill(l3.db.begin(), l3.db.end(), 0.0f);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n_out; ++j) l3.db[j] += d3[i * n_out + j];
    gemm(false, true, m, n_h, n_out, d3.data(), n_out, l3.W.data(), n_out, dh.data(), n_h);
    backward_block(l2, xh2, a2, rstd2);
    gemm(true, false, n_h, n_h, m, a1.data(), n_h, dz.data(), n_h, l2.dW.data(), n_h);
    gemm(false, true, m, n_h, n_h, dz.data(), n_h, l2.W.data(), n_h, dh.data(), n_h);
    backward_block(l1, xh1, a1, rstd1);
    gemm(true, false, n_in, n_h, m, xs.data(), n_in, dz.data(), n_h, l1.dW.data(), n_h);
  }
};

void check_mlp(std::size_t m) {
  mlp_problem p(m), q(m);
  auto plan = ctgrad::compile<float>(mlp_all);
  p.run(plan);
  q.by_hand();
  if (!(std::abs(p.loss_value - q.loss_value) <= 1e-4f * std::abs(q.loss_value))) fail("MLP loss differs");
  require_close(p.l1.dW, q.l1.dW, "MLP dW1");
  require_close(p.l1.dgamma, q.l1.dgamma, "MLP dgamma1");
  require_close(p.l1.dbeta, q.l1.dbeta, "MLP dbeta1");
  require_close(p.l2.dW, q.l2.dW, "MLP dW2");
  require_close(p.l2.dgamma, q.l2.dgamma, "MLP dgamma2");
  require_close(p.l3.dW, q.l3.dW, "MLP dW3");
  require_close(p.l3.db, q.l3.db, "MLP db3");
}

void bm_mlp_ctgrad(benchmark::State& state, std::size_t m) {
  check_mlp(m);
  mlp_problem p(m);
  auto plan = ctgrad::compile<float>(mlp_all);
  p.run(plan);
  for (auto _ : state) p.run(plan);
  state.counters["gemm_calls"] = double(plan.gemm_calls());
}
void bm_mlp_by_hand(benchmark::State& state, std::size_t m) {
  mlp_problem p(m);
  p.by_hand();
  for (auto _ : state) p.by_hand();
}

void register_all() {
  for (auto [m, k, n] : {std::tuple<std::size_t, std::size_t, std::size_t>{256, 784, 256}, {1024, 1024, 1024}, {4096, 256, 10}}) {
    const std::string size = std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n);
    benchmark::RegisterBenchmark(("linear/ctgrad_plan/" + size).c_str(), bm_linear_ctgrad, m, k, n)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("linear/by_hand_cblas/" + size).c_str(), bm_linear_by_hand, m, k, n)->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("mlp_step/ctgrad_plan/256", bm_mlp_ctgrad, 256)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("mlp_step/by_hand_cblas/256", bm_mlp_by_hand, 256)->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
