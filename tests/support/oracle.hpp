#pragma once
// Comparisons for the value oracles: a value ctgrad computed against one computed without ctgrad
// (<cmath>, plain loops), element by element, with NaN and infinities compared exactly.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace ctgrad_test {

/// Distance in units in the last place between two finite values of T (0 for equal values,
/// +0 and -0 included): the count of representable values between them.
template <class T>
std::uint64_t ulp_distance(T a, T b) {
  using I = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
  const auto ordered = [](T v) {
    I i;
    std::memcpy(&i, &v, sizeof v);
    // sign-magnitude to a monotone integer line: negatives are mirrored below zero
    return i < 0 ? static_cast<std::int64_t>(std::numeric_limits<I>::min()) - static_cast<std::int64_t>(i)
                 : static_cast<std::int64_t>(i);
  };
  const std::int64_t d = ordered(a) - ordered(b);
  return static_cast<std::uint64_t>(d < 0 ? -d : d);
}

/// True when `got` is `want` up to `ulps` units in the last place; a NaN matches only a NaN, an
/// infinity only the same infinity.
template <class T>
bool close_ulps(T got, T want, std::uint64_t ulps) {
  if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got);
  if (std::isinf(want) || std::isinf(got)) return got == want;
  return ulp_distance(got, want) <= ulps;
}

/// The first index where `got` and `want` differ by more than `ulps` (got.size() when none), and
/// a description of it for the failure message.
template <class T, class U>
std::string first_mismatch(const std::vector<T>& got, const std::vector<U>& want, std::uint64_t ulps,
                           const std::vector<T>* args = nullptr) {
  if (got.size() != want.size()) return "sizes differ: " + std::to_string(got.size()) + " vs " + std::to_string(want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (close_ulps(got[i], static_cast<T>(want[i]), ulps)) continue;
    std::ostringstream s;
    s.precision(std::numeric_limits<T>::max_digits10);
    s << "element " << i;
    if (args) s << " (argument " << (*args)[i] << ")";
    s << ": ctgrad " << got[i] << ", reference " << static_cast<T>(want[i]);
    return s.str();
  }
  return {};
}

/// The values the elementwise oracles run every function on: ordinary points and the edges
/// (zeros of both signs, negatives, tiny and large magnitudes, infinities, NaN).
template <class T>
std::vector<T> edge_values() {
  const T inf = std::numeric_limits<T>::infinity();
  return {T(-3.5), T(-1),  T(-0.25), T(-0.0), T(0),    T(0.5),  T(1),      T(1.75),
          T(2),    T(10),  T(30),    T(-30),  T(1e-6), T(1e-30), T(1e30),  std::numeric_limits<T>::min(),
          inf,     -inf,   std::numeric_limits<T>::quiet_NaN(),    T(0.1),  T(-7.25), T(100),   T(-100),   T(3)};
}

}  // namespace ctgrad_test
