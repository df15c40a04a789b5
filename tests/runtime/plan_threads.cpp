// A plan under faults and threads (issue 18, point 2): an exception thrown by an op on the
// helper thread or on the caller's reaches the caller only after every helper has stopped, and
// the plan runs correctly afterwards; one plan used from two threads at once, or set_threads
// called during a run, is reported with ctgrad::concurrent_use_error and disturbs nothing.
// CI also runs this file under ThreadSanitizer (.ci/run: build-tsan). No timing is measured:
// threads meet through atomic flags; the only waits are bounded so that a broken
// implementation fails instead of hanging.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <ctgrad.hpp>

namespace {

/// What the probe op's elements tell it to do: -1 throws, -2 waits for `release`.
struct probe_state {
  std::atomic<int> blocked{0};          // threads that reached a -2 element
  std::atomic<bool> release{false};     // lets them go on
  std::atomic<bool> passed_block{false};  // a thread went past a -2 element
  void reset() {
    blocked = 0;
    release = false;
    passed_block = false;
  }
};
probe_state probe;

/// Waits until `done()` or about `seconds` have passed; true when done() held.
template <class F>
bool wait_until(F done, double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::yield();
  }
  return true;
}

/// probe(x) = 2 x, except that -1 throws and -2 blocks until probe.release (at most 1 s).
struct probe_op : ctgrad::elementwise_base {
  template <class...>
  static std::string symbol() { return "probe"; }
  static constexpr int cost = 1;
  template <class T>
  static T apply(T a) {
    if (a == T(-1)) throw std::runtime_error("probe: element -1 met");
    if (a == T(-2)) {
      ++probe.blocked;
      wait_until([] { return probe.release.load(); }, 1.0);
      probe.passed_block = true;
    }
    return T(2) * a;
  }
};
template <ctgrad::Expression A>
constexpr auto probe_of(A a) {
  return ctgrad::make_node<probe_op>(a);
}

constexpr auto x = ctgrad::input<"x", 2>;
constexpr auto y = probe_of(x);

// 512 x 128 = 2^16 elements: above the size from which a loop is split between threads (by
// rows: rows 0..255 on the caller's thread, 256..511 on the helper).
constexpr std::size_t m = 512, n = 128;

std::vector<double> data_with(std::size_t at, double v, std::size_t at2 = m * n, double v2 = 0) {
  std::vector<double> xs(m * n);
  for (std::size_t i = 0; i < m * n; ++i) xs[i] = 0.25 + static_cast<double>(i % 97);
  if (at < m * n) xs[at] = v;
  if (at2 < m * n) xs[at2] = v2;
  return xs;
}

template <class Plan>
void run(Plan& p, const std::vector<double>& xs, std::vector<double>& out) {
  p.run(std::tuple{ctgrad::view<double, 2>(out.data(), {m, n})}, ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n})));
}

bool doubled(const std::vector<double>& xs, const std::vector<double>& out) {
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (out[i] != 2 * xs[i]) return false;
  return true;
}

}  // namespace

TEST_CASE("an exception on the helper thread reaches the caller; the plan runs correctly afterwards", "[plan][threads][faults]") {
  probe.reset();
  auto p = ctgrad::compile<double>(ctgrad::exprs(y));
  p.set_threads(2);
  std::vector<double> out(m * n, -7.0);
  const auto bad = data_with(m * n - 1, -1.0);  // the last row: the helper's part
  CHECK_THROWS_WITH(run(p, bad, out), "probe: element -1 met");
  // Again (the helper is reusable after it threw), then on good data: every element written.
  CHECK_THROWS_WITH(run(p, bad, out), "probe: element -1 met");
  const auto good = data_with(m * n, 0.0);
  std::vector<double> fresh(m * n, -7.0);
  run(p, good, fresh);
  CHECK(doubled(good, fresh));
  CHECK(p.threads() == 2);
}

TEST_CASE("an exception on the caller's thread returns only after the helper has stopped", "[plan][threads][faults]") {
  probe.reset();
  auto p = ctgrad::compile<double>(ctgrad::exprs(y));
  p.set_threads(2);
  std::vector<double> out(m * n, -7.0);
  // Element 0 (the caller's part) throws at once; the last element (the helper's part) blocks
  // until released, at most 1 s. The exception must not reach us while the helper still runs.
  const auto bad = data_with(0, -1.0, m * n - 1, -2.0);
  CHECK_THROWS_WITH(run(p, bad, out), "probe: element -1 met");
  CHECK(probe.passed_block.load());  // the helper had finished its part when run() threw
  probe.release = true;
  const auto good = data_with(m * n, 0.0);
  std::vector<double> fresh(m * n, -7.0);
  run(p, good, fresh);
  CHECK(doubled(good, fresh));
}

TEST_CASE("an exception on one thread only: the other thread's part is complete", "[plan][threads][faults]") {
  probe.reset();
  probe.release = true;
  auto p = ctgrad::compile<double>(ctgrad::exprs(y));
  p.set_threads(2);
  std::vector<double> out(m * n, -7.0);
  const auto bad = data_with(m * n - 1, -1.0);
  CHECK_THROWS(run(p, bad, out));
  // The caller's rows (the first half) were all written before run() rethrew the helper's error.
  bool first_half = true;
  for (std::size_t i = 0; i < m * n / 2; ++i) first_half = first_half && out[i] == 2 * bad[i];
  CHECK(first_half);
}

TEST_CASE("one plan used from two threads at once: the second call throws, the first completes", "[plan][threads]") {
  probe.reset();
  auto p = ctgrad::compile<double>(ctgrad::exprs(y));
  const auto blocking = data_with(5, -2.0);
  std::vector<double> out_a(m * n, -7.0);
  std::thread a([&] { run(p, blocking, out_a); });
  // Thread a is inside its run, blocked at element 5.
  REQUIRE(wait_until([] { return probe.blocked.load() == 1; }, 10.0));
  const auto other = data_with(m * n, 0.0);
  std::vector<double> out_b(m * n, -7.0);
  CHECK_THROWS_AS(run(p, other, out_b), ctgrad::concurrent_use_error);
  CHECK_THROWS_WITH(run(p, other, out_b), Catch::Contains("being run by another thread"));
  CHECK_THROWS_WITH(p(ctgrad::bind(x, ctgrad::view<const double, 2>(other.data(), {m, n}))),
                    Catch::Contains("operator()"));
  // set_threads during the run: refused, so the run keeps the thread team it started with.
  CHECK_THROWS_AS(p.set_threads(2), ctgrad::concurrent_use_error);
  CHECK(out_b == std::vector<double>(m * n, -7.0));  // the refused call wrote nothing
  probe.release = true;
  a.join();
  CHECK(doubled(blocking, out_a));
  CHECK(p.threads() == 1);
  // Free again: runs and set_threads work.
  p.set_threads(2);
  run(p, other, out_b);
  CHECK(doubled(other, out_b));
}

TEST_CASE("batch norm on two threads, run repeatedly, gives the bits of one thread", "[plan][threads]") {
  // The fused kernel's split (rows for y and dx, feature columns for the sums), under TSan too.
  constexpr auto xb = ctgrad::input<"x", 2>;
  constexpr auto gamma = ctgrad::input<"gamma", 1>;
  constexpr auto beta = ctgrad::input<"beta", 1>;
  constexpr auto eps = ctgrad::input<"eps", 0>;
  constexpr auto dy = ctgrad::input<"dy", 2>;
  constexpr auto yb = ctgrad::nn::batch_norm_train(xb, gamma, beta, eps);
  constexpr auto grads = ctgrad::vjp(ctgrad::outputs(yb), ctgrad::seeds(dy), ctgrad::wrt(xb, gamma, beta));
  const std::size_t bm = 256, bn = 256;
  std::vector<float> xs(bm * bn), ds(bm * bn), gs(bn, 1.5f), bs(bn, 0.25f);
  for (std::size_t i = 0; i < bm * bn; ++i) {
    xs[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)) * 3.0 + 1.0);
    ds[i] = static_cast<float>(std::cos(0.11 * static_cast<double>(i)));
  }
  auto once = [&](auto& plan) {
    std::vector<float> yv(bm * bn), dxv(bm * bn), dgv(bn), dbv(bn);
    plan.run(std::tuple{ctgrad::view<float, 2>(yv.data(), {bm, bn}), ctgrad::view<float, 2>(dxv.data(), {bm, bn}),
                        ctgrad::view<float, 1>(dgv.data(), {bn}), ctgrad::view<float, 1>(dbv.data(), {bn})},
             ctgrad::bind(xb, ctgrad::view<const float, 2>(xs.data(), {bm, bn})),
             ctgrad::bind(dy, ctgrad::view<const float, 2>(ds.data(), {bm, bn})),
             ctgrad::bind(gamma, ctgrad::view<const float, 1>(gs.data(), {bn})),
             ctgrad::bind(beta, ctgrad::view<const float, 1>(bs.data(), {bn})), ctgrad::bind(eps, 1e-5f));
    return std::vector<std::vector<float>>{yv, dxv, dgv, dbv};
  };
  auto p1 = ctgrad::compile<float>(ctgrad::exprs(yb, grads));
  auto p2 = ctgrad::compile<float>(ctgrad::exprs(yb, grads));
  p2.set_threads(2);
  const auto want = once(p1);
  for (int k = 0; k < 3; ++k) CHECK(once(p2) == want);
}
