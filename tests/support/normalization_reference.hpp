#pragma once
// Hand-written normalization formulas as plain loops in double, with no ctgrad code: the
// independent references for include/ctgrad/nn (batch norm over any axes, in training and
// inference mode, running estimates under both conventions, layer norm).
//
// A row-major tensor with extents `ext` is split into statistic groups: elements that differ
// only along the `reduced` axes (a bit mask) share a mean and a variance. Scale and shift are
// indexed by the `param` axes: the kept axes for batch norm, the last axis for layer norm.
//
//   training:  mu = mean_g x, var = mean_g (x - mu)^2, xhat = (x - mu) / sqrt(var + eps),
//              y = gamma * xhat + beta, dxhat = dy * gamma,
//              dx = (1/m) rstd (m dxhat - sum_g dxhat - xhat sum_g dxhat * xhat)
//              dgamma = sum dy * xhat, dbeta = sum dy (over the elements sharing a parameter)
//   inference: xhat = (x - running_mean) / sqrt(running_var + eps), dx = dy * gamma * rstd
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ctgrad_test {

struct norm_layout {
  std::vector<std::size_t> ext;
  std::uint32_t reduced = 0;  // axes a statistic runs over
  std::uint32_t param = 0;    // axes gamma and beta are indexed by

  std::size_t size() const {
    std::size_t n = 1;
    for (auto e : ext) n *= e;
    return n;
  }
  /// Row-major index of element `lin` over the axes in `mask` only.
  std::size_t index_over(std::size_t lin, std::uint32_t mask) const {
    std::vector<std::size_t> idx(ext.size());
    for (std::size_t a = ext.size(); a-- > 0;) {
      idx[a] = lin % ext[a];
      lin /= ext[a];
    }
    std::size_t r = 0;
    for (std::size_t a = 0; a < ext.size(); ++a)
      if ((mask >> a) & 1U) r = r * ext[a] + idx[a];
    return r;
  }
  std::size_t count_over(std::uint32_t mask) const {
    std::size_t n = 1;
    for (std::size_t a = 0; a < ext.size(); ++a)
      if ((mask >> a) & 1U) n *= ext[a];
    return n;
  }
  std::uint32_t kept() const { return ((std::uint32_t{1} << ext.size()) - 1U) & ~reduced; }
  std::size_t group(std::size_t lin) const { return index_over(lin, kept()); }
  std::size_t groups() const { return count_over(kept()); }
  std::size_t m() const { return count_over(reduced); }
  std::size_t param_index(std::size_t lin) const { return index_over(lin, param); }
  std::size_t params() const { return count_over(param); }
};

struct norm_result {
  std::vector<double> mean, var;  // per statistic group (biased variance)
  std::vector<double> y, xhat, dx, dx_scale, dgamma, dbeta;
};

/// Mean and biased variance per group, two passes in double.
template <class T>
void group_moments(const norm_layout& L, const std::vector<T>& x, std::vector<double>& mean, std::vector<double>& var) {
  mean.assign(L.groups(), 0.0);
  var.assign(L.groups(), 0.0);
  const double m = double(L.m());
  for (std::size_t i = 0; i < L.size(); ++i) mean[L.group(i)] += double(x[i]);
  for (auto& v : mean) v /= m;
  for (std::size_t i = 0; i < L.size(); ++i) {
    const double d = double(x[i]) - mean[L.group(i)];
    var[L.group(i)] += d * d;
  }
  for (auto& v : var) v /= m;
}

/// Training-mode normalization (batch norm or layer norm depending on the layout).
template <class T>
norm_result training_reference(const norm_layout& L, const std::vector<T>& x, const std::vector<T>& gamma,
                               const std::vector<T>& beta, const std::vector<T>& dy, double eps) {
  norm_result r;
  group_moments(L, x, r.mean, r.var);
  const std::size_t N = L.size();
  const double m = double(L.m());
  r.y.resize(N);
  r.xhat.resize(N);
  r.dx.resize(N);
  r.dx_scale.resize(N);
  r.dgamma.assign(L.params(), 0.0);
  r.dbeta.assign(L.params(), 0.0);
  std::vector<double> sum_dxhat(L.groups(), 0.0), sum_dxhat_xhat(L.groups(), 0.0);
  for (std::size_t i = 0; i < N; ++i) {
    const std::size_t g = L.group(i), p = L.param_index(i);
    const double xh = (double(x[i]) - r.mean[g]) / std::sqrt(r.var[g] + eps);
    const double dxh = double(dy[i]) * double(gamma[p]);
    r.xhat[i] = xh;
    r.y[i] = double(gamma[p]) * xh + double(beta[p]);
    r.dgamma[p] += double(dy[i]) * xh;
    r.dbeta[p] += double(dy[i]);
    sum_dxhat[g] += dxh;
    sum_dxhat_xhat[g] += dxh * xh;
  }
  for (std::size_t i = 0; i < N; ++i) {
    const std::size_t g = L.group(i), p = L.param_index(i);
    const double rstd = 1.0 / std::sqrt(r.var[g] + eps);
    const double dxh = double(dy[i]) * double(gamma[p]);
    r.dx[i] = rstd / m * (m * dxh - sum_dxhat[g] - r.xhat[i] * sum_dxhat_xhat[g]);
    r.dx_scale[i] = rstd / m * (m * std::abs(dxh) + std::abs(sum_dxhat[g]) + std::abs(r.xhat[i] * sum_dxhat_xhat[g]));
  }
  return r;
}

/// Inference-mode batch norm: running estimates indexed like gamma and beta.
inline norm_result inference_reference(const norm_layout& L, const std::vector<double>& x, const std::vector<double>& gamma,
                                       const std::vector<double>& beta, const std::vector<double>& running_mean,
                                       const std::vector<double>& running_var, const std::vector<double>& dy, double eps) {
  norm_result r;
  const std::size_t N = L.size();
  r.y.resize(N);
  r.xhat.resize(N);
  r.dx.resize(N);
  r.dgamma.assign(L.params(), 0.0);
  r.dbeta.assign(L.params(), 0.0);
  for (std::size_t i = 0; i < N; ++i) {
    const std::size_t p = L.param_index(i);
    const double rstd = 1.0 / std::sqrt(running_var[p] + eps);
    r.xhat[i] = (x[i] - running_mean[p]) * rstd;
    r.y[i] = gamma[p] * r.xhat[i] + beta[p];
    r.dx[i] = dy[i] * gamma[p] * rstd;
    r.dgamma[p] += dy[i] * r.xhat[i];
    r.dbeta[p] += dy[i];
  }
  return r;
}

/// One running-estimate update, written out for each convention.
///   reference: running = alpha * running + (1 - alpha) * batch, biased variance
///   pytorch:   running = (1 - p) * running + p * batch, unbiased variance var * m / (m - 1)
inline void reference_convention_step(double alpha, const std::vector<double>& mean, const std::vector<double>& var,
                                      std::vector<double>& running_mean, std::vector<double>& running_var) {
  for (std::size_t k = 0; k < mean.size(); ++k) {
    running_mean[k] = alpha * running_mean[k] + (1 - alpha) * mean[k];
    running_var[k] = alpha * running_var[k] + (1 - alpha) * var[k];
  }
}
inline void pytorch_convention_step(double p, std::size_t m, const std::vector<double>& mean, const std::vector<double>& var,
                                    std::vector<double>& running_mean, std::vector<double>& running_var) {
  const double md = double(m);
  for (std::size_t k = 0; k < mean.size(); ++k) {
    running_mean[k] = (1 - p) * running_mean[k] + p * mean[k];
    running_var[k] = (1 - p) * running_var[k] + p * var[k] * md / (md - 1);
  }
}

}  // namespace ctgrad_test
