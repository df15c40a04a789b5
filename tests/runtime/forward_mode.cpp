// Forward mode (ctgrad::jvp) against two independent references, for every primitive and for
// the composites (mean, variance, batch norm, layer norm, logsumexp, softmax, log_softmax,
// softmax cross-entropy), in double, on random tangents:
//   - central finite differences of the forward pass along the tangent,
//     (f(a + h va, b + h vb) - f(a - h va, b - h vb)) / 2h, elementwise: this checks each
//     forward rule against the function itself;
//   - the dot-product test <J v, w> = <v, J^T w> with J^T w from ctgrad::vjp. For + - * / and
//     every elementwise function the forward rule *is* the reverse rule applied to a tangent
//     (diff/jvp.hpp: a diagonal Jacobian is its own transpose), so there the identity holds
//     whatever the rule is and proves nothing about it; it does check the forward rules written
//     apart from the reverse ones (sum, reduce_to, broadcast_like, expand, squeeze, count) and
//     how tangents are summed and fitted to shapes.
#include <catch2/catch.hpp>

#include <cmath>
#include <tuple>
#include <vector>

#include <ctgrad.hpp>

#include "support/numeric.hpp"

namespace {

auto a = ctgrad::input<"a", 2>;
auto b = ctgrad::input<"b", 1>;
auto va = ctgrad::input<"va", 2>;  // tangents
auto vb = ctgrad::input<"vb", 1>;
const std::size_t m = 5, n = 3;
const auto av = ctgrad_test::random_vector(m * n, 51, 0.5, 2.0);  // positive: sqrt, log
const auto bv = ctgrad_test::random_vector(n, 52, 0.5, 2.0);
const auto tav = ctgrad_test::random_vector(m * n, 53);
const auto tbv = ctgrad_test::random_vector(n, 54);

template <class T>
double dot(const T& p, const std::vector<double>& q) {
  double s = 0;
  for (std::size_t i = 0; i < q.size(); ++i) s += p.values[i] * q[i];
  return s;
}

/// The tangent of f along (va, vb) against central differences. With `stopped_a`, f reads a
/// only under stop_gradient: its tangent ignores a, so the differences move b alone.
/// Returns the evaluated tangent (values and extents: those of f).
template <class F>
auto check_tangent(F f, const char* what, bool stopped_a = false) {
  auto ja = ctgrad::get<0>(ctgrad::jvp(ctgrad::outputs(f), ctgrad::tangents(va, vb), ctgrad::wrt(a, b)));
  // f and its tangent in one plan, evaluated three times: one plan to compile per case, not two
  auto eval_at = [&](const std::vector<double>& ap, const std::vector<double>& bp) {
    return ctgrad::evaluate(ctgrad::exprs(f, ja), ctgrad::allow_unused(ctgrad::bind(a, ctgrad::view<const double, 2>(ap.data(), {m, n}))),
                            ctgrad::allow_unused(ctgrad::bind(b, ctgrad::view<const double, 1>(bp.data(), {n}))),
                            ctgrad::allow_unused(ctgrad::bind(va, ctgrad::view<const double, 2>(tav.data(), {m, n}))),
                            ctgrad::allow_unused(ctgrad::bind(vb, ctgrad::view<const double, 1>(tbv.data(), {n}))));
  };
  const auto jv = std::get<1>(eval_at(av, bv));
  const double h = 1e-6;
  auto moved = [&](const std::vector<double>& base, const std::vector<double>& dir, double t) {
    std::vector<double> r(base);
    for (std::size_t i = 0; i < r.size(); ++i) r[i] += t * dir[i];
    return r;
  };
  const auto up = std::get<0>(eval_at(stopped_a ? av : moved(av, tav, h), moved(bv, tbv, h)));
  const auto down = std::get<0>(eval_at(stopped_a ? av : moved(av, tav, -h), moved(bv, tbv, -h)));
  std::vector<double> fd(up.size());
  double fd_scale = 0;
  for (std::size_t i = 0; i < fd.size(); ++i) {
    fd[i] = (up.values[i] - down.values[i]) / (2 * h);
    fd_scale = std::max(fd_scale, std::abs(fd[i]));
  }
  const double fd_error = ctgrad_test::relative_error(jv.values, fd);
  INFO(what << ": jvp against central differences, norm-wise relative error " << fd_error);
  CHECK(fd_error <= 1e-6);
  CHECK(fd_scale > 1e-3);  // a tangent that is (numerically) zero would compare nothing
  return jv;
}

/// check_tangent, then the dot-product identity <J v, w> = <v, J^T w> with J^T w from vjp.
template <class F>
void check_forward(F f, const char* what, bool stopped_a = false) {
  constexpr std::size_t rank = F::shape.rank;
  auto w = ctgrad::input<"w", rank>;
  // the tangent has f's extents: the seed w takes them (no evaluation of f of its own, one plan
  // less to compile per case)
  const auto fv = check_tangent(f, what, stopped_a);
  const std::vector<double>& jv = fv.values;
  auto grads = ctgrad::vjp(ctgrad::outputs(f), ctgrad::seeds(w), ctgrad::wrt(a, b));
  const auto wv = ctgrad_test::random_vector(fv.size(), 55);
  const auto [ga, gb] = ctgrad::evaluate(grads, ctgrad::allow_unused(ctgrad::bind(a, ctgrad::view<const double, 2>(av.data(), {m, n}))),
                                         ctgrad::allow_unused(ctgrad::bind(b, ctgrad::view<const double, 1>(bv.data(), {n}))),
                                         ctgrad::allow_unused(ctgrad::bind(w, ctgrad::view<const double, rank>(wv.data(), fv.extents))));
  double lhs = 0;
  for (std::size_t i = 0; i < wv.size(); ++i) lhs += jv[i] * wv[i];
  const double rhs = dot(ga, tav) + dot(gb, tbv);
  INFO(what << ": <Jv, w> = " << lhs << ", <v, J^T w> = " << rhs);
  CHECK(std::abs(lhs - rhs) <= 1e-12 * std::max(1.0, std::abs(rhs)));
}

}  // namespace

TEST_CASE("forward mode of arithmetic with broadcasting", "[jvp]") {
  check_forward(a + b, "a + b");
  check_forward(a - b, "a - b");
  check_forward(b - a, "b - a");
  check_forward(a * b, "a * b");
  check_forward(a / b, "a / b");
  check_forward(b / a, "b / a");
  check_forward(-a * b, "-a * b");
  check_forward(ctgrad::constant<3> * a - b / ctgrad::constant<2>, "3a - b/2");
}

TEST_CASE("forward mode of elementwise functions", "[jvp]") {
  check_forward(ctgrad::square(a) * b, "square");
  check_forward(ctgrad::sqrt(a) * b, "sqrt");
  check_forward(ctgrad::rsqrt(a) * b, "rsqrt");
  check_forward(ctgrad::exp(a) * b, "exp");
  check_forward(ctgrad::log(a) * b, "log");
  check_forward(ctgrad::tanh(a) * b, "tanh");
  check_forward(ctgrad::pow<3>(a) * b, "pow<3>");
  check_forward(ctgrad::pow<-2>(a) * b, "pow<-2>");
  check_forward(ctgrad::pow<-1>(a) + ctgrad::pow<5>(b), "pow<-1> + pow<5>");
  check_forward(ctgrad::sqrt(a), "sqrt alone");
  check_forward(ctgrad::log(a), "log alone");
  check_forward(ctgrad::exp(b), "exp alone");
  check_forward(ctgrad::stop_gradient(a) * b, "stop_gradient(a) * b", true);
}

TEST_CASE("forward mode of reductions, broadcasts and reshapes", "[jvp]") {
  check_forward(ctgrad::sum<0>(a * b), "sum<0>");
  check_forward(ctgrad::sum<1>(a) * ctgrad::sum<0>(a), "sum<1> * sum<0>");
  check_forward(ctgrad::sum<0, 1>(ctgrad::exp(a)), "sum<0,1>");
  check_forward(ctgrad::reduce_to<ctgrad::static_shape{1, 0}>(a * a) * b, "reduce_to");
  check_forward(ctgrad::squeeze<0>(ctgrad::sum<0>(a)) * b, "squeeze");
  check_forward(a * ctgrad::expand<2, 1>(b * b), "expand");
  check_forward(a - ctgrad::broadcast_like(ctgrad::mean<1>(a), a), "broadcast_like");
  check_forward(ctgrad::broadcast_like(ctgrad::square(b), a) * a, "broadcast_like of a vector");
  check_tangent(ctgrad::first<0>(a) * b, "first<0>");  // first has no reverse rule
}

TEST_CASE("forward mode of the composites", "[jvp]") {
  check_forward(ctgrad::mean<0>(a) * b, "mean<0>");
  check_forward(ctgrad::mean<0, 1>(ctgrad::square(a)) + b, "mean<0,1>");
  check_forward(ctgrad::variance<0>(a) * b, "variance<0>");
  check_forward(ctgrad::variance<1>(a * b), "variance<1>");
  check_forward(ctgrad::mean<0>(a) + ctgrad::variance<0>(a), "mean + variance");
}

TEST_CASE("forward mode of batch norm and layer norm (x, gamma, beta together)", "[jvp][batch_norm]") {
  // gamma and beta are both b here: the identities hold at any linearization point
  check_forward(ctgrad::nn::batch_norm_train(a, b, ctgrad::square(b), ctgrad::constant<1, 100000>), "batch norm");
  check_forward(ctgrad::nn::layer_norm(a, b, ctgrad::square(b), ctgrad::constant<1, 100000>), "layer norm");
}

TEST_CASE("forward mode of the smooth functions of issue 14", "[jvp]") {
  check_forward(ctgrad::log1p(a) * b, "log1p");
  check_forward(ctgrad::expm1(a) * b, "expm1");
  check_forward(ctgrad::sigmoid(a - b) * b, "sigmoid");
  check_forward(ctgrad::softplus(b - a) * b, "softplus");
}

TEST_CASE("forward mode of the piecewise functions away from their kinks", "[jvp]") {
  // a and b lie in [0.5, 2): the kinks at 1.25 and at a = b are met by no element by chance
  // closer than the step of the differences (the data are fixed)
  check_forward(ctgrad::abs(a - ctgrad::constant<5, 4>) * b, "abs");
  check_forward(ctgrad::relu(a - ctgrad::constant<5, 4>) * b, "relu");
  check_forward(ctgrad::maximum(a, b) * a, "maximum");
  check_forward(ctgrad::minimum(a, b) + ctgrad::square(a), "minimum");
  check_forward(ctgrad::where(ctgrad::greater(a, b), ctgrad::exp(a), a * b), "where");
  check_forward(ctgrad::sign(a - ctgrad::constant<5, 4>) * b + a, "sign");
  check_forward(ctgrad::less_equal(a, b) * b + a, "less_equal");
}

TEST_CASE("forward mode of the max and min reductions and the softmax family", "[jvp]") {
  check_forward(ctgrad::max<0>(a * b), "max<0>");
  check_forward(ctgrad::min<1>(a) * ctgrad::max<0, 1>(a), "min<1> * max<0,1>");
  check_forward(ctgrad::logsumexp<1>(a * b), "logsumexp<1>");
  check_forward(ctgrad::logsumexp<0>(a) * b, "logsumexp<0>");
  check_forward(ctgrad::softmax<1>(a * b), "softmax<1>");
  check_forward(ctgrad::softmax<0>(a) * b, "softmax<0>");
  check_forward(ctgrad::log_softmax<1>(a * b), "log_softmax<1>");
  check_forward(ctgrad::nn::softmax_cross_entropy(a * b, ctgrad::square(a)), "softmax_cross_entropy");
}
