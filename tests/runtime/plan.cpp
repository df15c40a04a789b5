// Compiled evaluation plans: how many times batch norm's forward + backward reads its inputs,
// no allocation when a plan is reused, results against the plain-loop closed form, outputs
// that alias inputs rejected, loops merged only over provably equal domains.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include <ctgrad.hpp>

#include "support/batch_norm_inputs.hpp"
#include "support/batch_norm_reference.hpp"

// Every allocation of this test program is counted (the replaceable global operators new;
// every unaligned form is replaced, so that each delete matches its new, as AddressSanitizer
// checks).
namespace {
std::atomic<std::size_t> allocations{0};
void* counted_alloc(std::size_t n) noexcept {
  ++allocations;
  return std::malloc(n == 0 ? 1 : n);
}
// Not inlined: GCC would otherwise see std::free applied to what `operator new` returned and
// warn (-Wmismatched-new-delete), although here both are malloc and free.
[[gnu::noinline]] void counted_free(void* p) noexcept { std::free(p); }
}  // namespace
void* operator new(std::size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }

namespace {

using namespace ctgrad_test::bn_inputs;

constexpr auto y = ctgrad::nn::batch_norm_train(x, gamma_, beta_, eps);
constexpr auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_, beta_));
using bn_plan = decltype(ctgrad::compile<float>(ctgrad::exprs(y, grads)));

// Issue 6, point 3 (at most 4 passes over x, 2 over dy). The plan needs 2 of each: the sums
// of d = x - first row, d^2, dy and dy * d in one pass, then y and dx.
static_assert(bn_plan::passes_over("x") <= 4, "batch norm forward + backward reads x more than 4 times");
static_assert(bn_plan::passes_over("dy") <= 2, "batch norm forward + backward reads dy more than twice");

template <class T>
struct bn_data {
  std::size_t m, n;
  std::vector<T> xs, dys, gs, bs, ys, dxs, dgs, dbs;
  bn_data(std::size_t m_, std::size_t n_, unsigned seed) : m(m_), n(n_), xs(m * n), dys(m * n), gs(n), bs(n),
                                                          ys(m * n), dxs(m * n), dgs(n), dbs(n) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> d;
    for (auto& v : xs) v = static_cast<T>(2.0 * d(rng) + 3.0);
    for (auto& v : dys) v = static_cast<T>(d(rng));
    for (auto& v : gs) v = static_cast<T>(d(rng));
    for (auto& v : bs) v = static_cast<T>(d(rng));
  }
  auto outputs() {
    return std::tuple{ctgrad::view<T, 2>(ys.data(), {m, n}), ctgrad::view<T, 2>(dxs.data(), {m, n}),
                      ctgrad::view<T, 1>(dgs.data(), {n}), ctgrad::view<T, 1>(dbs.data(), {n})};
  }
  template <class Plan>
  void run(Plan& p) {
    p.run(outputs(), ctgrad::bind(x, ctgrad::view<const T, 2>(xs.data(), {m, n})),
          ctgrad::bind(dy, ctgrad::view<const T, 2>(dys.data(), {m, n})),
          ctgrad::bind(gamma_, ctgrad::view<const T, 1>(gs.data(), {n})),
          ctgrad::bind(beta_, ctgrad::view<const T, 1>(bs.data(), {n})), ctgrad::bind(eps, T(1e-5)));
  }
};

template <class T>
double max_error(const bn_data<T>& d) {
  const auto ref = ctgrad_test::batch_norm_reference(d.xs, d.gs, d.bs, d.dys, d.m, d.n, 1e-5);
  double e = 0;
  for (std::size_t i = 0; i < d.m * d.n; ++i) {
    e = std::max(e, std::abs(d.ys[i] - ref.y[i]));
    e = std::max(e, std::abs(d.dxs[i] - ref.dx[i]) / ref.dx_scale[i]);
  }
  for (std::size_t k = 0; k < d.n; ++k)
    e = std::max({e, std::abs(d.dgs[k] - ref.dgamma[k]) / (1 + std::abs(ref.dgamma[k])),
                  std::abs(d.dbs[k] - ref.dbeta[k]) / (1 + std::abs(ref.dbeta[k]))});
  return e;
}

}  // namespace

TEST_CASE("batch norm's plan reads x and dy twice each, in two passes", "[plan]") {
  CHECK(bn_plan::passes_over("x") == 2);
  CHECK(bn_plan::passes_over("dy") == 2);
  CHECK(bn_plan::passes_over("gamma") >= 1);
  CHECK(bn_plan::pass_count() == 2);
}

TEST_CASE("a plan's results equal the closed form, float and double, several shapes", "[plan]") {
  for (auto [m, n] : {std::pair<std::size_t, std::size_t>{2, 1}, {3, 7}, {64, 33}, {257, 64}}) {
    bn_data<double> d(m, n, 7);
    auto p = ctgrad::compile<double>(ctgrad::exprs(y, grads));
    d.run(p);
    INFO("m = " << m << ", n = " << n);
    CHECK(max_error(d) <= 1e-12);
    bn_data<float> f(m, n, 7);
    auto pf = ctgrad::compile<float>(ctgrad::exprs(y, grads));
    f.run(pf);
    CHECK(max_error(f) <= 2e-5);
  }
}

TEST_CASE("a plan reused across calls allocates nothing after the first call", "[plan][allocation]") {
  bn_data<float> d(256, 64, 3);
  auto p = ctgrad::compile<float>(ctgrad::exprs(y, grads));
  d.run(p);
  const double first = max_error(d);
  const std::size_t before = allocations.load();
  d.run(p);
  d.run(p);
  const std::size_t after = allocations.load();
  CHECK(after - before == 0);
  CHECK(max_error(d) == first);

  // The counter does count: evaluate() allocates its result tensors and buffers.
  const std::size_t b2 = allocations.load();
  auto p2 = ctgrad::compile<float>(ctgrad::exprs(y, grads));
  d.run(p2);
  CHECK(allocations.load() > b2);
}

TEST_CASE("an output that overlaps an input is rejected before anything is written", "[plan]") {
  bn_data<double> d(8, 4, 5);
  auto p = ctgrad::compile<double>(ctgrad::exprs(y, grads));
  const std::vector<double> x_before = d.xs;
  std::fill(d.dgs.begin(), d.dgs.end(), -7.0);
  auto bad = std::tuple{ctgrad::view<double, 2>(d.xs.data(), {8, 4}), ctgrad::view<double, 2>(d.dxs.data(), {8, 4}),
                        ctgrad::view<double, 1>(d.dgs.data(), {4}), ctgrad::view<double, 1>(d.dbs.data(), {4})};
  const auto call = [&] {
    p.run(bad, ctgrad::bind(x, ctgrad::view<const double, 2>(d.xs.data(), {8, 4})),
          ctgrad::bind(dy, ctgrad::view<const double, 2>(d.dys.data(), {8, 4})),
          ctgrad::bind(gamma_, ctgrad::view<const double, 1>(d.gs.data(), {4})),
          ctgrad::bind(beta_, ctgrad::view<const double, 1>(d.bs.data(), {4})), ctgrad::bind(eps, 1e-5));
  };
  CHECK_THROWS_AS(call(), std::invalid_argument);
  CHECK_THROWS_WITH(call(), Catch::Contains("output 0 overlaps the memory of input 'x'"));
  CHECK(d.xs == x_before);
  CHECK(std::all_of(d.dgs.begin(), d.dgs.end(), [](double v) { return v == -7.0; }));
}

TEST_CASE("expressions over unrelated inputs of one rank are not fused into one loop", "[plan]") {
  // Same static shape, different extents: the loops must stay apart.
  constexpr auto a = ctgrad::input<"a", 2>;
  constexpr auto b = ctgrad::input<"b", 2>;
  std::vector<double> av{1, 2, 3, 4, 5, 6}, bv{1, 2, 3, 4, 5, 6, 7, 8};
  const auto [ea, eb, sa, sb] = ctgrad::evaluate(
      ctgrad::exprs(ctgrad::exp(a), ctgrad::square(b), ctgrad::sum<0>(a), ctgrad::sum<1>(b)),
      ctgrad::bind(a, ctgrad::view<const double, 2>(av.data(), {2, 3})),
      ctgrad::bind(b, ctgrad::view<const double, 2>(bv.data(), {4, 2})));
  REQUIRE(ea.extents == std::array<std::size_t, 2>{2, 3});
  REQUIRE(eb.extents == std::array<std::size_t, 2>{4, 2});
  for (std::size_t i = 0; i < 6; ++i) CHECK(ea.values[i] == std::exp(av[i]));
  for (std::size_t i = 0; i < 8; ++i) CHECK(eb.values[i] == bv[i] * bv[i]);
  CHECK(sa.values == std::vector<double>{5, 7, 9});
  CHECK(sb.values == std::vector<double>{3, 7, 11, 15});
}

TEST_CASE("a plan on two threads gives the same bits as on one", "[plan][threads]") {
  // 512 x 256 = 2^17 elements: above the size from which loops are split (by rows for y and dx,
  // by feature columns for the sums).
  bn_data<float> one(512, 256, 11), two(512, 256, 11);
  auto p1 = ctgrad::compile<float>(ctgrad::exprs(y, grads));
  auto p2 = ctgrad::compile<float>(ctgrad::exprs(y, grads));
  p2.set_threads(2);
  REQUIRE(p2.threads() == 2);
  one.run(p1);
  two.run(p2);
  two.run(p2);  // the helper thread is reused
  CHECK(one.ys == two.ys);
  CHECK(one.dxs == two.dxs);
  CHECK(one.dgs == two.dgs);
  CHECK(one.dbs == two.dbs);
  CHECK(max_error(two) <= 2e-5);
}
