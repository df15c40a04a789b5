#pragma once
// ctgrad/eval/bind.hpp: values for named inputs.
//
//   auto x = ctgrad::input<"x", 2>;  auto eps = ctgrad::input<"eps", 0>;
//   ctgrad::bind(x, ctgrad::view<const double, 2>(ptr, {m, n}))   // caller-owned memory
//   ctgrad::bind(eps, 1e-5)                                        // a rank-0 value
//   ctgrad::bind<"x">(some_view)                                   // by name
#include <type_traits>

#include "ctgrad/core/diagnostics.hpp"
#include "ctgrad/eval/tensor.hpp"
#include "ctgrad/expr/node.hpp"

namespace ctgrad {

/// The value of input `Name`: a view of caller-owned memory, or for rank 0 a copied scalar.
template <fixed_string Name, class T, std::size_t R>
struct binding {
  static_assert(std::is_floating_point_v<T>, "ctgrad::bind(): values must be float or double");
  static constexpr auto name = Name;
  static constexpr std::size_t rank = R;
  using value_type = T;

  view<const T, R> values;
  T scalar{};  // storage for a rank-0 value bound by value
};

template <class B>
struct is_binding : std::false_type {};
template <fixed_string N, class T, std::size_t R>
struct is_binding<binding<N, T, R>> : std::true_type {};

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

/// Binds a rank-0 input (eps, a learning rate, ...) to a value.
template <fixed_string Name, class T>
  requires std::is_floating_point_v<T>
constexpr auto bind(input_node<Name, 0>, T value) {
  return binding<Name, T, 0>{{}, value};
}

}  // namespace ctgrad
