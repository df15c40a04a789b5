// Bindings from contiguous ranges (issue 18, point 5): bind(x, data, {m, n}) from std::vector,
// std::span, std::array and C arrays, the rank taken from the input; a range of the wrong size
// is a shape_error naming the input and extents, thrown before anything is written; the view
// form still works. wrt of an input the outputs do not use: zeros by default; with
// unused_wrt::error it does not compile (tests/compile_fail/wrt_unused_error.cpp), and with it
// a wrt list of used inputs gives the same gradients. References are plain loops.
#include <catch2/catch.hpp>

#include <array>
#include <span>
#include <vector>

#include <ctgrad.hpp>

namespace {

constexpr auto x = ctgrad::input<"x", 2>;
constexpr auto b = ctgrad::input<"b", 1>;
constexpr auto s = ctgrad::input<"s", 0>;
constexpr auto y = x * b + s;  // m x n

std::vector<double> plain(const std::vector<double>& xs, const double* bs, double sv, std::size_t m, std::size_t n) {
  std::vector<double> out(m * n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) out[i * n + j] = xs[i * n + j] * bs[j] + sv;
  return out;
}

}  // namespace

TEST_CASE("bind(input, range, extents) from vector, span, std::array and C arrays", "[bind]") {
  const std::size_t m = 2, n = 3;
  std::vector<double> xs{1, 2, 3, 4, 5, 6};
  const std::vector<double> cxs = xs;
  double bc[3] = {0.5, -1, 2};
  const std::array<double, 3> ba{0.5, -1, 2};
  const std::vector<double> want = plain(xs, bc, 0.25, m, n);
  const std::array<double, 1> sv{0.25};

  CHECK(ctgrad::evaluate(y, ctgrad::bind(x, xs, {m, n}), ctgrad::bind(b, bc, {n}), ctgrad::bind(s, 0.25)).values == want);
  CHECK(ctgrad::evaluate(y, ctgrad::bind(x, cxs, {m, n}), ctgrad::bind(b, ba, {n}), ctgrad::bind(s, sv, {})).values == want);
  CHECK(ctgrad::evaluate(y, ctgrad::bind(x, std::span<const double>(xs), {m, n}), ctgrad::bind(b, std::span(bc), {n}),
                         ctgrad::bind(s, 0.25))
            .values == want);
  // The same memory read as 3 x 2: the extents, not the range, give the shape.
  const auto t = ctgrad::evaluate(x, ctgrad::bind(x, xs, {3, 2}));
  CHECK(t.extents == std::array<std::size_t, 2>{3, 2});
  CHECK(t.values == xs);
  // The view form is unchanged.
  CHECK(ctgrad::evaluate(y, ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n})),
                         ctgrad::bind(b, ctgrad::view<const double, 1>(bc, {n})), ctgrad::bind(s, 0.25))
            .values == want);
  // float ranges make float bindings.
  const std::vector<float> xf{1, 2, 3, 4, 5, 6}, bf{0.5f, -1, 2};
  const auto yf = ctgrad::evaluate(y, ctgrad::bind(x, xf, {m, n}), ctgrad::bind(b, bf, {n}), ctgrad::bind(s, 0.25f));
  static_assert(std::is_same_v<decltype(yf.values)::value_type, float>);
  for (std::size_t i = 0; i < m * n; ++i) CHECK(yf.values[i] == static_cast<float>(want[i]));
}

TEST_CASE("a range whose size differs from its extents is a shape_error naming the input; nothing written", "[bind]") {
  const std::vector<double> five{1, 2, 3, 4, 5}, bs{1, 1, 1};
  CHECK_THROWS_AS(ctgrad::bind(x, five, {2, 3}), ctgrad::shape_error);
  CHECK_THROWS_WITH(ctgrad::bind(x, five, {2, 3}), "ctgrad::bind(): input 'x' is bound to 5 values, but its extents [2, 3] hold 6");
  CHECK_THROWS_WITH(ctgrad::bind(b, bs, {4}), Catch::Contains("input 'b' is bound to 3 values") && Catch::Contains("[4]"));
  std::vector<double> out(6, -7);
  CHECK_THROWS_AS(ctgrad::evaluate_into(ctgrad::exprs(y), std::tuple{ctgrad::view<double, 2>(out.data(), {2, 3})},
                                        ctgrad::bind(x, five, {2, 3}), ctgrad::bind(b, bs, {3}), ctgrad::bind(s, 0.0)),
                  ctgrad::shape_error);
  CHECK(out == std::vector<double>(6, -7));
  // Extents that fit the range but not the other inputs: the usual extent check.
  const std::vector<double> six{1, 2, 3, 4, 5, 6};
  CHECK_THROWS_WITH(ctgrad::evaluate(y, ctgrad::bind(x, six, {3, 2}), ctgrad::bind(b, bs, {3}), ctgrad::bind(s, 0.0)),
                    Catch::Contains("input 'b' axis 0 has extent 3") && Catch::Contains("input 'x' axis 1 has extent 2"));
}

TEST_CASE("wrt of an input the outputs do not use: zeros by default, the same gradients under unused_wrt::error", "[bind][wrt]") {
  constexpr auto dy = ctgrad::input<"dy", 2>;
  constexpr auto z = ctgrad::input<"z", 1>;  // not used by y
  constexpr auto d_default = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, z));
  constexpr auto d_used = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, b), ctgrad::unused_wrt::error);
  constexpr auto g_used = ctgrad::grad(ctgrad::sum<0, 1>(y), ctgrad::wrt(b), ctgrad::unused_wrt::error);
  const std::size_t m = 2, n = 3;
  const std::vector<double> xs{1, 2, 3, 4, 5, 6}, bs{0.5, -1, 2}, zs{9, 9, 9}, ds{1, -1, 2, 0.5, 3, -2};
  // dx = dy * b and dz = zeros_like(z) do not read x: binding it would not compile.
  const auto [dx, dz] = ctgrad::evaluate(d_default, ctgrad::bind(b, bs, {n}), ctgrad::bind(z, zs, {n}), ctgrad::bind(dy, ds, {m, n}));
  CHECK(dz.values == std::vector<double>{0, 0, 0});
  const auto [dx2, db2] = ctgrad::evaluate(d_used, ctgrad::bind(x, xs, {m, n}), ctgrad::bind(b, bs, {n}), ctgrad::bind(dy, ds, {m, n}));
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      CHECK(dx.values[i * n + j] == ds[i * n + j] * bs[j]);
      CHECK(dx2.values[i * n + j] == ds[i * n + j] * bs[j]);
    }
  for (std::size_t j = 0; j < n; ++j) CHECK(db2.values[j] == ds[j] * xs[j] + ds[n + j] * xs[n + j]);
  const auto gb = ctgrad::evaluate(ctgrad::get<0>(g_used), ctgrad::bind(x, xs, {m, n}));  // b itself is not used
  for (std::size_t j = 0; j < n; ++j) CHECK(gb.values[j] == xs[j] + xs[n + j]);
}
