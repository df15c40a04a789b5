// Contractions (einsum, matmul, transpose, permute, nn::linear): values against an independent
// einsum written here in long double (letters parsed at run time, every index combination
// visited), on odd shapes (1 x n, n x 1, primes), in float and double; derived gradients against
// central finite differences (ctgrad::gradcheck); forward mode against finite differences;
// the shape errors with their messages; a 2-layer MLP gradchecked in double.
//
// Built twice (tests/CMakeLists.txt): test_contraction links ctgrad::blas, so contractions that
// map to GEMM go through the BLAS (and the test checks that they did, plan::gemm_calls), and
// test_contraction_loop does not, so every contraction runs ctgrad's own loop.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <ctgrad.hpp>
#include <ctgrad/check/catch2.hpp>
#include <ctgrad/check/gradcheck.hpp>

namespace {

constexpr auto a2 = ctgrad::input<"a", 2>;
constexpr auto b2 = ctgrad::input<"b", 2>;
constexpr auto a3 = ctgrad::input<"a", 3>;
constexpr auto b3 = ctgrad::input<"b", 3>;
constexpr auto a1 = ctgrad::input<"a", 1>;
constexpr auto b1 = ctgrad::input<"b", 1>;

std::vector<double> random_values(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> d(-1, 1);
  std::vector<double> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

std::size_t count(const std::vector<std::size_t>& e) {
  std::size_t n = 1;
  for (auto x : e) n *= x;
  return n;
}

/// The oracle: NumPy's einsum for explicit subscripts "ab,bc->ac", in long double, by visiting
/// every combination of every letter's index.
std::vector<long double> oracle(std::string_view spec, const std::vector<double>& a, const std::vector<std::size_t>& ea,
                                const std::vector<double>& b, const std::vector<std::size_t>& eb) {
  const auto arrow = spec.find("->");
  const std::string_view lhs = spec.substr(0, arrow), out = spec.substr(arrow + 2);
  const auto comma = lhs.find(',');
  const std::string sa(lhs.substr(0, comma)), sb(comma == std::string_view::npos ? "" : lhs.substr(comma + 1));
  const bool two = comma != std::string_view::npos;
  std::map<char, std::size_t> extent;
  for (std::size_t j = 0; j < sa.size(); ++j) extent[sa[j]] = std::max(extent[sa[j]], ea[j]);
  for (std::size_t j = 0; two && j < sb.size(); ++j) extent[sb[j]] = std::max(extent[sb[j]], eb[j]);
  std::vector<char> letters;
  for (auto& [c, n] : extent) letters.push_back(c);
  std::vector<std::size_t> eo;
  for (char c : out) eo.push_back(extent[c]);
  std::vector<long double> r(count(eo), 0.0L);
  std::map<char, std::size_t> at;
  auto offset = [&](const std::string& s, const std::vector<std::size_t>& e) {
    std::size_t o = 0;
    for (std::size_t j = 0; j < s.size(); ++j) o = o * e[j] + (e[j] == 1 ? 0 : at[s[j]]);  // extent 1 broadcasts
    return o;
  };
  for (;;) {
    long double v = a[offset(sa, ea)];
    if (two) v *= b[offset(sb, eb)];
    r[offset(std::string(out), eo)] += v;
    std::size_t d = letters.size();
    while (d > 0) {
      --d;
      if (++at[letters[d]] < extent[letters[d]]) break;
      at[letters[d]] = 0;
      if (d == 0) return r;
    }
    if (letters.empty()) return r;
  }
}

/// How a contraction must be evaluated when the BLAS is linked: through GEMM calls, or by
/// ctgrad's loop (asserted only when no extent is 1: letters of extent 1 take part in nothing,
/// and a pattern the loop needs may then map to GEMM).
enum class path { gemm, loop };

template <class T, std::size_t RA, std::size_t RB, class E>
void check_binary(E e, std::string_view spec, const std::vector<std::size_t>& ea, const std::vector<std::size_t>& eb,
                  path expected) {
  const auto av = random_values(count(ea), 1), bv = random_values(count(eb), 2);
  const std::vector<T> at(av.begin(), av.end()), bt(bv.begin(), bv.end());
  std::array<std::size_t, RA> xa{};
  std::array<std::size_t, RB> xb{};
  std::copy(ea.begin(), ea.end(), xa.begin());
  std::copy(eb.begin(), eb.end(), xb.begin());
  constexpr auto in_a = ctgrad::input<"a", RA>;
  constexpr auto in_b = ctgrad::input<"b", RB>;
  auto plan = ctgrad::compile<T>(ctgrad::exprs(e));
  const auto [r] = plan(ctgrad::bind(in_a, ctgrad::view<const T, RA>(at.data(), xa)), ctgrad::bind(in_b, ctgrad::view<const T, RB>(bt.data(), xb)));
  const std::vector<double> ar(at.begin(), at.end()), br(bt.begin(), bt.end());  // the values rounded to T
  const auto want = oracle(spec, ar, ea, br, eb);
  REQUIRE(r.size() == want.size());
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
  std::size_t k_sum = 1;  // error bound grows with the contracted length
  for (auto x : ea) k_sum = std::max(k_sum, x);
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO(fmt::format("{} on [{}] x [{}], element {}: got {}, want {}", spec, fmt::join(ea, ","), fmt::join(eb, ","), i,
                     r.values[i], static_cast<double>(want[i])));
    CHECK(std::abs(static_cast<long double>(r.values[i]) - want[i]) <= tol * static_cast<double>(k_sum));
  }
#if defined(CTGRAD_USE_CBLAS)
  const bool no_unit = std::find(ea.begin(), ea.end(), 1) == ea.end() && std::find(eb.begin(), eb.end(), 1) == eb.end();
  if (expected == path::gemm) CHECK(plan.gemm_calls() >= 1);
  else if (no_unit) CHECK(plan.gemm_calls() == 0);
#else
  (void)expected;
  CHECK(plan.gemm_calls() == 0);
#endif
}

template <class T>
void check_all_binary() {
  using S = std::vector<std::size_t>;
  for (const auto& [m, k, n] : std::vector<std::array<std::size_t, 3>>{{1, 1, 1}, {1, 7, 1}, {7, 1, 1}, {1, 1, 7}, {7, 11, 13}, {13, 2, 1}, {1, 5, 11}}) {
    check_binary<T, 2, 2>(ctgrad::einsum<"ik,kj->ij">(a2, b2), "ik,kj->ij", S{m, k}, S{k, n}, path::gemm);
    check_binary<T, 2, 2>(ctgrad::matmul(a2, b2), "ik,kj->ij", S{m, k}, S{k, n}, path::gemm);
    check_binary<T, 2, 2>(ctgrad::einsum<"ki,kj->ij">(a2, b2), "ki,kj->ij", S{k, m}, S{k, n}, path::gemm);
    check_binary<T, 2, 2>(ctgrad::einsum<"ik,jk->ij">(a2, b2), "ik,jk->ij", S{m, k}, S{n, k}, path::gemm);
    check_binary<T, 2, 2>(ctgrad::einsum<"ki,jk->ji">(a2, b2), "ki,jk->ji", S{k, m}, S{n, k}, path::gemm);
    check_binary<T, 2, 2>(ctgrad::matmul(ctgrad::transpose(a2), b2), "ki,kj->ij", S{k, m}, S{k, n}, path::gemm);
    check_binary<T, 3, 3>(ctgrad::einsum<"bik,bkj->bij">(a3, b3), "bik,bkj->bij", S{3, m, k}, S{3, k, n}, path::gemm);
    check_binary<T, 3, 2>(ctgrad::matmul(a3, b2), "bik,kj->bij", S{2, m, k}, S{k, n}, path::gemm);
    check_binary<T, 2, 3>(ctgrad::matmul(a2, b3), "ik,bkj->bij", S{m, k}, S{2, k, n}, path::gemm);
    check_binary<T, 1, 1>(ctgrad::einsum<"i,j->ij">(a1, b1), "i,j->ij", S{m}, S{n}, path::gemm);
    check_binary<T, 2, 1>(ctgrad::matmul(a2, b1), "ik,k->i", S{m, k}, S{k}, path::gemm);
    check_binary<T, 1, 2>(ctgrad::matmul(a1, b2), "k,kj->j", S{k}, S{k, n}, path::gemm);
    check_binary<T, 1, 1>(ctgrad::matmul(a1, b1), "k,k->", S{k}, S{k}, path::gemm);
    // two contracted letters, adjacent in both operands: one GEMM with K = k * 3
    check_binary<T, 3, 3>(ctgrad::einsum<"ikl,klj->ij">(a3, b3), "ikl,klj->ij", S{m, k, 3}, S{k, 3, n}, path::gemm);
    // contracted letters in another order in b: no single matrix dimension, ctgrad's loop
    check_binary<T, 3, 3>(ctgrad::einsum<"ikl,lkj->ij">(a3, b3), "ikl,lkj->ij", S{m, k, 3}, S{3, k, n}, path::loop);
    // a letter summed in one operand only: the loop
    check_binary<T, 2, 2>(ctgrad::einsum<"ik,jl->ij">(a2, b2), "ik,jl->ij", S{m, k}, S{n, 2}, path::loop);
    // a batch letter placed in the middle of a: strided matrices, one GEMM per batch index
    check_binary<T, 3, 3>(ctgrad::einsum<"ibk,bkj->bij">(a3, b3), "ibk,bkj->bij", S{m, 2, k}, S{2, k, n}, path::gemm);
  }
}

}  // namespace

TEST_CASE("contractions agree with an independent einsum on odd shapes, in float and double") {
  check_all_binary<double>();
  check_all_binary<float>();
}

TEST_CASE("single-operand contractions: sums, transposes, copies") {
  const auto av = random_values(5 * 7, 3);
  const auto x = ctgrad::view<const double, 2>(av.data(), {5, 7});
  const auto rowsum = ctgrad::evaluate(ctgrad::einsum<"ij->i">(a2), ctgrad::bind(a2, x));
  const auto total = ctgrad::evaluate(ctgrad::einsum<"ij->">(a2), ctgrad::bind(a2, x));
  const auto t = ctgrad::evaluate(ctgrad::einsum<"ij->ji">(a2), ctgrad::bind(a2, x));
  const auto want_rows = oracle("ij->i", av, {5, 7}, {}, {});
  const auto want_total = oracle("ij->", av, {5, 7}, {}, {});
  for (std::size_t i = 0; i < 5; ++i) CHECK(rowsum.values[i] == Approx(static_cast<double>(want_rows[i])).epsilon(1e-14));
  CHECK(total.values[0] == Approx(static_cast<double>(want_total[0])).epsilon(1e-14));
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t j = 0; j < 7; ++j) CHECK(t(j, i) == av[i * 7 + j]);
  // implicit output (NumPy): the letters occurring once, in alphabetical order
  STATIC_REQUIRE(std::is_same_v<decltype(ctgrad::einsum<"ik,kj">(a2, b2)), decltype(ctgrad::einsum<"ik,kj->ij">(a2, b2))>);
  STATIC_REQUIRE(std::is_same_v<decltype(ctgrad::einsum<"ij->ij">(a2)), std::remove_const_t<decltype(a2)>>);
}

TEST_CASE("permute and transpose: round trips, values, folded into contractions") {
  constexpr auto x = ctgrad::input<"x", 3>;
  STATIC_REQUIRE(std::is_same_v<decltype(ctgrad::permute<2, 0, 1>(ctgrad::permute<1, 2, 0>(x))), std::remove_const_t<decltype(x)>>);
  STATIC_REQUIRE(std::is_same_v<decltype(ctgrad::transpose(ctgrad::transpose(a2))), std::remove_const_t<decltype(a2)>>);
  // a transposed operand costs no copy: its letters are permuted
  STATIC_REQUIRE(std::is_same_v<decltype(ctgrad::matmul(ctgrad::transpose(a2), b2)), decltype(ctgrad::einsum<"ki,kj->ij">(a2, b2))>);
  const auto xv = random_values(2 * 3 * 4, 4);
  const auto r = ctgrad::evaluate(ctgrad::permute<1, 2, 0>(x), ctgrad::bind(x, ctgrad::view<const double, 3>(xv.data(), {2, 3, 4})));
  REQUIRE(r.extents == std::array<std::size_t, 3>{3, 4, 2});
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k) CHECK(r(j, k, i) == xv[(i * 3 + j) * 4 + k]);
  const auto rep = ctgrad::gradcheck(ctgrad::permute<1, 2, 0>(x) * ctgrad::permute<1, 2, 0>(x),
                                     ctgrad::bind(x, ctgrad::view<const double, 3>(xv.data(), {2, 3, 4})));
  CHECK(rep);
}

TEST_CASE("derived gradients of contractions agree with finite differences") {
  const ctgrad::gradcheck_options tol{.abs_tol = 1e-8, .rel_tol = 1e-6};
  const auto av = random_values(4 * 3 * 5, 5), bv = random_values(4 * 5 * 6, 6);
  auto bind2 = [&](auto in, std::size_t r, std::size_t c, const std::vector<double>& v) {
    return ctgrad::bind(in, ctgrad::view<const double, 2>(v.data(), {r, c}));
  };
  auto bind3 = [&](auto in, std::size_t p, std::size_t r, std::size_t c, const std::vector<double>& v) {
    return ctgrad::bind(in, ctgrad::view<const double, 3>(v.data(), {p, r, c}));
  };
  CHECK(ctgrad::gradcheck(ctgrad::matmul(a2, b2), ctgrad::wrt(a2, b2), tol, bind2(a2, 3, 5, av), bind2(b2, 5, 6, bv)));
  CHECK(ctgrad::gradcheck(ctgrad::einsum<"ki,jk->ji">(a2, b2), ctgrad::wrt(a2, b2), tol, bind2(a2, 5, 3, av), bind2(b2, 6, 5, bv)));
  CHECK(ctgrad::gradcheck(ctgrad::einsum<"bik,bkj->bij">(a3, b3), ctgrad::wrt(a3, b3), tol, bind3(a3, 4, 3, 5, av),
                          bind3(b3, 4, 5, 6, bv)));
  CHECK(ctgrad::gradcheck(ctgrad::einsum<"i,j->ij">(a1, b1), ctgrad::wrt(a1, b1), tol,
                          ctgrad::bind(a1, ctgrad::view<const double, 1>(av.data(), {7})),
                          ctgrad::bind(b1, ctgrad::view<const double, 1>(bv.data(), {5}))));
  CHECK(ctgrad::gradcheck(ctgrad::einsum<"ikl,klj->ij">(a3, b3), ctgrad::wrt(a3, b3), tol, bind3(a3, 3, 4, 5, av),
                          bind3(b3, 4, 5, 6, bv)));
  CHECK(ctgrad::gradcheck(ctgrad::einsum<"ik,jl->ij">(a2, b2), ctgrad::wrt(a2, b2), tol, bind2(a2, 3, 5, av), bind2(b2, 4, 6, bv)));
  CHECK(ctgrad::gradcheck(ctgrad::matmul(a3, b2), ctgrad::wrt(a3, b2), tol, bind3(a3, 4, 3, 5, av), bind2(b2, 5, 6, bv)));
  // a batch axis of extent 1 (kept by a sum) broadcasts against the other operand's
  CHECK(ctgrad::gradcheck(ctgrad::matmul(ctgrad::sum<0>(a3), b3), ctgrad::wrt(a3, b3), tol, bind3(a3, 2, 3, 5, av),
                          bind3(b3, 4, 5, 6, bv)));
  // nonlinear around a contraction, and a contraction of a contraction
  CHECK(ctgrad::gradcheck(ctgrad::tanh(ctgrad::matmul(ctgrad::matmul(a2, b2), ctgrad::transpose(b2))), ctgrad::wrt(a2, b2), tol,
                          bind2(a2, 3, 5, av), bind2(b2, 5, 6, bv)));
}

TEST_CASE("forward mode of a contraction agrees with finite differences") {
  constexpr auto ta = ctgrad::input<"ta", 2>;
  constexpr auto tb = ctgrad::input<"tb", 2>;
  const auto y = ctgrad::tanh(ctgrad::matmul(a2, b2));
  const auto [ty] = ctgrad::jvp(ctgrad::outputs(y), ctgrad::tangents(ta, tb), ctgrad::wrt(a2, b2));
  const auto av = random_values(3 * 4, 7), bv = random_values(4 * 5, 8), tav = random_values(3 * 4, 9), tbv = random_values(4 * 5, 10);
  auto at = [&](double h) {
    std::vector<double> ah(av), bh(bv);
    for (std::size_t i = 0; i < ah.size(); ++i) ah[i] += h * tav[i];
    for (std::size_t i = 0; i < bh.size(); ++i) bh[i] += h * tbv[i];
    return ctgrad::evaluate(y, ctgrad::bind(a2, ctgrad::view<const double, 2>(ah.data(), {3, 4})),
                            ctgrad::bind(b2, ctgrad::view<const double, 2>(bh.data(), {4, 5})));
  };
  const double h = 1e-6;
  const auto up = at(h), down = at(-h);
  const auto got = ctgrad::evaluate(ty, ctgrad::bind(a2, ctgrad::view<const double, 2>(av.data(), {3, 4})),
                                    ctgrad::bind(b2, ctgrad::view<const double, 2>(bv.data(), {4, 5})),
                                    ctgrad::bind(ta, ctgrad::view<const double, 2>(tav.data(), {3, 4})),
                                    ctgrad::bind(tb, ctgrad::view<const double, 2>(tbv.data(), {4, 5})));
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got.values[i] == Approx((up.values[i] - down.values[i]) / (2 * h)).margin(1e-8));
}

TEST_CASE("contraction extents that do not match throw a shape_error naming both inputs and axes") {
  const std::vector<double> av(3 * 4, 1.0), bv(5 * 6, 1.0);
  const std::vector<double> out_before(3 * 6, 42.0);
  std::vector<double> out = out_before;
  auto plan = ctgrad::compile<double>(ctgrad::exprs(ctgrad::matmul(a2, b2)));
  try {
    plan.run(std::tuple{ctgrad::view<double, 2>(out.data(), {3, 6})}, ctgrad::bind(a2, ctgrad::view<const double, 2>(av.data(), {3, 4})),
             ctgrad::bind(b2, ctgrad::view<const double, 2>(bv.data(), {5, 6})));
    FAIL("no shape_error");
  } catch (const ctgrad::shape_error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find("einsum<ik,kj->ij>(a, b)") != std::string::npos);
    CHECK(what.find("input 'a' axis 1 has extent 4") != std::string::npos);
    CHECK(what.find("input 'b' axis 0 has extent 5") != std::string::npos);
  }
  CHECK(out == out_before);  // nothing written
}

TEST_CASE("a 2-layer MLP (linear, batch norm, ReLU, linear, softmax cross-entropy) gradchecked in double") {
  constexpr auto x = ctgrad::input<"x", 2>;
  constexpr auto W1 = ctgrad::input<"W1", 2>;
  constexpr auto b1v = ctgrad::input<"b1", 1>;
  constexpr auto gamma = ctgrad::input<"gamma", 1>;
  constexpr auto beta = ctgrad::input<"beta", 1>;
  constexpr auto W2 = ctgrad::input<"W2", 2>;
  constexpr auto b2v = ctgrad::input<"b2", 1>;
  constexpr auto targets = ctgrad::input<"targets", 2>;
  constexpr auto eps = ctgrad::constant<1, 100000>;
  const auto h = ctgrad::relu(ctgrad::nn::batch_norm_train<0>(ctgrad::nn::linear(x, W1, b1v), gamma, beta, eps));
  const auto loss = ctgrad::nn::softmax_cross_entropy(ctgrad::nn::linear(h, W2, b2v), targets);
  constexpr std::size_t m = 6, k = 5, hid = 4, classes = 3;
  const auto xv = random_values(m * k, 11), w1v = random_values(k * hid, 12), bb1 = random_values(hid, 13),
             gv = random_values(hid, 14), btv = random_values(hid, 15), w2v = random_values(hid * classes, 16),
             bb2 = random_values(classes, 17);
  std::vector<double> tv(m * classes, 0.0);
  for (std::size_t i = 0; i < m; ++i) tv[i * classes + i % classes] = 1.0;
  const auto report = ctgrad::gradcheck(
      loss, ctgrad::wrt(x, W1, b1v, gamma, beta, W2, b2v), {.abs_tol = 1e-7, .rel_tol = 1e-5},
      ctgrad::bind(x, ctgrad::view<const double, 2>(xv.data(), {m, k})),
      ctgrad::bind(W1, ctgrad::view<const double, 2>(w1v.data(), {k, hid})),
      ctgrad::bind(b1v, ctgrad::view<const double, 1>(bb1.data(), {hid})),
      ctgrad::bind(gamma, ctgrad::view<const double, 1>(gv.data(), {hid})),
      ctgrad::bind(beta, ctgrad::view<const double, 1>(btv.data(), {hid})),
      ctgrad::bind(W2, ctgrad::view<const double, 2>(w2v.data(), {hid, classes})),
      ctgrad::bind(b2v, ctgrad::view<const double, 1>(bb2.data(), {classes})),
      ctgrad::bind(targets, ctgrad::view<const double, 2>(tv.data(), {m, classes})));
  INFO(fmt::format("{}", report));
  CHECK(report);
}

TEST_CASE("reshape: values, inferred extents, round trips, gradients and count errors") {
  constexpr auto x = ctgrad::input<"x", 3>;
  const auto xv = random_values(2 * 6 * 5, 21);
  const auto bx = ctgrad::bind(x, ctgrad::view<const double, 3>(xv.data(), {2, 6, 5}));
  const auto flat = ctgrad::evaluate(ctgrad::reshape<0, -1>(x), bx);
  REQUIRE(flat.extents == std::array<std::size_t, 2>{2, 30});
  CHECK(flat.values == xv);  // row-major order is kept
  const auto grouped = ctgrad::evaluate(ctgrad::reshape<0, 3, -1>(x), bx);
  REQUIRE(grouped.extents == std::array<std::size_t, 3>{2, 3, 10});
  CHECK(grouped.values == xv);
  // of a computed operand: a reduction's values
  const auto sums = ctgrad::evaluate(ctgrad::reshape<-1>(ctgrad::sum<2>(x)), bx);
  REQUIRE(sums.extents == std::array<std::size_t, 1>{12});
  for (std::size_t r = 0; r < 12; ++r) {
    double s = 0;
    for (std::size_t c = 0; c < 5; ++c) s += xv[r * 5 + c];
    CHECK(sums.values[r] == Approx(s).epsilon(1e-14));
  }
  // round trips are the operand itself
  STATIC_REQUIRE(std::is_same_v<decltype(ctgrad::reshape_like(ctgrad::reshape<0, -1>(x), x)), std::remove_const_t<decltype(x)>>);
  STATIC_REQUIRE(std::is_same_v<decltype(ctgrad::reshape<0, 0, 0>(x)), std::remove_const_t<decltype(x)>>);
  // gradients through a reshape, here GroupNorm-style statistics over groups of channels
  const auto grouped_x = ctgrad::reshape<0, 3, -1>(x);
  const auto centered = ctgrad::reshape_like(grouped_x - ctgrad::mean<2>(grouped_x), x);
  CHECK(ctgrad::gradcheck(ctgrad::tanh(centered) * x, ctgrad::wrt(x), {.abs_tol = 1e-8, .rel_tol = 1e-6}, bx));
  // element counts that do not fit: a shape_error naming x and both shapes, nothing written
  std::vector<double> out(2 * 4 * 8, 7.0);
  auto plan = ctgrad::compile<double>(ctgrad::exprs(ctgrad::reshape<0, 4, -1>(x)));
  try {
    plan.run(std::tuple{ctgrad::view<double, 3>(out.data(), {2, 4, 8})}, bx);
    FAIL("no shape_error");
  } catch (const ctgrad::shape_error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find("reshape<0,4,-1>(x)") != std::string::npos);
    CHECK(what.find("extents [2, 6, 5] (60 elements) to extents [2, 4] and one inferred") != std::string::npos);
  }
  CHECK(std::all_of(out.begin(), out.end(), [](double v) { return v == 7.0; }));
  auto fixed = ctgrad::compile<double>(ctgrad::exprs(ctgrad::reshape<7, -1>(x)));
  CHECK_THROWS_WITH(fixed(bx), Catch::Contains("not a multiple"));
  auto exact = ctgrad::compile<double>(ctgrad::exprs(ctgrad::reshape<6, 11>(x)));
  CHECK_THROWS_WITH(exact(bx), Catch::Contains("the element counts differ"));
}
