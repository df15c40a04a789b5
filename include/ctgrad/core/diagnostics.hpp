#pragma once
// ctgrad/core/diagnostics.hpp: compile-time errors that name the user's input.
//
// A static_assert message must be a literal, so it cannot contain an input's name. ctgrad
// instead instantiates an error template whose arguments spell the name, so that both g++ and
// clang++ print e.g. `no_value_is_bound_for_input<'e', 'p', 's'>` right above the sentence.
//
//   ctgrad::detail::raise<ctgrad::no_value_is_bound_for_input, "eps">();   // fails to compile
#include <cstddef>
#include <utility>

#include "ctgrad/core/fixed_string.hpp"

namespace ctgrad {

namespace detail {
template <char...>
inline constexpr bool false_for_name = false;
}  // namespace detail

/// Error: evaluate() found no binding for an input of the expression.
template <char... InputName>
struct no_value_is_bound_for_input {
  static_assert(detail::false_for_name<InputName...>,
                "ctgrad::evaluate(): an input of the expression has no value bound; its name is "
                "spelled out, one character per template argument, in "
                "'no_value_is_bound_for_input<...>' in this error's instantiation context. Pass "
                "ctgrad::bind(input, view) for it.");
};

/// Error: a binding's rank differs from the input's declared rank.
template <char... InputName>
struct input_is_bound_to_a_tensor_of_another_rank {
  static_assert(detail::false_for_name<InputName...>,
                "ctgrad::bind(): the input spelled out in "
                "'input_is_bound_to_a_tensor_of_another_rank<...>' (this error's instantiation "
                "context) is bound to a view whose rank differs from the rank it was declared "
                "with.");
};

/// Error: two bindings for one input.
template <char... InputName>
struct input_is_bound_twice {
  static_assert(detail::false_for_name<InputName...>,
                "ctgrad::evaluate(): the input spelled out in 'input_is_bound_twice<...>' (this "
                "error's instantiation context) has two bindings; pass one.");
};

namespace detail {
template <template <char...> class Error, fixed_string Name, std::size_t... I>
constexpr auto spell(std::index_sequence<I...>) -> Error<Name.data[I]...>;

/// Instantiates `Error<'n', 'a', 'm', 'e'>`, whose static_assert stops compilation.
template <template <char...> class Error, fixed_string Name>
constexpr void raise() {
  using error = decltype(spell<Error, Name>(std::make_index_sequence<Name.size()>{}));
  static_assert(sizeof(error) > 0);
}
}  // namespace detail

}  // namespace ctgrad
