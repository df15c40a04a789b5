#pragma once
// ctgrad/core/fixed_string.hpp: compile-time strings used to name inputs.
//
//   ctgrad::fixed_string s = "gamma";   // usable as a template argument
//   static_assert(s.view() == "gamma");
#include <cstddef>
#include <string_view>

namespace ctgrad {

/// A string literal that can be a template argument: `input<"x", 2>` names an input "x".
template <std::size_t N>
struct fixed_string {
  char data[N]{};

  constexpr fixed_string(const char (&s)[N]) noexcept {  // NOLINT: implicit by design
    for (std::size_t i = 0; i < N; ++i) data[i] = s[i];
  }
  [[nodiscard]] constexpr std::string_view view() const noexcept { return {data, N - 1}; }
  [[nodiscard]] static constexpr std::size_t size() noexcept { return N - 1; }

  template <std::size_t M>
  constexpr bool operator==(const fixed_string<M>& o) const noexcept {
    return view() == o.view();
  }
};

}  // namespace ctgrad
