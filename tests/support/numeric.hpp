#pragma once
// Test helpers: random data and error measures.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

namespace ctgrad_test {

template <class T = double>
std::vector<T> random_vector(std::size_t count, unsigned seed, double lo = -2.0, double hi = 2.0) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<T> v(count);
  for (auto& e : v) e = static_cast<T>(d(gen));
  return v;
}

/// Norm-wise relative error max|a - b| / max|b| (b is the reference). Elementwise relative error
/// is meaningless for gradients such as dx whose entries cancel to near zero.
template <class A, class B>
double relative_error(const A& a, const B& b) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  if (a.size() != b.size()) return INFINITY;
  return scale > 0 ? diff / scale : diff;
}

/// max|a - b| / max(scale): the error relative to the magnitude of the terms that were summed.
template <class A, class B, class S>
double relative_error(const A& a, const B& b, const S& scale) {
  if (a.size() != b.size() || b.size() != scale.size()) return INFINITY;
  double diff = 0, s = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
    s = std::max(s, std::abs(double(scale[i])));
  }
  return s > 0 ? diff / s : diff;
}

}  // namespace ctgrad_test
