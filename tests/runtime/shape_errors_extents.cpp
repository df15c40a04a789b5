// Every run-time extent check, one test each: the mismatch throws ctgrad::shape_error whose
// message names the inputs and axes (or outputs) involved, and nothing is written to the output
// buffers, which are filled with a sentinel that must survive. CI runs this under
// AddressSanitizer: a check that went missing shows as an out-of-bounds read there, and as a
// missing exception here. (Squeezing an axis that is not statically unit is rejected at compile
// time, see compile_fail/squeeze_non_unit_axis.cpp: a statically unit axis has extent 1 at run
// time by construction, so there is no run-time check to test.)
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <ctgrad.hpp>

namespace {

constexpr double sentinel = -7.25;
constexpr auto a = ctgrad::input<"a", 2>;
constexpr auto c = ctgrad::input<"c", 2>;
constexpr auto v = ctgrad::input<"v", 1>;
constexpr auto p = ctgrad::input<"p", 4>;

/// Runs `call`, which must throw ctgrad::shape_error with every string of `parts` in its
/// message, and checks that every buffer in `outs` still holds only the sentinel.
template <class Call>
void expect_shape_error(Call call, const std::vector<std::string>& parts, const std::vector<const std::vector<double>*>& outs) {
  bool thrown = false;
  try {
    call();
  } catch (const ctgrad::shape_error& e) {
    thrown = true;
    const std::string msg = e.what();
    INFO("message: " << msg);
    for (const auto& part : parts) CHECK(msg.find(part) != std::string::npos);
  }
  CHECK(thrown);
  for (const auto* out : outs)
    for (double e : *out) CHECK(e == sentinel);
}

std::vector<double> filled(std::size_t k) { return std::vector<double>(k, sentinel); }
std::vector<double> data(std::size_t k) {
  std::vector<double> d(k);
  for (std::size_t i = 0; i < k; ++i) d[i] = 0.5 + double(i);
  return d;
}

}  // namespace

TEST_CASE("broadcasting a vector of the wrong length against a matrix", "[errors][shape]") {
  const auto as = data(12), vs = data(5);
  auto out = filled(12);
  expect_shape_error(
      [&] {
        ctgrad::evaluate_into(ctgrad::exprs(a * v), std::tuple{ctgrad::view<double, 2>(out.data(), {3, 4})},
                              ctgrad::bind(a, ctgrad::view<const double, 2>(as.data(), {3, 4})),
                              ctgrad::bind(v, ctgrad::view<const double, 1>(vs.data(), {5})));
      },
      {"input 'a' axis 1 has extent 4", "input 'v' axis 0 has extent 5", "a * v"}, {&out});
}

TEST_CASE("two matrices whose leading axes differ, met after a reduction", "[errors][shape]") {
  const auto as = data(12), cs = data(16);
  auto out = filled(12), out2 = filled(4);
  expect_shape_error(
      [&] {
        ctgrad::evaluate_into(ctgrad::exprs(a * c, ctgrad::sum<0>(a)),
                              std::tuple{ctgrad::view<double, 2>(out.data(), {3, 4}), ctgrad::view<double, 2>(out2.data(), {1, 4})},
                              ctgrad::bind(a, ctgrad::view<const double, 2>(as.data(), {3, 4})),
                              ctgrad::bind(c, ctgrad::view<const double, 2>(cs.data(), {4, 4})));
      },
      {"input 'a' axis 0 has extent 3", "input 'c' axis 0 has extent 4"}, {&out, &out2});
}

TEST_CASE("broadcast_like with a payload that does not fit the reference", "[errors][shape]") {
  // the payload's extent is checked against the reference's: without the check the loop would
  // read 4 elements of a 2-element vector
  const auto as = data(12), vs = data(2);
  auto out = filled(12);
  expect_shape_error(
      [&] {
        ctgrad::evaluate_into(ctgrad::exprs(ctgrad::broadcast_like(v, a)), std::tuple{ctgrad::view<double, 2>(out.data(), {3, 4})},
                              ctgrad::bind(a, ctgrad::view<const double, 2>(as.data(), {3, 4})),
                              ctgrad::bind(v, ctgrad::view<const double, 1>(vs.data(), {2})));
      },
      {"broadcast_like(v, a)", "input 'a' axis 1 has extent 4", "input 'v' axis 0 has extent 2"}, {&out});
}

TEST_CASE("broadcast_like of a column whose length is not the reference's row count", "[errors][shape]") {
  const auto as = data(12), vs = data(5);
  auto out = filled(12);
  expect_shape_error(
      [&] {
        ctgrad::evaluate_into(ctgrad::exprs(ctgrad::broadcast_like(ctgrad::expand<2, 0>(v), a) * a),
                              std::tuple{ctgrad::view<double, 2>(out.data(), {3, 4})},
                              ctgrad::bind(a, ctgrad::view<const double, 2>(as.data(), {3, 4})),
                              ctgrad::bind(v, ctgrad::view<const double, 1>(vs.data(), {5})));
      },
      {"input 'a' axis 0 has extent 3", "input 'v' axis 0 has extent 5"}, {&out});
}

TEST_CASE("an expanded per-channel vector of the wrong length", "[errors][shape]") {
  // N x C x H x W = 2 x 3 x 2 x 2 against a gamma of 4 channels placed at axis 1
  const auto ps = data(24), vs = data(4);
  auto out = filled(24);
  expect_shape_error(
      [&] {
        ctgrad::evaluate_into(ctgrad::exprs(p * ctgrad::expand<4, 1>(v)), std::tuple{ctgrad::view<double, 4>(out.data(), {2, 3, 2, 2})},
                              ctgrad::bind(p, ctgrad::view<const double, 4>(ps.data(), {2, 3, 2, 2})),
                              ctgrad::bind(v, ctgrad::view<const double, 1>(vs.data(), {4})));
      },
      {"input 'p' axis 1 has extent 3", "input 'v' axis 0 has extent 4"}, {&out});
}

TEST_CASE("the gradient of a broadcast checks its seed: dy of the wrong extents", "[errors][shape]") {
  constexpr auto dy = ctgrad::input<"dy", 2>;
  // not a structured binding: Clang 14 cannot capture one in the lambda below
  const auto gv = ctgrad::get<0>(ctgrad::vjp(ctgrad::outputs(a * v), ctgrad::seeds(dy), ctgrad::wrt(v)));
  const auto as = data(12), vs = data(4), dys = data(15);
  auto out = filled(4);
  expect_shape_error(
      [&] {
        ctgrad::evaluate_into(ctgrad::exprs(gv), std::tuple{ctgrad::view<double, 1>(out.data(), {4})},
                              ctgrad::bind(a, ctgrad::view<const double, 2>(as.data(), {3, 4})),
                              ctgrad::allow_unused(ctgrad::bind(v, ctgrad::view<const double, 1>(vs.data(), {4}))),  // gv reads no v
                              ctgrad::bind(dy, ctgrad::view<const double, 2>(dys.data(), {3, 5})));
      },
      {"input 'dy' axis 1 has extent 5", "axis 1 has extent 4"}, {&out});
}

TEST_CASE("output views of the wrong extents, through evaluate_into and a kept plan", "[errors][shape]") {
  const auto as = data(12);
  auto good = filled(12), bad = filled(4);
  // the first output is right, the second wrong: neither may be written
  const auto call_into = [&] {
    ctgrad::evaluate_into(ctgrad::exprs(ctgrad::exp(a), ctgrad::sum<1>(a)),
                          std::tuple{ctgrad::view<double, 2>(good.data(), {3, 4}), ctgrad::view<double, 2>(bad.data(), {1, 4})},
                          ctgrad::bind(a, ctgrad::view<const double, 2>(as.data(), {3, 4})));
  };
  expect_shape_error(call_into, {"output 1", "sum<1>(a)", "has extents [1, 4] but the result has [3, 1]"}, {&good, &bad});

  auto plan = ctgrad::compile<double>(ctgrad::exprs(ctgrad::exp(a), ctgrad::sum<1>(a)));
  const auto call_plan = [&] {
    plan.run(std::tuple{ctgrad::view<double, 2>(good.data(), {4, 3}), ctgrad::view<double, 2>(bad.data(), {3, 1})},
             ctgrad::bind(a, ctgrad::view<const double, 2>(as.data(), {3, 4})));
  };
  expect_shape_error(call_plan, {"output 0", "exp(a)", "has extents [4, 3] but the result has [3, 4]"}, {&good, &bad});
  // the same plan with the right views writes both
  plan.run(std::tuple{ctgrad::view<double, 2>(good.data(), {3, 4}), ctgrad::view<double, 2>(bad.data(), {3, 1})},
           ctgrad::bind(a, ctgrad::view<const double, 2>(as.data(), {3, 4})));
  CHECK(good[0] == std::exp(as[0]));
  CHECK(bad[0] == as[0] + as[1] + as[2] + as[3]);
}

TEST_CASE("an output overlapping an input, or another output, is a shape_error", "[errors][shape]") {
  auto mem = data(24);
  const std::vector<double> before = mem;
  const auto x_view = ctgrad::view<const double, 2>(mem.data(), {3, 4});
  SECTION("output inside the input's memory (shifted by one element)") {
    CHECK_THROWS_WITH(ctgrad::evaluate_into(ctgrad::exprs(ctgrad::exp(a)), std::tuple{ctgrad::view<double, 2>(mem.data() + 1, {3, 4})},
                                            ctgrad::bind(a, x_view)),
                      Catch::Contains("output 0 overlaps the memory of input 'a'"));
    CHECK_THROWS_AS(ctgrad::evaluate_into(ctgrad::exprs(ctgrad::exp(a)), std::tuple{ctgrad::view<double, 2>(mem.data() + 11, {3, 4})},
                                          ctgrad::bind(a, x_view)),
                    ctgrad::shape_error);
  }
  SECTION("two outputs sharing memory") {
    auto out = filled(20);
    CHECK_THROWS_AS(ctgrad::evaluate_into(ctgrad::exprs(ctgrad::exp(a), ctgrad::sum<0>(a)),
                                          std::tuple{ctgrad::view<double, 2>(out.data(), {3, 4}), ctgrad::view<double, 2>(out.data() + 8, {1, 4})},
                                          ctgrad::bind(a, x_view)),
                    ctgrad::shape_error);
    CHECK_THROWS_WITH(ctgrad::evaluate_into(ctgrad::exprs(ctgrad::exp(a), ctgrad::sum<0>(a)),
                                            std::tuple{ctgrad::view<double, 2>(out.data(), {3, 4}), ctgrad::view<double, 2>(out.data() + 11, {1, 4})},
                                            ctgrad::bind(a, x_view)),
                      Catch::Contains("outputs 0 and 1 share memory"));
    for (double e : out) CHECK(e == sentinel);
  }
  SECTION("adjacent, non-overlapping memory is accepted") {
    ctgrad::evaluate_into(ctgrad::exprs(ctgrad::exp(a)), std::tuple{ctgrad::view<double, 2>(mem.data() + 12, {3, 4})},
                          ctgrad::bind(a, x_view));
    CHECK(mem[12] == std::exp(before[0]));
  }
  for (std::size_t i = 0; i < 12; ++i) CHECK(mem[i] == before[i]);  // the input is never written
}
