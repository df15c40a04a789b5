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

/// Error: vjp(..., unused_wrt::error) or grad(..., unused_wrt::error) was given a wrt input no
/// output depends on.
template <char... InputName>
struct wrt_input_is_not_used_by_the_outputs {
  static_assert(detail::false_for_name<InputName...>,
                "ctgrad::vjp()/grad() with ctgrad::unused_wrt::error: no output depends on the wrt input "
                "spelled out in 'wrt_input_is_not_used_by_the_outputs<...>' (this error's instantiation "
                "context): it is not used, or only through stop_gradient, a shape or a comparison. Remove "
                "it from wrt(...), or leave out unused_wrt::error to get zeros for it.");
};

/// An input's name, one character per template argument, for the error below.
template <char... C>
struct input_name {};

/// Error: a binding names an input that none of the evaluated expressions uses (misspelled, or
/// left over). Binding is the binding's name, Used... the names of the inputs that are used.
template <class Binding, class... Used>
struct binding_names_no_input_of_the_expressions {
  static_assert(sizeof(Binding) == 0,
                "ctgrad::evaluate()/plan::run(): a binding names an input that none of the expressions "
                "uses (misspelled, or left over). In "
                "'binding_names_no_input_of_the_expressions<input_name<...>, input_name<...>...>' (this "
                "error's instantiation context) the first input_name spells the binding's name and the "
                "others the inputs the expressions do use. Remove the binding or fix its name.");
};

namespace detail {
template <fixed_string Name, std::size_t... I>
constexpr auto spell_name(std::index_sequence<I...>) -> input_name<Name.data[I]...>;
/// input_name<'n', 'a', 'm', 'e'> for Name.
template <fixed_string Name>
using spelled_t = decltype(spell_name<Name>(std::make_index_sequence<Name.size()>{}));

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
