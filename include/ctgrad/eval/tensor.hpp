#pragma once
// ctgrad/eval/tensor.hpp: owned tensors and non-owning views of contiguous row-major memory.
//
//   std::vector<double> buf(6);
//   ctgrad::view<const double, 2> v(buf.data(), {2, 3});   // reads the caller's memory
//   ctgrad::tensor<double, 2> t({2, 3});                     // owns 6 zeros
//   t(1, 2) = 4.0;
#include <array>
#include <cstddef>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace ctgrad {

/// A non-owning view of `R`-dimensional row-major memory. `T` may be const.
template <class T, std::size_t R>
struct view {
  static constexpr std::size_t rank = R;
  using element_type = T;
  T* data = nullptr;
  std::array<std::size_t, R> extents{};

  constexpr view() = default;
  constexpr view(T* d, std::array<std::size_t, R> e) : data(d), extents(e) {}
  /// A view of a non-const view's memory as const.
  template <class U>
    requires(std::is_same<const U, T>::value && !std::is_same<U, T>::value)
  constexpr view(view<U, R> v) : data(v.data), extents(v.extents) {}  // NOLINT: implicit

  [[nodiscard]] constexpr std::size_t size() const {
    std::size_t n = 1;
    for (auto e : extents) n *= e;
    return n;
  }
  template <class... I>
  constexpr T& operator()(I... i) const {
    static_assert(sizeof...(I) == R, "ctgrad: view(i...) needs one index per axis");
    std::size_t off = 0, k = 0;
    ((off = off * extents[k++] + static_cast<std::size_t>(i)), ...);
    return data[off];
  }
};

/// An owned `R`-dimensional row-major tensor, the result of an evaluation.
template <class T, std::size_t R>
struct tensor {
  std::array<std::size_t, R> extents{};
  std::vector<T> values;

  tensor() : values(R == 0 ? 1 : 0) {}
  explicit tensor(std::array<std::size_t, R> e) : extents(e), values(count(e)) {}
  tensor(std::array<std::size_t, R> e, std::vector<T> v) : extents(e), values(std::move(v)) {
    if (values.size() != count(e)) throw std::invalid_argument("ctgrad::tensor: value count does not match extents");
  }

  [[nodiscard]] std::size_t size() const { return values.size(); }
  [[nodiscard]] T* data() { return values.data(); }
  [[nodiscard]] const T* data() const { return values.data(); }
  [[nodiscard]] view<T, R> as_view() { return {values.data(), extents}; }
  [[nodiscard]] view<const T, R> as_view() const { return {values.data(), extents}; }

  template <class... I>
  T& operator()(I... i) { return as_view()(i...); }
  template <class... I>
  const T& operator()(I... i) const { return as_view()(i...); }

  static std::size_t count(const std::array<std::size_t, R>& e) {
    std::size_t n = 1;
    for (auto x : e) n *= x;
    return n;
  }
};

/// Owned values whose rank is known at run time only: what plan::interpret_values returns, one
/// per expression, for checks that compare values (doc::verify) without compiling a tuple of
/// tensor types. Row-major, as tensor.
template <class T>
struct dynamic_tensor {
  std::vector<std::size_t> extents;
  std::vector<T> values;

  [[nodiscard]] std::size_t size() const { return values.size(); }
};

}  // namespace ctgrad
