// Stable softmax, log_softmax, logsumexp and softmax cross-entropy: finite where the naive
// formulas overflow, in float and double, and equal to closed forms computed here by plain
// loops in long double; the derived gradient of the loss against (softmax - targets) / m.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <ctgrad.hpp>
#include <ctgrad/check/catch2.hpp>
#include <ctgrad/check/gradcheck.hpp>

#include "support/numeric.hpp"

namespace {

constexpr auto z = ctgrad::input<"z", 2>;
constexpr auto t = ctgrad::input<"t", 2>;

/// The closed forms, row by row in long double with the max shift written out.
struct reference {
  std::vector<long double> softmax, log_softmax, lse, dlogits;
  long double loss = 0;
};
reference closed_form(const std::vector<double>& zs, const std::vector<double>& ts, std::size_t m, std::size_t k) {
  reference r;
  r.softmax.resize(m * k);
  r.log_softmax.resize(m * k);
  r.dlogits.resize(m * k);
  r.lse.resize(m);
  for (std::size_t i = 0; i < m; ++i) {
    long double hi = zs[i * k];
    for (std::size_t j = 1; j < k; ++j) hi = std::max(hi, static_cast<long double>(zs[i * k + j]));
    long double s = 0;
    for (std::size_t j = 0; j < k; ++j) s += std::exp(static_cast<long double>(zs[i * k + j]) - hi);
    r.lse[i] = hi + std::log(s);
    for (std::size_t j = 0; j < k; ++j) {
      r.log_softmax[i * k + j] = zs[i * k + j] - r.lse[i];
      r.softmax[i * k + j] = std::exp(r.log_softmax[i * k + j]);
      r.loss -= ts[i * k + j] * r.log_softmax[i * k + j] / static_cast<long double>(m);
      r.dlogits[i * k + j] = (r.softmax[i * k + j] - ts[i * k + j]) / static_cast<long double>(m);
    }
  }
  return r;
}

template <class T, class V, class R>
void check_close(const V& got, const R& want, double tol, const char* what) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO(fmt::format("{}[{}]: got {}, want {}", what, i, double(got[i]), double(want[i])));
    CHECK(std::isfinite(double(got[i])));
    CHECK(std::abs(double(got[i]) - double(want[i])) <= tol * std::max(1.0, std::abs(double(want[i]))));
  }
}

template <class T>
void check_rows(const std::vector<double>& zd, const std::vector<double>& td, std::size_t m, std::size_t k, double tol) {
  const std::vector<T> zs(zd.begin(), zd.end()), ts(td.begin(), td.end());
  // the reference sees the data as ctgrad does: rounded to T
  const reference ref = closed_form(std::vector<double>(zs.begin(), zs.end()), std::vector<double>(ts.begin(), ts.end()), m, k);
  const auto bz = ctgrad::bind(z, ctgrad::view<const T, 2>(zs.data(), {m, k}));
  const auto bt = ctgrad::bind(t, ctgrad::view<const T, 2>(ts.data(), {m, k}));
  const auto loss = ctgrad::nn::softmax_cross_entropy(z, t);
  const auto [dz] = ctgrad::grad(loss, ctgrad::wrt(z));
  static_assert(ctgrad::rank_of<decltype(loss)> == 0, "the loss is a rank-0 expression");
  const auto [lv, dzv, sm, lsm, lse] = ctgrad::evaluate(
      ctgrad::exprs(loss, dz, ctgrad::softmax<1>(z), ctgrad::log_softmax<1>(z), ctgrad::logsumexp<1>(z)), bz, bt);
  check_close<T>(lv.values, std::vector<long double>{ref.loss}, tol, "loss");
  check_close<T>(dzv.values, ref.dlogits, tol, "dlogits");
  check_close<T>(sm.values, ref.softmax, tol, "softmax");
  check_close<T>(lsm.values, ref.log_softmax, tol, "log_softmax");
  check_close<T>(lse.values, ref.lse, tol, "logsumexp");
}

}  // namespace

TEST_CASE("softmax cross-entropy is finite and exact on rows that overflow naive formulas", "[softmax]") {
  // [0, 800, 1]: exp(800) overflows float and double; [-1000, 0, 1000]: exp(+-1000) both ways
  const std::vector<double> zs{0, 800, 1, -1000, 0, 1000, 3, 3, 3};
  const std::vector<double> ts{0, 0, 1, 1, 0, 0, 0.25, 0.5, 0.25};
  SECTION("double") { check_rows<double>(zs, ts, 3, 3, 1e-14); }
  SECTION("float") { check_rows<float>(zs, ts, 3, 3, 1e-6); }
}

TEST_CASE("softmax cross-entropy on ordinary logits matches the closed form and finite differences", "[softmax]") {
  constexpr std::size_t m = 7, k = 5;
  const auto zs = ctgrad_test::random_vector(m * k, 41, -4, 4);
  std::vector<double> ts(m * k, 0.0);
  for (std::size_t i = 0; i < m; ++i) ts[i * k + (i * 3) % k] = 1;  // one-hot labels
  SECTION("double") { check_rows<double>(zs, ts, m, k, 1e-14); }
  SECTION("float") { check_rows<float>(zs, ts, m, k, 1e-6); }
  const auto r = ctgrad::gradcheck(ctgrad::nn::softmax_cross_entropy(z, t), ctgrad::wrt(z), {.abs_tol = 1e-9, .rel_tol = 1e-6},
                                   ctgrad::bind(z, ctgrad::view<const double, 2>(zs.data(), {m, k})),
                                   ctgrad::bind(t, ctgrad::view<const double, 2>(ts.data(), {m, k})));
  CHECK_THAT(r, ctgrad::matchers::passes_gradcheck());
}

TEST_CASE("the gradient of logsumexp is softmax, derived", "[softmax]") {
  constexpr auto g = ctgrad::input<"g", 2>;
  const auto [d] = ctgrad::vjp(ctgrad::outputs(ctgrad::logsumexp<1>(z)), ctgrad::seeds(g), ctgrad::wrt(z));
  const std::vector<double> zs{1, 2, 3, 700, -700, 0};
  const std::vector<double> ones{1, 1};
  const auto dv = ctgrad::evaluate(d, ctgrad::bind(z, ctgrad::view<const double, 2>(zs.data(), {2, 3})),
                                   ctgrad::bind(g, ctgrad::view<const double, 2>(ones.data(), {2, 1})));
  const reference ref = closed_form(zs, std::vector<double>(6, 0.0), 2, 3);
  check_close<double>(dv.values, ref.softmax, 1e-15, "dlogsumexp");
}
