// Batch normalization, training mode, forward + backward (y, dx, dgamma, dbeta in one call),
// float32, one thread: ctgrad's derived evaluation against hand-written closed forms and a
// memcpy of the same bytes, all in this one binary, compiled with the same flags (issue 6).
//
//   cmake --build build-bench --target bench_batch_norm
//   build-bench/benchmarks/bench_batch_norm --benchmark_repetitions=5
//   python3 benchmarks/report.py            # the Markdown table of docs/performance.md
//
// Benchmark names: batch_norm/<implementation>/<m>x<n>/threads:<t>. Every implementation is
// checked once per size, before it is timed, against the double-precision plain-loop closed
// form of tests/support/batch_norm_reference.hpp (and, for those that claim ctgrad's accuracy
// contract, on a batch with a large offset); the program aborts with a message if an error is
// too large. Each row reports:
//   bytes_per_second  the compulsory traffic (read x and dy, write y and dx: 16 m n bytes, plus
//                     the per-feature vectors) per second, the same byte count for every row,
//                     so that it compares directly with the memcpy row's;
//   max_err           the largest error against the reference, relative to each output's scale;
//   plan_bytes        (ctgrad plan rows) plan.bytes_moved() of one run, and plan_bytes_per_second.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <ctgrad.hpp>
#if __has_include(<ctgrad/eval/plan.hpp>)
#include <ctgrad/eval/plan.hpp>
#define CTGRAD_BENCH_HAVE_PLAN 1
#else
#define CTGRAD_BENCH_HAVE_PLAN 0
#endif

#include "batch_norm_baselines.hpp"
#include "support/batch_norm_reference.hpp"

namespace {

// ---------------------------------------------------------------------------------------------
// The ctgrad computation: batch norm built from primitives, and its derived vjp
// ---------------------------------------------------------------------------------------------
namespace bn {
constexpr auto x = ctgrad::input<"x", 2>;
constexpr auto gamma = ctgrad::input<"gamma", 1>;
constexpr auto beta = ctgrad::input<"beta", 1>;
constexpr auto eps = ctgrad::input<"eps", 0>;
constexpr auto dy = ctgrad::input<"dy", 2>;
constexpr auto y = ctgrad::nn::batch_norm_train(x, gamma, beta, eps);
constexpr auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma, beta));
constexpr auto dx = ctgrad::get<0>(grads);
constexpr auto dgamma = ctgrad::get<1>(grads);
constexpr auto dbeta = ctgrad::get<2>(grads);
constexpr auto all = ctgrad::exprs(y, dx, dgamma, dbeta);
}  // namespace bn

constexpr float kEps = 1e-5f;

// ---------------------------------------------------------------------------------------------
// One problem per size: inputs, outputs, scratch
// ---------------------------------------------------------------------------------------------
struct problem {
  std::size_t m, n;
  std::vector<float> x, gamma, beta, dy;
  std::vector<float> y, dx, dgamma, dbeta;
  bn_baseline::workspace ws;

  problem(std::size_t m_, std::size_t n_, double offset, unsigned seed)
      : m(m_), n(n_), x(m * n), gamma(n), beta(n), dy(m * n), y(m * n), dx(m * n), dgamma(n), dbeta(n),
        ws(m, n, /*naive=*/true) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> uniform(0.5f, 1.5f);
    // Per feature a different location and scale, as real activations have.
    std::vector<float> loc(n), scale(n);
    for (std::size_t k = 0; k < n; ++k) {
      loc[k] = static_cast<float>(offset) + 3.0f * normal(gen);
      scale[k] = 2.0f * uniform(gen);
      gamma[k] = uniform(gen);
      beta[k] = 0.1f * normal(gen);
    }
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t k = 0; k < n; ++k) {
        x[i * n + k] = loc[k] + scale[k] * normal(gen);
        dy[i * n + k] = normal(gen);
      }
    // The outputs are touched here so that no timed run pays for first-touch page faults.
    std::fill(y.begin(), y.end(), 0.0f);
    std::fill(dx.begin(), dx.end(), 0.0f);
  }

  bn_baseline::args args() {
    return {x.data(), gamma.data(), beta.data(), dy.data(), kEps, y.data(), dx.data(), dgamma.data(), dbeta.data(), m, n};
  }
  [[nodiscard]] std::size_t compulsory_bytes() const {  // read x, dy, gamma, beta; write y, dx, dgamma, dbeta
    return sizeof(float) * (4 * m * n + 4 * n);
  }
  [[nodiscard]] std::size_t memcpy_bytes() const { return sizeof(float) * 4 * m * n; }  // read x, dy; write 2 copies
};

// ---------------------------------------------------------------------------------------------
// Implementations under test: each writes y, dx, dgamma, dbeta of a problem
// ---------------------------------------------------------------------------------------------
void run_naive_f64(problem& p) { bn_baseline::naive_f64(p.args(), p.ws); }
void run_fused4_f64(problem& p) { bn_baseline::fused4<double>(p.args(), p.ws); }
void run_fused2_f64(problem& p) { bn_baseline::fused2_f64(p.args(), p.ws); }
void run_fused4_f32(problem& p) { bn_baseline::fused4<float>(p.args(), p.ws); }
void run_fused2_block8_stream(problem& p) { bn_baseline::fused2_block8_stream(p.args(), p.ws); }
void run_fused2_mixed(problem& p) { bn_baseline::fused2_mixed(p.args(), p.ws); }

auto out_views(problem& p) {
  return std::tuple{ctgrad::view<float, 2>(p.y.data(), {p.m, p.n}), ctgrad::view<float, 2>(p.dx.data(), {p.m, p.n}),
                    ctgrad::view<float, 1>(p.dgamma.data(), {p.n}), ctgrad::view<float, 1>(p.dbeta.data(), {p.n})};
}
auto bindings(const problem& p) {
  return std::tuple{ctgrad::bind(bn::x, ctgrad::view<const float, 2>(p.x.data(), {p.m, p.n})),
                    ctgrad::bind(bn::gamma, ctgrad::view<const float, 1>(p.gamma.data(), {p.n})),
                    ctgrad::bind(bn::beta, ctgrad::view<const float, 1>(p.beta.data(), {p.n})),
                    ctgrad::bind(bn::eps, kEps),
                    ctgrad::bind(bn::dy, ctgrad::view<const float, 2>(p.dy.data(), {p.m, p.n}))};
}

void run_ctgrad_evaluate_into(problem& p) {
  std::apply([&](auto... b) { ctgrad::evaluate_into(bn::all, out_views(p), b...); }, bindings(p));
}

#if CTGRAD_BENCH_HAVE_PLAN
using plan_t = decltype(ctgrad::compile<float>(bn::all));
void run_plan(plan_t& plan, problem& p) {
  std::apply([&](auto... b) { plan.run(out_views(p), b...); }, bindings(p));
}
void run_ctgrad_plan_once(problem& p) {
  auto plan = ctgrad::compile<float>(bn::all);
  run_plan(plan, p);
}
#endif

struct implementation {
  const char* name;
  void (*run)(problem&);
  bool contract;  // meets ctgrad's accuracy contract for float data (double accumulation)
  const char* label = nullptr;  // why a row is information only (report.py leaves it out of "best")
};

const std::vector<implementation>& implementations() {
  static const std::vector<implementation> list = {
      {"baseline_naive_f64", run_naive_f64, true},
      {"baseline_fused4_f64", run_fused4_f64, true},
      {"baseline_fused2_f64", run_fused2_f64, true},
      {"baseline_fused2_mixed", run_fused2_mixed, true},
      {"baseline_fused4_f32acc", run_fused4_f32, false, "information only: float accumulation"},
      {"bound_block8_stream", run_fused2_block8_stream, false,
       "information only: float sums of 8-row blocks, streaming stores"},
      {"ctgrad_evaluate_into", run_ctgrad_evaluate_into, true},
#if CTGRAD_BENCH_HAVE_PLAN
      {"ctgrad_plan", run_ctgrad_plan_once, true},
#endif
  };
  return list;
}

// ---------------------------------------------------------------------------------------------
// Checking against the double-precision closed form
// ---------------------------------------------------------------------------------------------

/// Largest error over y, dx, dgamma, dbeta, each relative to its scale: max |ref| for y, dgamma
/// and dbeta; for dx, per element, the magnitude of the terms whose sum is dx (dx_scale).
double max_error(const problem& p, const ctgrad_test::batch_norm_closed_form& ref) {
  auto rel = [](const std::vector<float>& v, const std::vector<double>& r) {
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < r.size(); ++i) {
      diff = std::max(diff, std::abs(double(v[i]) - r[i]));
      scale = std::max(scale, std::abs(r[i]));
    }
    return scale > 0 ? diff / scale : diff;
  };
  double dx_err = 0;
  for (std::size_t i = 0; i < ref.dx.size(); ++i) {
    const double e = std::abs(double(p.dx[i]) - ref.dx[i]);
    if (!(e <= 0) || ref.dx_scale[i] > 0) dx_err = std::max(dx_err, ref.dx_scale[i] > 0 ? e / ref.dx_scale[i] : e);
    if (std::isnan(p.dx[i])) dx_err = INFINITY;
  }
  return std::max({rel(p.y, ref.y), dx_err, rel(p.dgamma, ref.dgamma), rel(p.dbeta, ref.dbeta)});
}

// Rounding the outputs to float alone costs 2^-24 ~ 6e-8 relative; accumulating in float loses
// about sqrt(m) ulps and more with offsets, which the information-only variant may. Float results must match the double-precision closed form to 1e-5, relative to the magnitude
// of the values (for dx: of the terms it is summed from), which is what the test suite asks of
// float evaluation; float accumulation (4e-3 on a batch offset by 1e4) does not qualify.
constexpr double kContractTolerance = 1e-5;
constexpr double kFloatTolerance = 1e-3;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "bench_batch_norm: %s\n", what.c_str());
  std::abort();
}

/// Runs every implementation once on `p` and on a small batch with a large offset, compares
/// with the closed form, aborts on a too-large error; returns the errors on `p` by name.
std::map<std::string, double> check_all(problem& p) {
  std::map<std::string, double> errors;
  const auto ref = ctgrad_test::batch_norm_reference(p.x, p.gamma, p.beta, p.dy, p.m, p.n, double(kEps));
  problem offset(256, 64, 1.0e4, 7);
  const auto offset_ref =
      ctgrad_test::batch_norm_reference(offset.x, offset.gamma, offset.beta, offset.dy, offset.m, offset.n, double(kEps));
  for (const auto& impl : implementations()) {
    const double tol = impl.contract ? kContractTolerance : kFloatTolerance;
    std::fill(p.y.begin(), p.y.end(), NAN);
    std::fill(p.dx.begin(), p.dx.end(), NAN);
    impl.run(p);
    const double err = max_error(p, ref);
    if (!(err <= tol))
      fail(std::string(impl.name) + " on " + std::to_string(p.m) + "x" + std::to_string(p.n) +
           ": max relative error " + std::to_string(err) + " exceeds " + std::to_string(tol));
    errors[impl.name] = err;
    if (impl.contract) {
      impl.run(offset);
      const double e = max_error(offset, offset_ref);
      if (!(e <= tol))
        fail(std::string(impl.name) + " on a batch offset by 1e4: max relative error " + std::to_string(e) +
             " exceeds " + std::to_string(tol));
    }
  }
  return errors;
}

struct checked_problem {
  std::unique_ptr<problem> data;
  std::map<std::string, double> errors;
};

/// The problem of size m x n, created and checked on first use (never while timing).
checked_problem& get_problem(std::size_t m, std::size_t n) {
  static std::map<std::pair<std::size_t, std::size_t>, checked_problem> cache;
  auto& c = cache[{m, n}];
  if (!c.data) {
    c.data = std::make_unique<problem>(m, n, 0.0, 2024);
    c.errors = check_all(*c.data);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Benchmarks
// ---------------------------------------------------------------------------------------------
void report(benchmark::State& state, const problem& p, std::size_t bytes) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(bytes));
  state.counters["m"] = static_cast<double>(p.m);
  state.counters["n"] = static_cast<double>(p.n);
}

void bm_implementation(benchmark::State& state, const implementation* impl, std::size_t m, std::size_t n) {
  auto& c = get_problem(m, n);
  problem& p = *c.data;
  impl->run(p);  // warm-up
  for (auto _ : state) {
    impl->run(p);
    benchmark::ClobberMemory();
  }
  report(state, p, p.compulsory_bytes());
  state.counters["max_err"] = c.errors.at(impl->name);
  if (impl->label != nullptr) state.SetLabel(impl->label);
}

#if CTGRAD_BENCH_HAVE_PLAN
void bm_ctgrad_plan(benchmark::State& state, std::size_t m, std::size_t n, std::size_t threads) {
  auto& c = get_problem(m, n);
  problem& p = *c.data;
  auto plan = ctgrad::compile<float>(bn::all);
  plan.set_threads(threads);  // the plan's own helper threads, not Google Benchmark's
  run_plan(plan, p);  // the first run sizes the plan's buffers
  for (auto _ : state) {
    run_plan(plan, p);
    benchmark::ClobberMemory();
  }
  report(state, p, p.compulsory_bytes());
  state.counters["max_err"] = c.errors.at("ctgrad_plan");
  const auto moved = static_cast<double>(plan.bytes_moved());
  state.counters["plan_bytes"] = moved;
  state.counters["plan_bytes_per_second"] = benchmark::Counter(moved, benchmark::Counter::kIsIterationInvariantRate);
}
#endif

void bm_memcpy(benchmark::State& state, std::size_t m, std::size_t n) {
  problem& p = *get_problem(m, n).data;
  const std::size_t bytes = sizeof(float) * m * n;
  for (auto _ : state) {
    std::memcpy(p.y.data(), p.x.data(), bytes);
    std::memcpy(p.dx.data(), p.dy.data(), bytes);
    benchmark::ClobberMemory();
  }
  report(state, p, p.memcpy_bytes());
}

float sum_x_dy(const float* CTGRAD_BENCH_RESTRICT x, const float* CTGRAD_BENCH_RESTRICT dy, std::size_t count) {
  float lanes[16] = {};
  const std::size_t whole = count - count % 16;
  for (std::size_t i = 0; i < whole; i += 16)
    for (std::size_t j = 0; j < 16; ++j) lanes[j] += x[i + j] + dy[i + j];
  for (std::size_t i = whole; i < count; ++i) lanes[0] += x[i] + dy[i];
  float total = 0;
  for (float l : lanes) total += l;
  return total;
}

/// One read of x and dy and nothing else: the traffic every batch-norm backward must spend before
/// it can write its first dx (dx needs sums over all rows of x and dy). Sixteen float lanes keep
/// the loop bound by memory, not by the additions. With memcpy (which moves what a second pass
/// moves: read x and dy, write y and dx) it estimates the best a two-pass kernel can do:
/// memcpy time / (read time + memcpy time) of memcpy's effective bandwidth (report.py).
void bm_read_x_dy(benchmark::State& state, std::size_t m, std::size_t n) {
  problem& p = *get_problem(m, n).data;
  const std::size_t count = m * n;
  for (auto _ : state) benchmark::DoNotOptimize(sum_x_dy(p.x.data(), p.dy.data(), count));
  report(state, p, sizeof(float) * 2 * m * n);
}

const std::pair<std::size_t, std::size_t> kSizes[] = {{256, 1024}, {1024, 1024}, {4096, 1024}, {16384, 256}};

void register_all() {
  for (const auto& [m, n] : kSizes) {
    const std::string size = std::to_string(m) + "x" + std::to_string(n);
    auto name = [&](const char* impl) { return std::string("batch_norm/") + impl + "/" + size + "/threads:1"; };
    benchmark::RegisterBenchmark(name("memcpy").c_str(), bm_memcpy, m, n)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(name("read_x_dy").c_str(), bm_read_x_dy, m, n)->Unit(benchmark::kMicrosecond);
    for (const auto& impl : implementations()) {
#if CTGRAD_BENCH_HAVE_PLAN
      if (std::string(impl.name) == "ctgrad_plan") {
        benchmark::RegisterBenchmark(name(impl.name).c_str(), bm_ctgrad_plan, m, n, 1)->Unit(benchmark::kMicrosecond);
        // Two threads: wall time is what a parallel run saves (CPU time adds both threads up).
        const std::string two = std::string("batch_norm/") + impl.name + "/" + size + "/threads:2";
        benchmark::RegisterBenchmark(two.c_str(), bm_ctgrad_plan, m, n, 2)->Unit(benchmark::kMicrosecond)->UseRealTime();
        continue;
      }
#endif
      benchmark::RegisterBenchmark(name(impl.name).c_str(), bm_implementation, &impl, m, n)
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  benchmark::AddCustomContext("ctgrad_plan", CTGRAD_BENCH_HAVE_PLAN ? "yes" : "no (include/ctgrad/eval/plan.hpp absent)");
  benchmark::AddCustomContext("compiler", __VERSION__);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
