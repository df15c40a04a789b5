#pragma once
// ctgrad/eval/bind.hpp: values for named inputs.
//
//   auto x = ctgrad::input<"x", 2>;  auto eps = ctgrad::input<"eps", 0>;
//   ctgrad::bind(x, ctgrad::view<const double, 2>(ptr, {m, n}))   // caller-owned memory
//   ctgrad::bind(eps, 1e-5)                                        // a rank-0 value
//   ctgrad::bind<"x">(some_view)                                   // by name
//   ctgrad::bind(x, values, {m, n})   // any contiguous range: std::vector, std::span, std::array,
//                                     // a C array; the rank is the input's
#include <array>
#include <cstddef>
#include <ranges>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ctgrad/core/diagnostics.hpp"
#include "ctgrad/eval/tensor.hpp"
#include "ctgrad/expr/node.hpp"

namespace ctgrad {

/// Thrown when bound extents do not fit together; the message names inputs, axes and extents.
struct shape_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

/// The value of input `Name`: a view of caller-owned memory, or for rank 0 a copied scalar.
/// MayBeUnused (see allow_unused): the evaluated expressions need not use it.
template <fixed_string Name, class T, std::size_t R, bool MayBeUnused = false>
struct binding {
  static_assert(std::is_floating_point_v<T>, "ctgrad::bind(): values must be float or double");
  static constexpr auto name = Name;
  static constexpr std::size_t rank = R;
  static constexpr bool may_be_unused = MayBeUnused;
  using value_type = T;

  view<const T, R> values;
  T scalar{};  // storage for a rank-0 value bound by value
};

template <class B>
struct is_binding : std::false_type {};
template <fixed_string N, class T, std::size_t R, bool U>
struct is_binding<binding<N, T, R, U>> : std::true_type {};

/// A binding that the evaluated expressions need not use. A binding no expression uses is a
/// compile error (a misspelled or left-over name); code that evaluates several expression lists
/// with one set of bindings, such as ctgrad::gradcheck, marks them with this.
///
///   ctgrad::evaluate(dbeta, ctgrad::bind(dy, dys, {m, n}), ctgrad::allow_unused(ctgrad::bind(x, xs, {m, n})));
template <fixed_string N, class T, std::size_t R, bool U>
constexpr binding<N, T, R, true> allow_unused(const binding<N, T, R, U>& b) {
  return {b.values, b.scalar};
}

/// Binds input `Name` to a view (by name).
template <fixed_string Name, class T, std::size_t R>
constexpr auto bind(view<T, R> v) {
  using U = std::remove_const_t<T>;
  return binding<Name, U, R>{view<const U, R>(v.data, v.extents)};
}

/// Binds an input to a view; the view's rank must be the input's.
template <fixed_string Name, std::size_t Rank, class T, std::size_t R>
constexpr auto bind(input_node<Name, Rank>, view<T, R> v) {
  if constexpr (R != Rank) {
    detail::raise<input_is_bound_to_a_tensor_of_another_rank, Name>();
    return binding<Name, std::remove_const_t<T>, Rank>{};
  } else {
    return bind<Name>(v);
  }
}

/// Binds an input to an owned tensor (which must outlive the evaluation).
template <fixed_string Name, std::size_t Rank, class T, std::size_t R>
constexpr auto bind(input_node<Name, Rank> in, const tensor<T, R>& t) {
  return bind(in, t.as_view());
}

/// Binds an input to the values of a contiguous range (std::vector, std::span, std::array, a C
/// array, ...) read as a row-major tensor with the given extents, one per axis of the input:
///
///   std::vector<double> xs(m * n);
///   ctgrad::bind(x, xs, {m, n})          // x = ctgrad::input<"x", 2>
///
/// The range is viewed, not copied: it must outlive the evaluation (a temporary vector does not
/// compile). Throws shape_error, naming the input and the extents, when the range does not hold
/// exactly as many values as the extents need.
template <fixed_string Name, std::size_t Rank, class Range>
  requires std::ranges::contiguous_range<Range> && std::ranges::sized_range<Range> && std::ranges::borrowed_range<Range> &&
           std::is_floating_point_v<std::remove_cv_t<std::ranges::range_value_t<Range>>>
constexpr auto bind(input_node<Name, Rank>, Range&& values, std::array<std::size_t, Rank> extents) {
  using U = std::remove_cv_t<std::ranges::range_value_t<Range>>;
  std::size_t need = 1;
  for (std::size_t e : extents) need *= e;
  const auto have = static_cast<std::size_t>(std::ranges::size(values));
  if (have != need)
    throw shape_error(fmt::format("ctgrad::bind(): input '{}' is bound to {} values, but its extents [{}] hold {}",
                                  Name.view(), have, fmt::join(extents, ", "), need));
  return binding<Name, U, Rank>{view<const U, Rank>(std::ranges::data(values), extents)};
}

/// Binds a rank-0 input (eps, a learning rate, ...) to a value.
template <fixed_string Name, class T>
  requires std::is_floating_point_v<T>
constexpr auto bind(input_node<Name, 0>, T value) {
  return binding<Name, T, 0>{{}, value};
}

}  // namespace ctgrad
