#pragma once
// Hand-written batch normalization, training mode, forward + backward in one call: the
// baselines ctgrad's derived evaluation is timed against (issue 6). Portable C++ (no
// intrinsics, except in the information-only fused2_block8_stream); loops run over the contiguous feature axis with per-feature accumulator arrays
// so that the compiler vectorizes them, and the summing passes take rows in blocks of four so
// that each accumulator is loaded and stored once per four rows.
//
// x and dy are m x n row-major (m = batch, n = features, features contiguous); gamma, beta,
// dgamma and dbeta have n entries. Formulas (biased variance, eps inside the square root):
//
//   mu = mean_i x,  var = mean_i (x - mu)^2,  r = 1 / sqrt(var + eps),  xhat = (x - mu) r
//   y = gamma xhat + beta
//   dbeta = sum_i dy,  dgamma = sum_i dy xhat
//   dx = (gamma r / m) (m dy - dbeta - xhat dgamma)
//      = A dy + B (x - mu) + C   with A = gamma r, B = -A r dgamma / m, C = -A dbeta / m
//
// Variants (all write y, dx, dgamma, dbeta; none allocates once its workspace is sized):
//   naive_f64   textbook: one pass per formula, xhat and dxhat stored, double accumulation
//   fused4<double>  pass 1 mean, pass 2 variance (two-pass, robust), pass 3 y + sum dy +
//                   sum dy xhat, pass 4 dx: x read 4 times, dy twice. Double accumulation,
//                   double per-element arithmetic (ctgrad's contract for float data).
//   fused2_f64  pass 1 all four per-feature sums around a shift (the feature's first row:
//               sums of d = x - s, d^2, dy, dy d; the variance is then
//               (sum d^2 - (sum d)^2 / m) / m, which in double loses nothing that matters for
//               float data whatever the offset), pass 2 y and dx: x and dy read twice each
//   fused2_mixed  fused2_f64's pass 1; pass 2 in float, with x - mu formed from mu split into
//                 two floats (double sums, float elementwise arithmetic: still within a few
//                 float ulps of each output's scale)
//   fused4<float>   fused4 accumulating and computing in float: for information only, it
//                   does not meet the accuracy contract (large offsets break it)
//   fused2_block8_stream  for information only (the bandwidth target of issue 6): pass 1 sums
//                   blocks of 8 rows in float before accumulating in double, pass 2 is
//                   fused2_mixed's with x86 streaming stores (AVX; portable fallback)
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#if defined(__clang__)
#define CTGRAD_BENCH_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define CTGRAD_BENCH_IVDEP _Pragma("GCC ivdep")
#else
#define CTGRAD_BENCH_IVDEP
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CTGRAD_BENCH_RESTRICT __restrict__
#else
#define CTGRAD_BENCH_RESTRICT
#endif

namespace bn_baseline {

/// One batch-norm problem: inputs and caller-owned outputs.
struct args {
  const float* x;
  const float* gamma;
  const float* beta;
  const float* dy;
  float eps;
  float* y;
  float* dx;
  float* dgamma;
  float* dbeta;
  std::size_t m, n;
};

/// Scratch sized once per problem (per-feature arrays; the naive variant's m x n temporaries).
struct workspace {
  std::vector<double> d0, d1, d2, d3, d4, d5, d6;
  std::vector<float> f0, f1, f2, f3, f4, f5, f6;
  std::vector<double> xhat, dxhat;

  workspace(std::size_t m, std::size_t n, bool naive)
      : d0(n), d1(n), d2(n), d3(n), d4(n), d5(n), d6(n), f0(n), f1(n), f2(n), f3(n), f4(n), f5(n), f6(n) {
    if (naive) {
      xhat.resize(m * n);
      dxhat.resize(m * n);
    }
  }
  template <class T>
  T* scratch(int k) {
    if constexpr (std::is_same_v<T, double>) {
      std::vector<double>* v[] = {&d0, &d1, &d2, &d3, &d4, &d5, &d6};
      return v[k]->data();
    } else {
      std::vector<float>* v[] = {&f0, &f1, &f2, &f3, &f4, &f5, &f6};
      return v[k]->data();
    }
  }
};

// ------------------------------------------------------------------------------------------
// (i) textbook: one pass per formula
// ------------------------------------------------------------------------------------------
inline void naive_f64(const args& a, workspace& w) {
  const std::size_t m = a.m, n = a.n;
  const double md = static_cast<double>(m);
  double* mu = w.d0.data();
  double* var = w.d1.data();
  double* sum_dxhat = w.d2.data();
  double* sum_dxhat_xhat = w.d3.data();
  double* dgamma = w.d4.data();
  double* dbeta = w.d5.data();
  double* inv_std = w.d6.data();
  double* xhat = w.xhat.data();
  double* dxhat = w.dxhat.data();

  std::fill_n(mu, n, 0.0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t k = 0; k < n; ++k) mu[k] += a.x[i * n + k];
  for (std::size_t k = 0; k < n; ++k) mu[k] /= md;

  std::fill_n(var, n, 0.0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t k = 0; k < n; ++k) {
      const double d = a.x[i * n + k] - mu[k];
      var[k] += d * d;
    }
  for (std::size_t k = 0; k < n; ++k) inv_std[k] = 1.0 / std::sqrt(var[k] / md + double(a.eps));

  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t k = 0; k < n; ++k) xhat[i * n + k] = (a.x[i * n + k] - mu[k]) * inv_std[k];

  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t k = 0; k < n; ++k)
      a.y[i * n + k] = static_cast<float>(a.gamma[k] * xhat[i * n + k] + a.beta[k]);

  std::fill_n(dbeta, n, 0.0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t k = 0; k < n; ++k) dbeta[k] += a.dy[i * n + k];

  std::fill_n(dgamma, n, 0.0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t k = 0; k < n; ++k) dgamma[k] += a.dy[i * n + k] * xhat[i * n + k];

  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t k = 0; k < n; ++k) dxhat[i * n + k] = double(a.dy[i * n + k]) * a.gamma[k];

  std::fill_n(sum_dxhat, n, 0.0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t k = 0; k < n; ++k) sum_dxhat[k] += dxhat[i * n + k];

  std::fill_n(sum_dxhat_xhat, n, 0.0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t k = 0; k < n; ++k) sum_dxhat_xhat[k] += dxhat[i * n + k] * xhat[i * n + k];

  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t k = 0; k < n; ++k)
      a.dx[i * n + k] = static_cast<float>(inv_std[k] / md *
                                           (md * dxhat[i * n + k] - sum_dxhat[k] - xhat[i * n + k] * sum_dxhat_xhat[k]));

  for (std::size_t k = 0; k < n; ++k) {
    a.dgamma[k] = static_cast<float>(dgamma[k]);
    a.dbeta[k] = static_cast<float>(dbeta[k]);
  }
}

// ------------------------------------------------------------------------------------------
// (ii), (iii) four fused passes; Acc = double (contract) or float (information)
// ------------------------------------------------------------------------------------------
template <class Acc>
void fused4(const args& a, workspace& w) {
  const std::size_t m = a.m, n = a.n;
  const Acc md = static_cast<Acc>(m);
  Acc* CTGRAD_BENCH_RESTRICT mu = w.scratch<Acc>(0);
  Acc* CTGRAD_BENCH_RESTRICT var = w.scratch<Acc>(1);
  Acc* CTGRAD_BENCH_RESTRICT sdy = w.scratch<Acc>(2);
  Acc* CTGRAD_BENCH_RESTRICT sdyxh = w.scratch<Acc>(3);
  Acc* CTGRAD_BENCH_RESTRICT r = w.scratch<Acc>(4);
  Acc* CTGRAD_BENCH_RESTRICT g = w.scratch<Acc>(5);
  Acc* CTGRAD_BENCH_RESTRICT b = w.scratch<Acc>(6);
  const float* CTGRAD_BENCH_RESTRICT x = a.x;
  const float* CTGRAD_BENCH_RESTRICT dy = a.dy;
  float* CTGRAD_BENCH_RESTRICT y = a.y;
  float* CTGRAD_BENCH_RESTRICT dx = a.dx;
  const std::size_t m4 = m - m % 4;

  // pass 1: mean
  std::fill_n(mu, n, Acc(0));
  for (std::size_t i = 0; i < m4; i += 4) {
    const float *x0 = x + i * n, *x1 = x0 + n, *x2 = x1 + n, *x3 = x2 + n;
    CTGRAD_BENCH_IVDEP
    for (std::size_t k = 0; k < n; ++k) mu[k] += (Acc(x0[k]) + Acc(x1[k])) + (Acc(x2[k]) + Acc(x3[k]));
  }
  for (std::size_t i = m4; i < m; ++i) {
    CTGRAD_BENCH_IVDEP
    for (std::size_t k = 0; k < n; ++k) mu[k] += Acc(x[i * n + k]);
  }
  for (std::size_t k = 0; k < n; ++k) mu[k] /= md;

  // pass 2: variance around the mean
  std::fill_n(var, n, Acc(0));
  for (std::size_t i = 0; i < m4; i += 4) {
    const float *x0 = x + i * n, *x1 = x0 + n, *x2 = x1 + n, *x3 = x2 + n;
    CTGRAD_BENCH_IVDEP
    for (std::size_t k = 0; k < n; ++k) {
      const Acc d0 = Acc(x0[k]) - mu[k], d1 = Acc(x1[k]) - mu[k], d2 = Acc(x2[k]) - mu[k], d3 = Acc(x3[k]) - mu[k];
      var[k] += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3);
    }
  }
  for (std::size_t i = m4; i < m; ++i) {
    CTGRAD_BENCH_IVDEP
    for (std::size_t k = 0; k < n; ++k) {
      const Acc d = Acc(x[i * n + k]) - mu[k];
      var[k] += d * d;
    }
  }
  for (std::size_t k = 0; k < n; ++k) {
    r[k] = Acc(1) / std::sqrt(var[k] / md + Acc(a.eps));
    g[k] = a.gamma[k];
    b[k] = a.beta[k];
  }

  // pass 3: y, sum dy, sum dy xhat
  std::fill_n(sdy, n, Acc(0));
  std::fill_n(sdyxh, n, Acc(0));
  auto pass3_row = [&](std::size_t i) {
    CTGRAD_BENCH_IVDEP
    for (std::size_t k = 0; k < n; ++k) {
      const Acc xh = (Acc(x[i * n + k]) - mu[k]) * r[k];
      const Acc d = dy[i * n + k];
      y[i * n + k] = static_cast<float>(xh * g[k] + b[k]);
      sdy[k] += d;
      sdyxh[k] += d * xh;
    }
  };
  for (std::size_t i = 0; i < m4; i += 4) {
    const float *x0 = x + i * n, *x1 = x0 + n, *x2 = x1 + n, *x3 = x2 + n;
    const float *e0 = dy + i * n, *e1 = e0 + n, *e2 = e1 + n, *e3 = e2 + n;
    float *y0 = y + i * n, *y1 = y0 + n, *y2 = y1 + n, *y3 = y2 + n;
    CTGRAD_BENCH_IVDEP
    for (std::size_t k = 0; k < n; ++k) {
      const Acc h0 = (Acc(x0[k]) - mu[k]) * r[k], h1 = (Acc(x1[k]) - mu[k]) * r[k];
      const Acc h2 = (Acc(x2[k]) - mu[k]) * r[k], h3 = (Acc(x3[k]) - mu[k]) * r[k];
      y0[k] = static_cast<float>(h0 * g[k] + b[k]);
      y1[k] = static_cast<float>(h1 * g[k] + b[k]);
      y2[k] = static_cast<float>(h2 * g[k] + b[k]);
      y3[k] = static_cast<float>(h3 * g[k] + b[k]);
      sdy[k] += (Acc(e0[k]) + Acc(e1[k])) + (Acc(e2[k]) + Acc(e3[k]));
      sdyxh[k] += (Acc(e0[k]) * h0 + Acc(e1[k]) * h1) + (Acc(e2[k]) * h2 + Acc(e3[k]) * h3);
    }
  }
  for (std::size_t i = m4; i < m; ++i) pass3_row(i);

  // dx = A dy + B (x - mu) + C; reuse var for A, g for B, b for C
  for (std::size_t k = 0; k < n; ++k) {
    a.dbeta[k] = static_cast<float>(sdy[k]);
    a.dgamma[k] = static_cast<float>(sdyxh[k]);
    const Acc A = Acc(a.gamma[k]) * r[k];
    var[k] = A;
    g[k] = -A * r[k] * sdyxh[k] / md;
    b[k] = -A * sdy[k] / md;
  }
  const Acc* CTGRAD_BENCH_RESTRICT A = var;
  const Acc* CTGRAD_BENCH_RESTRICT B = g;
  const Acc* CTGRAD_BENCH_RESTRICT C = b;

  // pass 4: dx
  for (std::size_t i = 0; i < m; ++i) {
    CTGRAD_BENCH_IVDEP
    for (std::size_t k = 0; k < n; ++k)
      dx[i * n + k] = static_cast<float>(A[k] * Acc(dy[i * n + k]) + B[k] * (Acc(x[i * n + k]) - mu[k]) + C[k]);
  }
}

// ------------------------------------------------------------------------------------------
// (iv) two passes: shifted sums, then y and dx
// ------------------------------------------------------------------------------------------
/// Pass 1 of the two-pass baselines: the per-feature sums of d = x - x[0, :], d^2, dy and
/// dy * d, in double, four rows per accumulator load and store.
/// The summing passes' last rows (from row `from` on), one at a time, in double.
inline void remaining_sums(const args& a, std::size_t from, const double* CTGRAD_BENCH_RESTRICT s,
                           double* CTGRAD_BENCH_RESTRICT sd, double* CTGRAD_BENCH_RESTRICT sdd,
                           double* CTGRAD_BENCH_RESTRICT sdy, double* CTGRAD_BENCH_RESTRICT sdyd) {
  const std::size_t n = a.n;
  for (std::size_t i = from; i < a.m; ++i) {
    CTGRAD_BENCH_IVDEP
    for (std::size_t k = 0; k < n; ++k) {
      const double d = double(a.x[i * n + k]) - s[k], f = a.dy[i * n + k];
      sd[k] += d;
      sdd[k] += d * d;
      sdy[k] += f;
      sdyd[k] += f * d;
    }
  }
}

inline void shifted_sums(const args& a, double* CTGRAD_BENCH_RESTRICT s, double* CTGRAD_BENCH_RESTRICT sd,
                         double* CTGRAD_BENCH_RESTRICT sdd, double* CTGRAD_BENCH_RESTRICT sdy,
                         double* CTGRAD_BENCH_RESTRICT sdyd) {
  using Acc = double;
  const std::size_t m = a.m, n = a.n, m4 = m - m % 4;
  const float* CTGRAD_BENCH_RESTRICT x = a.x;
  const float* CTGRAD_BENCH_RESTRICT dy = a.dy;
  for (std::size_t k = 0; k < n; ++k) {
    s[k] = x[k];
    sd[k] = sdd[k] = sdy[k] = sdyd[k] = 0;
  }
  for (std::size_t i = 0; i < m4; i += 4) {
    const float *x0 = x + i * n, *x1 = x0 + n, *x2 = x1 + n, *x3 = x2 + n;
    const float *e0 = dy + i * n, *e1 = e0 + n, *e2 = e1 + n, *e3 = e2 + n;
    CTGRAD_BENCH_IVDEP
    for (std::size_t k = 0; k < n; ++k) {
      const Acc d0 = Acc(x0[k]) - s[k], d1 = Acc(x1[k]) - s[k], d2 = Acc(x2[k]) - s[k], d3 = Acc(x3[k]) - s[k];
      const Acc f0 = e0[k], f1 = e1[k], f2 = e2[k], f3 = e3[k];
      sd[k] += (d0 + d1) + (d2 + d3);
      sdd[k] += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3);
      sdy[k] += (f0 + f1) + (f2 + f3);
      sdyd[k] += (f0 * d0 + f1 * d1) + (f2 * d2 + f3 * d3);
    }
  }
  remaining_sums(a, m4, s, sd, sdd, sdy, sdyd);
}

inline void fused2_f64(const args& a, workspace& w) {
  using Acc = double;
  const std::size_t m = a.m, n = a.n;
  const Acc md = static_cast<Acc>(m);
  Acc* CTGRAD_BENCH_RESTRICT s = w.d0.data();     // shift, then mu
  Acc* CTGRAD_BENCH_RESTRICT sd = w.d1.data();    // sum d, then A
  Acc* CTGRAD_BENCH_RESTRICT sdd = w.d2.data();   // sum d^2, then B
  Acc* CTGRAD_BENCH_RESTRICT sdy = w.d3.data();   // sum dy, then C
  Acc* CTGRAD_BENCH_RESTRICT sdyd = w.d4.data();  // sum dy d
  Acc* CTGRAD_BENCH_RESTRICT ga = w.d5.data();    // gamma r
  Acc* CTGRAD_BENCH_RESTRICT be = w.d6.data();    // beta
  const float* CTGRAD_BENCH_RESTRICT x = a.x;
  const float* CTGRAD_BENCH_RESTRICT dy = a.dy;
  float* CTGRAD_BENCH_RESTRICT y = a.y;
  float* CTGRAD_BENCH_RESTRICT dx = a.dx;
  if (m == 0) return;

  // pass 1: sums around the first row
  shifted_sums(a, s, sd, sdd, sdy, sdyd);
  for (std::size_t k = 0; k < n; ++k) {
    const Acc dmu = sd[k] / md;                                  // mu - s
    const Acc var = std::max(Acc(0), (sdd[k] - sd[k] * dmu) / md);
    const Acc r = 1.0 / std::sqrt(var + Acc(a.eps));
    const Acc dgamma = r * (sdyd[k] - dmu * sdy[k]);             // sum dy (x - mu) r
    const Acc dbeta = sdy[k];
    a.dgamma[k] = static_cast<float>(dgamma);
    a.dbeta[k] = static_cast<float>(dbeta);
    const Acc A = Acc(a.gamma[k]) * r;
    s[k] += dmu;
    ga[k] = A;
    be[k] = a.beta[k];
    sd[k] = A;
    sdd[k] = -A * r * dgamma / md;
    sdy[k] = -A * dbeta / md;
  }
  const Acc* CTGRAD_BENCH_RESTRICT mu = s;
  const Acc* CTGRAD_BENCH_RESTRICT A = sd;
  const Acc* CTGRAD_BENCH_RESTRICT B = sdd;
  const Acc* CTGRAD_BENCH_RESTRICT C = sdy;

  // pass 2: y and dx
  for (std::size_t i = 0; i < m; ++i) {
    CTGRAD_BENCH_IVDEP
    for (std::size_t k = 0; k < n; ++k) {
      const Acc d = Acc(x[i * n + k]) - mu[k], f = dy[i * n + k];
      y[i * n + k] = static_cast<float>(d * ga[k] + be[k]);
      dx[i * n + k] = static_cast<float>(A[k] * f + B[k] * d + C[k]);
    }
  }
}

// ------------------------------------------------------------------------------------------
// (v) two passes, double sums, float elementwise arithmetic
// ------------------------------------------------------------------------------------------

/// Pass 1 as in fused2_f64: the four per-feature sums around the first row, exact terms (a
/// difference of floats and a product of floats are exact in double), double accumulation.
/// Pass 2 in float: the deviation x - mu is formed as (x - mu_hi) - mu_lo with mu = mu_hi +
/// mu_lo split into two floats, so it is accurate to a float rounding of itself even when
/// |mu| >> std; y and dx are then a few float operations on O(1)-scaled quantities, each
/// within a few float ulps of its own scale, which is all a float output can hold.
/// fused2_mixed's step between the passes: dgamma and dbeta, and the float coefficients of the
/// output pass (mu split into two floats, gamma r, beta, A, B, C) in w.f0 .. w.f6.
inline void mixed_coefficients(const args& a, workspace& w) {
  using Acc = double;
  const Acc md = static_cast<Acc>(a.m);
  const Acc *s = w.d0.data(), *sd = w.d1.data(), *sdd = w.d2.data(), *sdy = w.d3.data(), *sdyd = w.d4.data();
  for (std::size_t k = 0; k < a.n; ++k) {
    const Acc dmu = sd[k] / md;
    const Acc var = std::max(Acc(0), (sdd[k] - sd[k] * dmu) / md);
    const Acc r = 1.0 / std::sqrt(var + Acc(a.eps));
    const Acc dgamma = r * (sdyd[k] - dmu * sdy[k]);
    const Acc dbeta = sdy[k];
    a.dgamma[k] = static_cast<float>(dgamma);
    a.dbeta[k] = static_cast<float>(dbeta);
    const Acc mu = s[k] + dmu;
    const Acc Ad = Acc(a.gamma[k]) * r;
    w.f0[k] = static_cast<float>(mu);
    w.f1[k] = static_cast<float>(mu - Acc(w.f0[k]));
    w.f2[k] = static_cast<float>(Ad);
    w.f3[k] = a.beta[k];
    w.f4[k] = static_cast<float>(Ad);
    w.f5[k] = static_cast<float>(-Ad * r * dgamma / md);
    w.f6[k] = static_cast<float>(-Ad * dbeta / md);
  }
}

/// fused2_mixed's output pass, one row at a time: blocking rows here (as pass 1 does) saves
/// coefficient loads in cache but doubles the streams in flight, which costs far more once the
/// data are in memory.
inline void mixed_outputs(const args& a, const workspace& w) {
  const std::size_t m = a.m, n = a.n;
  const float* CTGRAD_BENCH_RESTRICT mh = w.f0.data();
  const float* CTGRAD_BENCH_RESTRICT ml = w.f1.data();
  const float* CTGRAD_BENCH_RESTRICT ga = w.f2.data();
  const float* CTGRAD_BENCH_RESTRICT be = w.f3.data();
  const float* CTGRAD_BENCH_RESTRICT A = w.f4.data();
  const float* CTGRAD_BENCH_RESTRICT B = w.f5.data();
  const float* CTGRAD_BENCH_RESTRICT C = w.f6.data();
  const float* CTGRAD_BENCH_RESTRICT x = a.x;
  const float* CTGRAD_BENCH_RESTRICT dy = a.dy;
  float* CTGRAD_BENCH_RESTRICT y = a.y;
  float* CTGRAD_BENCH_RESTRICT dx = a.dx;
  for (std::size_t i = 0; i < m; ++i) {
    CTGRAD_BENCH_IVDEP
    for (std::size_t k = 0; k < n; ++k) {
      const float d = (x[i * n + k] - mh[k]) - ml[k];
      y[i * n + k] = d * ga[k] + be[k];
      dx[i * n + k] = A[k] * dy[i * n + k] + B[k] * d + C[k];
    }
  }
}

inline void fused2_mixed(const args& a, workspace& w) {
  if (a.m == 0) return;
  shifted_sums(a, w.d0.data(), w.d1.data(), w.d2.data(), w.d3.data(), w.d4.data());
  mixed_coefficients(a, w);
  mixed_outputs(a, w);
}

// ------------------------------------------------------------------------------------------
// (vi) information only: how close two passes get to memcpy on this machine
// ------------------------------------------------------------------------------------------

/// The sums of shifted_sums with each block of 8 rows summed in float (in registers, one
/// accumulator load and store per 8 rows) and the block sums accumulated in double.
inline void block8_sums(const args& a, double* CTGRAD_BENCH_RESTRICT s, double* CTGRAD_BENCH_RESTRICT sd,
                        double* CTGRAD_BENCH_RESTRICT sdd, double* CTGRAD_BENCH_RESTRICT sdy,
                        double* CTGRAD_BENCH_RESTRICT sdyd, float* CTGRAD_BENCH_RESTRICT shift) {
  constexpr std::size_t R = 8;
  const std::size_t m = a.m, n = a.n, mR = m - m % R;
  const float* CTGRAD_BENCH_RESTRICT x = a.x;
  const float* CTGRAD_BENCH_RESTRICT dy = a.dy;
  for (std::size_t k = 0; k < n; ++k) {
    s[k] = x[k];
    shift[k] = x[k];
    sd[k] = sdd[k] = sdy[k] = sdyd[k] = 0;
  }
  for (std::size_t i = 0; i < mR; i += R) {
    CTGRAD_BENCH_IVDEP
    for (std::size_t k = 0; k < n; ++k) {
      float a1 = 0, a2 = 0, a3 = 0, a4 = 0;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 8
#endif
      for (std::size_t r = 0; r < R; ++r) {
        const float d = x[(i + r) * n + k] - shift[k], f = dy[(i + r) * n + k];
        a1 += d;
        a2 += d * d;
        a3 += f;
        a4 += f * d;
      }
      sd[k] += a1;
      sdd[k] += a2;
      sdy[k] += a3;
      sdyd[k] += a4;
    }
  }
  remaining_sums(a, mR, s, sd, sdd, sdy, sdyd);
}

/// mixed_outputs with streaming (non-temporal) stores, which write y and dx without reading
/// their cache lines first, as memcpy does for large copies: x86 with AVX, rows 16-byte aligned
/// and n a multiple of 8; otherwise mixed_outputs.
inline void streaming_outputs(const args& a, const workspace& w) {
#if defined(__AVX__)
  const std::size_t m = a.m, n = a.n;
  const bool aligned = n % 8 == 0 && reinterpret_cast<std::uintptr_t>(a.y) % 16 == 0 &&
                       reinterpret_cast<std::uintptr_t>(a.dx) % 16 == 0;
  if (aligned) {
    // The seven coefficient vectors interleaved in groups of 8 features: one stream in pass 2
    // rather than seven.
    static thread_local std::vector<float> packed;
    packed.resize(7 * n);
    const std::vector<float>* coef[] = {&w.f0, &w.f1, &w.f2, &w.f3, &w.f4, &w.f5, &w.f6};
    for (std::size_t k = 0; k < n; k += 8)
      for (std::size_t c = 0; c < 7; ++c)
        for (std::size_t l = 0; l < 8; ++l) packed[7 * k + 8 * c + l] = (*coef[c])[k + l];
    const auto stream = [](float* p, __m256 v) {  // two 16-byte streaming stores
      _mm_stream_ps(p, _mm256_castps256_ps128(v));
      _mm_stream_ps(p + 4, _mm256_extractf128_ps(v, 1));
    };
    for (std::size_t i = 0; i < m; ++i) {
      const float* xr = a.x + i * n;
      const float* er = a.dy + i * n;
      float* yr = a.y + i * n;
      float* dr = a.dx + i * n;
      for (std::size_t k = 0; k < n; k += 8) {
        const float* q = packed.data() + 7 * k;  // mu (high, low), gamma r, beta, A, B, C
        const __m256 d = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + k), _mm256_loadu_ps(q)), _mm256_loadu_ps(q + 8));
        const __m256 yv = _mm256_add_ps(_mm256_mul_ps(d, _mm256_loadu_ps(q + 16)), _mm256_loadu_ps(q + 24));
        const __m256 dv = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(q + 32), _mm256_loadu_ps(er + k)),
                                                      _mm256_mul_ps(_mm256_loadu_ps(q + 40), d)),
                                        _mm256_loadu_ps(q + 48));
        stream(yr + k, yv);
        stream(dr + k, dv);
      }
    }
    _mm_sfence();
    return;
  }
#endif
  mixed_outputs(a, w);
}

/// Two passes with what double accumulation and portable code rule out: pass 1 sums blocks of
/// 8 rows in float (block8_sums), pass 2 writes with streaming stores. Information only: not
/// ctgrad's accuracy design (sums in double), and x86-specific.
inline void fused2_block8_stream(const args& a, workspace& w) {
  if (a.m == 0) return;
  block8_sums(a, w.d0.data(), w.d1.data(), w.d2.data(), w.d3.data(), w.d4.data(), w.f0.data());
  mixed_coefficients(a, w);
  streaming_outputs(a, w);
}

}  // namespace bn_baseline
