#pragma once
// ctgrad/core/rational.hpp: exact compile-time rational numbers, the values of constant nodes.
//
//   constexpr ctgrad::rational half{1, 2};
//   static_assert(half * ctgrad::rational{4} == ctgrad::rational{2});
#include <cstdint>
#include <numeric>

namespace ctgrad {

/// An exact fraction num/den kept in lowest terms with den > 0. Structural, so it can be a
/// template argument: `constant<rational{1, 2}>` is the node for 1/2.
struct rational {
  std::int64_t num = 0;
  std::int64_t den = 1;

  constexpr rational() = default;
  constexpr rational(std::int64_t n, std::int64_t d = 1) : num(n), den(d) {  // NOLINT
    if (den < 0) { num = -num; den = -den; }
    const std::int64_t g = std::gcd(num < 0 ? -num : num, den);
    if (g > 1) { num /= g; den /= g; }
  }
  friend constexpr bool operator==(rational, rational) = default;
  friend constexpr rational operator+(rational a, rational b) { return {a.num * b.den + b.num * a.den, a.den * b.den}; }
  friend constexpr rational operator-(rational a, rational b) { return {a.num * b.den - b.num * a.den, a.den * b.den}; }
  friend constexpr rational operator*(rational a, rational b) { return {a.num * b.num, a.den * b.den}; }
  friend constexpr rational operator/(rational a, rational b) { return {a.num * b.den, a.den * b.num}; }
  friend constexpr rational operator-(rational a) { return {-a.num, a.den}; }
  // dens are positive: compare the cross products
  friend constexpr bool operator<(rational a, rational b) { return a.num * b.den < b.num * a.den; }

  template <class T>
  [[nodiscard]] constexpr T as() const { return static_cast<T>(num) / static_cast<T>(den); }
};

}  // namespace ctgrad
