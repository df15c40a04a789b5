// The model of examples/train_mlp.cpp (examples/mlp_model.hpp), the same expression types, at a
// tiny size (6 samples, 5 inputs, 4 hidden units, 3 classes) in double:
//   - every parameter's derived gradient (and x's), with and without batch norm, against central
//     finite differences (ctgrad::gradcheck);
//   - the loss, the inference-mode logits and the running estimates of both conventions against
//     the same network written as plain loops here;
//   - the SGD-with-momentum update plans against a plain loop.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <string>
#include <tuple>
#include <vector>

#include <ctgrad.hpp>
#include <ctgrad/check/catch2.hpp>
#include <ctgrad/check/gradcheck.hpp>

#include "mlp_model.hpp"
#include "support/numeric.hpp"

namespace {

namespace m = mlp_model;
using ctgrad_test::random_vector;
using vec = std::vector<double>;

constexpr std::size_t batch = 6, n_in = 5, n_hid = 4, n_out = 3;
constexpr double eps = 1e-5;

/// The tiny network's values: parameters, running estimates, a batch and one-hot targets.
struct tiny {
  vec x = random_vector(batch * n_in, 1), W1 = random_vector(n_in * n_hid, 2, -1, 1), b1 = random_vector(n_hid, 3, -0.5, 0.5),
      gamma1 = random_vector(n_hid, 4, 0.5, 1.5), beta1 = random_vector(n_hid, 5, -0.5, 0.5),
      W2 = random_vector(n_hid * n_hid, 6, -1, 1), b2 = random_vector(n_hid, 7, -0.5, 0.5), gamma2 = random_vector(n_hid, 8, 0.5, 1.5),
      beta2 = random_vector(n_hid, 9, -0.5, 0.5), W3 = random_vector(n_hid * n_out, 10, -1, 1), b3 = random_vector(n_out, 11, -0.5, 0.5),
      rm1 = random_vector(n_hid, 12, -0.5, 0.5), rv1 = random_vector(n_hid, 13, 0.5, 2.0), rm2 = random_vector(n_hid, 14, -0.5, 0.5),
      rv2 = random_vector(n_hid, 15, 0.5, 2.0), t = vec(batch * n_out, 0.0);
  tiny() {
    for (std::size_t i = 0; i < batch; ++i) t[i * n_out + (i * 2) % n_out] = 1.0;
  }
};

ctgrad::view<const double, 2> v2(const vec& v, std::size_t r, std::size_t c) { return {v.data(), {r, c}}; }
ctgrad::view<const double, 1> v1(const vec& v) { return {v.data(), {v.size()}}; }

// -- the network as plain loops: the independent oracle ----------------------------------------

vec linear(const vec& in, std::size_t rows, std::size_t k, const vec& W, const vec& b, std::size_t n) {
  vec out(rows * n);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double s = b[j];
      for (std::size_t q = 0; q < k; ++q) s += in[i * k + q] * W[q * n + j];
      out[i * n + j] = s;
    }
  return out;
}
/// Column means and biased variances of a rows x n matrix.
std::pair<vec, vec> column_stats(const vec& z, std::size_t rows, std::size_t n) {
  vec mean(n, 0.0), var(n, 0.0);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < n; ++j) mean[j] += z[i * n + j] / double(rows);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < n; ++j) var[j] += (z[i * n + j] - mean[j]) * (z[i * n + j] - mean[j]) / double(rows);
  return {mean, var};
}
/// relu(gamma * (z - mean) / sqrt(var + eps) + beta), per column.
vec bn_relu(const vec& z, std::size_t rows, std::size_t n, const vec& mean, const vec& var, const vec& g, const vec& b) {
  vec out(rows * n);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < n; ++j)
      out[i * n + j] = std::max(0.0, g[j] * (z[i * n + j] - mean[j]) / std::sqrt(var[j] + eps) + b[j]);
  return out;
}
double cross_entropy(const vec& logits, const vec& t, std::size_t rows, std::size_t n) {
  double total = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    double mx = logits[i * n];
    for (std::size_t j = 1; j < n; ++j) mx = std::max(mx, logits[i * n + j]);
    double s = 0;
    for (std::size_t j = 0; j < n; ++j) s += std::exp(logits[i * n + j] - mx);
    for (std::size_t j = 0; j < n; ++j) total -= t[i * n + j] * (logits[i * n + j] - mx - std::log(s));
  }
  return total / double(rows);
}

double max_abs_diff(const std::vector<double>& a, const vec& b) {
  REQUIRE(a.size() == b.size());
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

}  // namespace

TEST_CASE("the MLP without batch norm: every parameter's derived gradient against finite differences") {
  const tiny v;
  const auto report = ctgrad::gradcheck(
      m::plain::loss, ctgrad::wrt(m::x, m::W1, m::b1, m::W2, m::b2, m::W3, m::b3), {.abs_tol = 1e-7, .rel_tol = 1e-5},
      ctgrad::bind(m::x, v2(v.x, batch, n_in)), ctgrad::bind(m::targets, v2(v.t, batch, n_out)),
      ctgrad::bind(m::W1, v2(v.W1, n_in, n_hid)), ctgrad::bind(m::b1, v1(v.b1)), ctgrad::bind(m::W2, v2(v.W2, n_hid, n_hid)),
      ctgrad::bind(m::b2, v1(v.b2)), ctgrad::bind(m::W3, v2(v.W3, n_hid, n_out)), ctgrad::bind(m::b3, v1(v.b3)));
  INFO(fmt::format("{}", report));
  CHECK_THAT(report, ctgrad::matchers::passes_gradcheck());
  CHECK(report.inputs.size() == 7);
}

TEST_CASE("the MLP with batch norm: every parameter's derived gradient against finite differences") {
  const tiny v;
  const auto report = ctgrad::gradcheck(
      m::bn::loss, ctgrad::wrt(m::x, m::W1, m::b1, m::gamma1, m::beta1, m::W2, m::b2, m::gamma2, m::beta2, m::W3, m::b3),
      {.abs_tol = 1e-7, .rel_tol = 1e-5}, ctgrad::bind(m::x, v2(v.x, batch, n_in)), ctgrad::bind(m::targets, v2(v.t, batch, n_out)),
      ctgrad::bind(m::W1, v2(v.W1, n_in, n_hid)), ctgrad::bind(m::b1, v1(v.b1)), ctgrad::bind(m::gamma1, v1(v.gamma1)),
      ctgrad::bind(m::beta1, v1(v.beta1)), ctgrad::bind(m::W2, v2(v.W2, n_hid, n_hid)), ctgrad::bind(m::b2, v1(v.b2)),
      ctgrad::bind(m::gamma2, v1(v.gamma2)), ctgrad::bind(m::beta2, v1(v.beta2)), ctgrad::bind(m::W3, v2(v.W3, n_hid, n_out)),
      ctgrad::bind(m::b3, v1(v.b3)));
  INFO(fmt::format("{}", report));
  CHECK_THAT(report, ctgrad::matchers::passes_gradcheck());
  CHECK(report.inputs.size() == 11);
}

TEST_CASE("the MLP's losses, inference logits and running estimates equal the network written as loops") {
  const tiny v;
  // the oracle
  const vec z1 = linear(v.x, batch, n_in, v.W1, v.b1, n_hid);
  const auto s1 = column_stats(z1, batch, n_hid);
  const vec h1 = bn_relu(z1, batch, n_hid, s1.first, s1.second, v.gamma1, v.beta1);
  const vec z2 = linear(h1, batch, n_hid, v.W2, v.b2, n_hid);
  const auto s2 = column_stats(z2, batch, n_hid);
  const vec h2 = bn_relu(z2, batch, n_hid, s2.first, s2.second, v.gamma2, v.beta2);
  const double bn_loss = cross_entropy(linear(h2, batch, n_hid, v.W3, v.b3, n_out), v.t, batch, n_out);

  vec p1 = z1, p2;
  for (auto& e : p1) e = std::max(0.0, e);
  p2 = linear(p1, batch, n_hid, v.W2, v.b2, n_hid);
  for (auto& e : p2) e = std::max(0.0, e);
  const double plain_loss = cross_entropy(linear(p2, batch, n_hid, v.W3, v.b3, n_out), v.t, batch, n_out);

  const vec i1 = bn_relu(z1, batch, n_hid, v.rm1, v.rv1, v.gamma1, v.beta1);
  const vec i2 = bn_relu(linear(i1, batch, n_hid, v.W2, v.b2, n_hid), batch, n_hid, v.rm2, v.rv2, v.gamma2, v.beta2);
  const vec inference_logits = linear(i2, batch, n_hid, v.W3, v.b3, n_out);

  auto blend = [](const vec& running, const vec& stat, double keep, double scale) {
    vec out(running.size());
    for (std::size_t j = 0; j < out.size(); ++j) out[j] = keep * running[j] + (1 - keep) * scale * stat[j];
    return out;
  };
  const double bessel = double(batch) / double(batch - 1);

  const auto all = std::tuple{ctgrad::bind(m::x, v2(v.x, batch, n_in)), ctgrad::bind(m::targets, v2(v.t, batch, n_out)),
                              ctgrad::bind(m::W1, v2(v.W1, n_in, n_hid)), ctgrad::bind(m::b1, v1(v.b1)),
                              ctgrad::bind(m::gamma1, v1(v.gamma1)), ctgrad::bind(m::beta1, v1(v.beta1)),
                              ctgrad::bind(m::W2, v2(v.W2, n_hid, n_hid)), ctgrad::bind(m::b2, v1(v.b2)),
                              ctgrad::bind(m::gamma2, v1(v.gamma2)), ctgrad::bind(m::beta2, v1(v.beta2)),
                              ctgrad::bind(m::W3, v2(v.W3, n_hid, n_out)), ctgrad::bind(m::b3, v1(v.b3)),
                              ctgrad::bind(m::running_mean1, v1(v.rm1)), ctgrad::bind(m::running_var1, v1(v.rv1)),
                              ctgrad::bind(m::running_mean2, v1(v.rm2)), ctgrad::bind(m::running_var2, v1(v.rv2))};
  const auto ref = m::bn::running_updates(ctgrad::nn::reference_momentum{});
  const auto pt = m::bn::running_updates(ctgrad::nn::pytorch_momentum{});
  auto plan = ctgrad::compile<double>(ctgrad::exprs(m::bn::loss, m::plain::loss, m::bn::logits_inference, ctgrad::get<0>(ref),
                                                    ctgrad::get<1>(ref), ctgrad::get<2>(ref), ctgrad::get<3>(ref), ctgrad::get<0>(pt),
                                                    ctgrad::get<1>(pt), ctgrad::get<2>(pt), ctgrad::get<3>(pt)));
  const auto r = std::apply([&](const auto&... b) { return plan(b...); }, all);

  CHECK(std::get<0>(r).values[0] == Approx(bn_loss).epsilon(1e-12));
  CHECK(std::get<1>(r).values[0] == Approx(plain_loss).epsilon(1e-12));
  CHECK(max_abs_diff(std::get<2>(r).values, inference_logits) < 1e-12);
  // reference: running = 0.9 running + 0.1 batch, biased variance
  CHECK(max_abs_diff(std::get<3>(r).values, blend(v.rm1, s1.first, 0.9, 1.0)) < 1e-14);
  CHECK(max_abs_diff(std::get<4>(r).values, blend(v.rv1, s1.second, 0.9, 1.0)) < 1e-14);
  CHECK(max_abs_diff(std::get<5>(r).values, blend(v.rm2, s2.first, 0.9, 1.0)) < 1e-14);
  CHECK(max_abs_diff(std::get<6>(r).values, blend(v.rv2, s2.second, 0.9, 1.0)) < 1e-14);
  // PyTorch: the same blend with the unbiased variance
  CHECK(max_abs_diff(std::get<7>(r).values, blend(v.rm1, s1.first, 0.9, 1.0)) < 1e-14);
  CHECK(max_abs_diff(std::get<8>(r).values, blend(v.rv1, s1.second, 0.9, bessel)) < 1e-14);
  CHECK(max_abs_diff(std::get<9>(r).values, blend(v.rm2, s2.first, 0.9, 1.0)) < 1e-14);
  CHECK(max_abs_diff(std::get<10>(r).values, blend(v.rv2, s2.second, 0.9, bessel)) < 1e-14);
}

TEST_CASE("the SGD-with-momentum plans compute v' = mu v + g and p' = p - lr v' like a loop") {
  const auto p = random_vector<float>(12, 21), vel = random_vector<float>(12, 22), g = random_vector<float>(12, 23);
  const float lr = 0.05f, mu = 0.9f;
  std::vector<float> p_next(12), v_next(12), p1(12), v1n(12);
  auto plan2 = ctgrad::compile<float>(ctgrad::exprs(m::sgd<2>::param_next, m::sgd<2>::velocity_next));
  plan2.run(std::tuple{ctgrad::view<float, 2>(p_next.data(), {3, 4}), ctgrad::view<float, 2>(v_next.data(), {3, 4})},
            ctgrad::bind(m::sgd<2>::param, ctgrad::view<const float, 2>(p.data(), {3, 4})),
            ctgrad::bind(m::sgd<2>::velocity, ctgrad::view<const float, 2>(vel.data(), {3, 4})),
            ctgrad::bind(m::sgd<2>::gradient, ctgrad::view<const float, 2>(g.data(), {3, 4})), ctgrad::bind(m::learning_rate, lr),
            ctgrad::bind(m::momentum, mu));
  auto plan1 = ctgrad::compile<float>(ctgrad::exprs(m::sgd<1>::param_next, m::sgd<1>::velocity_next));
  plan1.run(std::tuple{ctgrad::view<float, 1>(p1.data(), {12}), ctgrad::view<float, 1>(v1n.data(), {12})},
            ctgrad::bind(m::sgd<1>::param, ctgrad::view<const float, 1>(p.data(), {12})),
            ctgrad::bind(m::sgd<1>::velocity, ctgrad::view<const float, 1>(vel.data(), {12})),
            ctgrad::bind(m::sgd<1>::gradient, ctgrad::view<const float, 1>(g.data(), {12})), ctgrad::bind(m::learning_rate, lr),
            ctgrad::bind(m::momentum, mu));
  for (std::size_t i = 0; i < 12; ++i) {
    const double want_v = double(mu) * double(vel[i]) + double(g[i]);
    const double want_p = double(p[i]) - double(lr) * want_v;
    CHECK(v_next[i] == Approx(want_v).epsilon(1e-6).margin(1e-6));
    CHECK(p_next[i] == Approx(want_p).epsilon(1e-6).margin(1e-6));
    CHECK(v1n[i] == v_next[i]);
    CHECK(p1[i] == p_next[i]);
  }
  // outputs must not overlap inputs: the program ping-pongs two buffers; writing in place is refused
  std::vector<float> q = p, w = vel;
  CHECK_THROWS_AS(plan1.run(std::tuple{ctgrad::view<float, 1>(q.data(), {12}), ctgrad::view<float, 1>(w.data(), {12})},
                            ctgrad::bind(m::sgd<1>::param, ctgrad::view<const float, 1>(q.data(), {12})),
                            ctgrad::bind(m::sgd<1>::velocity, ctgrad::view<const float, 1>(w.data(), {12})),
                            ctgrad::bind(m::sgd<1>::gradient, ctgrad::view<const float, 1>(g.data(), {12})),
                            ctgrad::bind(m::learning_rate, lr), ctgrad::bind(m::momentum, mu)),
                  ctgrad::shape_error);
}
