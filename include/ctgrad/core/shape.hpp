#pragma once
// ctgrad/core/shape.hpp: what is known about a shape at compile time (rank, and which axes
// are statically of extent 1) and at run time (the extents, with where each came from).
//
//   constexpr ctgrad::static_shape s{2, 0b01};   // rank 2, axis 0 has extent 1 (a reduced axis)
//   static_assert(s.is_unit(0) && !s.is_unit(1));
//
// Broadcasting follows NumPy's alignment: shapes are aligned at their last axis, a missing
// leading axis broadcasts. Unlike NumPy, only axes that are *statically* of extent 1 broadcast
// (axes kept by a reduction); which axes broadcast is therefore known to the compiler and the
// adjoint of a broadcast (a sum over those axes) is decided at compile time.
#include <array>
#include <bit>
#include <utility>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ctgrad {

inline constexpr std::size_t max_rank = 16;

/// Compile-time shape: rank and a bit mask of the axes whose extent is statically 1.
struct static_shape {
  std::size_t rank = 0;
  std::uint32_t unit_mask = 0;

  [[nodiscard]] constexpr bool is_unit(std::size_t axis) const { return (unit_mask >> axis) & 1U; }
  friend constexpr bool operator==(static_shape, static_shape) = default;
};

/// The compile-time set of axes a reduction runs over: `axes<0>`, `axes<0, 2, 3>`.
template <std::size_t... Axes>
struct axes_t {
  static constexpr std::size_t count = sizeof...(Axes);
  static constexpr std::uint32_t mask = ((std::uint32_t{1} << Axes) | ... | 0U);
  static constexpr std::array<std::size_t, sizeof...(Axes)> list{Axes...};
};

namespace detail {

template <std::uint32_t Mask>
struct mask_positions {
  static constexpr std::size_t count = static_cast<std::size_t>(std::popcount(Mask));
  static constexpr std::array<std::size_t, count> make() {
    std::array<std::size_t, count> pos{};
    std::size_t k = 0;
    for (std::size_t a = 0; a < 32; ++a)
      if ((Mask >> a) & 1U) pos[k++] = a;
    return pos;
  }
  static constexpr std::array<std::size_t, count> value = make();
};
template <std::uint32_t Mask, std::size_t... I>
auto axes_from_mask(std::index_sequence<I...>) -> axes_t<mask_positions<Mask>::value[I]...>;

/// The axes set of a bit mask: axes_from_mask_t<0b101> is axes_t<0, 2>.
template <std::uint32_t Mask>
using axes_from_mask_t = decltype(axes_from_mask<Mask>(std::make_index_sequence<std::popcount(Mask)>{}));

/// Axis `a` of a rank-`r` operand seen inside a rank-`R` result (right alignment).
constexpr std::size_t aligned_axis(std::size_t a, std::size_t r, std::size_t R) { return a + R - r; }

/// Static shape of an elementwise result: the broadcast of its operands' static shapes.
/// An axis of the result is statically unit iff every operand that has it is unit there.
template <std::size_t N>
constexpr static_shape broadcast_shapes(const std::array<static_shape, N>& in) {
  std::size_t R = 0;
  for (auto s : in) R = s.rank > R ? s.rank : R;
  std::uint32_t unit = R == 0 ? 0U : ((std::uint32_t{1} << R) - 1U);
  for (auto s : in)
    for (std::size_t a = 0; a < s.rank; ++a)
      if (!s.is_unit(a)) unit &= ~(std::uint32_t{1} << aligned_axis(a, s.rank, R));
  return {R, unit};
}

/// True when a value of shape `small` can be read inside a loop over shape `big` by index
/// mapping alone (same or lower rank, and every non-unit axis of `small` non-unit in `big`).
constexpr bool covers(static_shape big, static_shape small) {
  if (small.rank > big.rank) return false;
  for (std::size_t a = 0; a < small.rank; ++a)
    if (!small.is_unit(a) && big.is_unit(aligned_axis(a, small.rank, big.rank))) return false;
  return true;
}

}  // namespace detail

/// One run-time extent and where it came from: input `input`, axis `axis` (empty input for
/// extents made by ctgrad itself, such as the 1 a reduction keeps).
struct extent {
  std::size_t n = 1;
  std::string_view input{};
  std::size_t axis = 0;
};

/// Run-time shape of a node of rank R.
template <std::size_t R>
using runtime_shape = std::array<extent, R>;

template <std::size_t R>
constexpr std::size_t element_count(const runtime_shape<R>& s) {
  std::size_t n = 1;
  for (const auto& e : s) n *= e.n;
  return n;
}

}  // namespace ctgrad
