#pragma once
// ctgrad/check/detail/inputs.hpp: shared machinery of gradcheck and equivalence: the inputs an
// expression reads, and double-precision copies of bound values that can be perturbed.
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ctgrad/core/diagnostics.hpp"
#include "ctgrad/eval/bind.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/graph/topo.hpp"

namespace ctgrad::detail::check {

/// The inputs among the nodes of a topological order, as an expr_list.
template <class Order>
struct inputs_in;
template <class... Ns>
struct inputs_in<type_list<Ns...>> {
  using type = decltype(exprs(std::conditional_t<is_input_v<Ns>, expr_list<Ns>, expr_list<>>{}...));
};

/// expr_list of the distinct inputs read by the expressions Es... (in topological order).
template <class... Es>
using inputs_of_t = typename inputs_in<topological_order_t<Es...>>::type;

/// A double-precision copy of the values of input `Name` (rank R), which may be perturbed.
template <fixed_string Name, std::size_t R>
struct owned_input {
  static constexpr auto name = Name;
  static constexpr std::size_t rank = R;
  std::vector<double> data;
  std::array<std::size_t, R> extents{};

  [[nodiscard]] binding<Name, double, R> as_binding() const {
    return {view<const double, R>(data.data(), extents)};
  }
};

/// Copies a binding's values (float or double, view or rank-0 scalar) into double storage.
template <fixed_string Name, class T, std::size_t R, bool U>
owned_input<Name, R> own(const binding<Name, T, R, U>& b) {
  owned_input<Name, R> o;
  o.extents = b.values.extents;
  if (R == 0 && b.values.data == nullptr) {
    o.data = {static_cast<double>(b.scalar)};
  } else {
    const std::size_t n = b.values.size();
    o.data.resize(n);
    for (std::size_t i = 0; i < n; ++i) o.data[i] = static_cast<double>(b.values.data[i]);
  }
  return o;
}

/// Position of the owned input named `Name` among Os..., or sizeof...(Os) if absent.
template <fixed_string Name, class... Os>
constexpr std::size_t index_of_name() {
  constexpr bool hits[] = {(Os::name == Name)..., false};
  std::size_t i = 0;
  while (i < sizeof...(Os) && !hits[i]) ++i;
  return i;
}

/// The multi-index of linear position `lin` in a row-major array of extents `ext`.
template <class Extents>
std::vector<std::size_t> unravel(std::size_t lin, const Extents& ext) {
  std::vector<std::size_t> idx(ext.size());
  for (std::size_t a = ext.size(); a-- > 0;) {
    const std::size_t e = ext[a] == 0 ? 1 : ext[a];
    idx[a] = lin % e;
    lin /= e;
  }
  return idx;
}

/// "name[1, 2]" (or just "name" for a scalar).
inline std::string element_name(const std::string& name, const std::vector<std::size_t>& idx) {
  if (idx.empty()) return name;
  return fmt::format("{}[{}]", name, fmt::join(idx, ", "));
}

/// |a - b| / |b|, with 0/0 = 0 and x/0 = inf.
inline double relative(double abs_error, double reference) {
  const double r = reference < 0 ? -reference : reference;
  if (abs_error == 0) return 0;
  return r == 0 ? HUGE_VAL : abs_error / r;
}

}  // namespace ctgrad::detail::check
