#pragma once
// The hand-derived batch normalization of ../shared/reference/batch_norm_explained.md, written
// as plain loops with no ctgrad code: the independent reference the derived gradients are
// checked against.
//
//   forward:  mu = mean_i x, var = mean_i (x - mu)^2 (biased), xhat = (x - mu) / sqrt(var + eps),
//             y = gamma * xhat + beta
//   backward: dgamma = sum_i dy * xhat, dbeta = sum_i dy, dxhat = dy * gamma,
//             dx = (1/m) (var + eps)^(-1/2) (m dxhat - sum_j dxhat - xhat sum_j dxhat * xhat)
#include <cmath>
#include <cstddef>
#include <vector>

namespace ctgrad_test {

struct batch_norm_closed_form {
  std::vector<double> y, dx, dgamma, dbeta, xhat;
  /// Per element, the magnitude of the terms whose sum is dx: the scale rounding errors in any
  /// implementation of dx are relative to. For m = 2, dx itself is ~eps-sized cancellation
  /// noise (xhat is +-1 whatever x is), so errors are measured against this, not against |dx|.
  std::vector<double> dx_scale;
};

/// x and dy are m x n row-major; gamma and beta have n entries. Computed in double.
template <class T>
batch_norm_closed_form batch_norm_reference(const std::vector<T>& x, const std::vector<T>& gamma,
                                            const std::vector<T>& beta, const std::vector<T>& dy,
                                            std::size_t m, std::size_t n, double eps) {
  batch_norm_closed_form r;
  r.y.resize(m * n);
  r.dx.resize(m * n);
  r.xhat.resize(m * n);
  r.dx_scale.resize(m * n);
  r.dgamma.assign(n, 0.0);
  r.dbeta.assign(n, 0.0);
  for (std::size_t k = 0; k < n; ++k) {
    double mu = 0;
    for (std::size_t i = 0; i < m; ++i) mu += x[i * n + k];
    mu /= static_cast<double>(m);
    double var = 0;
    for (std::size_t i = 0; i < m; ++i) var += (x[i * n + k] - mu) * (x[i * n + k] - mu);
    var /= static_cast<double>(m);
    const double inv_std = 1.0 / std::sqrt(var + eps);
    double sum_dxhat = 0, sum_dxhat_xhat = 0;
    for (std::size_t i = 0; i < m; ++i) {
      const double xh = (x[i * n + k] - mu) * inv_std;
      const double dxh = double(dy[i * n + k]) * gamma[k];
      r.xhat[i * n + k] = xh;
      r.y[i * n + k] = gamma[k] * xh + beta[k];
      r.dgamma[k] += dy[i * n + k] * xh;
      r.dbeta[k] += dy[i * n + k];
      sum_dxhat += dxh;
      sum_dxhat_xhat += dxh * xh;
    }
    const double md = static_cast<double>(m);
    for (std::size_t i = 0; i < m; ++i) {
      const double dxh = double(dy[i * n + k]) * gamma[k];
      r.dx[i * n + k] = (1.0 / md) * inv_std * (md * dxh - sum_dxhat - r.xhat[i * n + k] * sum_dxhat_xhat);
      r.dx_scale[i * n + k] =
          (1.0 / md) * inv_std * (md * std::abs(dxh) + std::abs(sum_dxhat) + std::abs(r.xhat[i * n + k] * sum_dxhat_xhat));
    }
  }
  return r;
}

}  // namespace ctgrad_test
