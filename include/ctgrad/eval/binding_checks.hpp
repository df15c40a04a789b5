#pragma once
// ctgrad/eval/binding_checks.hpp: what is checked before a plan computes or writes anything.
//
//   ctgrad::shape_error     (eval/bind.hpp) thrown when bound extents do not fit together; the message names
//                           the inputs, axes and extents, and the expression (rendered at run
//                           time from the graph's table, graph/render.hpp)
//   flat::bind_one          one input's binding: rank and element type checked at compile time,
//                           a missing binding names the input (core/diagnostics.hpp)
//   check_bindings          only ctgrad::bind(...) results, each input bound once
//   overlaps                an output must not share memory with an input or another output
// The executor (eval/executor.hpp) calls these; nothing here depends on the loops.
#include <boost/hana/find_if.hpp>
#include <boost/hana/optional.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>

#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>

#include <fmt/format.h>

#include "ctgrad/eval/bind.hpp"
#include "ctgrad/eval/schedule.hpp"
#include "ctgrad/graph/render.hpp"

namespace ctgrad {

namespace detail {

inline std::string describe(const extent& e) {
  if (e.input.empty()) return fmt::format("an extent of {}", e.n);
  return fmt::format("input '{}' axis {} has extent {}", e.input, e.axis, e.n);
}

/// The binding type for input `Name` among `Bs...`, as hana::just(type) or hana::nothing.
template <fixed_string Name, class... Bs>
constexpr auto find_binding() {
  return boost::hana::find_if(boost::hana::tuple_t<Bs...>, [](auto b) {
    return boost::hana::bool_c<std::remove_cvref_t<decltype(b)>::type::name == Name>;
  });
}

namespace flat {

/// The text of the node at place i of the executor's graph, as ctgrad::to_text gives it: rendered
/// at run time from the graph's table (graph/render.hpp), so that no text function is
/// instantiated per node and named by its (deep) type.
inline std::string render(const render::graph_view& g, std::uint32_t i) {
  return render::render(g, i, syntax::text);
}

[[noreturn]] inline void throw_mismatch(const std::string& text, const extent& a, const extent& b) {
  throw shape_error(fmt::format("ctgrad: extents do not match in `{}`: {}, but {}", text, describe(a), describe(b)));
}

inline std::size_t element_count(const extent* shape, std::size_t rank) {
  std::size_t n = 1;
  for (std::size_t a = 0; a < rank; ++a) n *= shape[a].n;
  return n;
}

inline void set_strides(const extent* shape, std::size_t* strides, std::size_t rank) {
  std::size_t st = 1;
  for (std::size_t a = rank; a-- > 0;) {
    strides[a] = st;
    st *= shape[a].n;
  }
}

/// Binds input N to its binding among bs: extents, data and strides.
template <class T, class N, class... Bs>
void bind_one(extent* shape, std::size_t* strides, const T*& input, const Bs&... bs) {
  using found = decltype(find_binding<N::name, Bs...>());
  if constexpr (decltype(boost::hana::is_nothing(found{}))::value) {
    raise<no_value_is_bound_for_input, N::name>();
  } else {
    using B = typename std::remove_cvref_t<decltype(found{}.value())>::type;
    if constexpr (B::rank != N::shape.rank) {
      raise<input_is_bound_to_a_tensor_of_another_rank, N::name>();
    } else {
      static_assert(std::is_same<typename B::value_type, T>::value,
                    "ctgrad::evaluate(): every bound tensor must have the same element type");
      const B& b = std::get<const B&>(std::forward_as_tuple(bs...));
      for (std::size_t a = 0; a < B::rank; ++a) shape[a] = extent{b.values.extents[a], N::name.view(), a};
      input = (B::rank == 0 && b.values.data == nullptr) ? &b.scalar : b.values.data;
      set_strides(shape, strides, B::rank);
    }
  }
}

}  // namespace flat

template <class... Bs>
struct common_value_type {
  static_assert(sizeof...(Bs) > 0,
                "ctgrad::evaluate(): no bindings given; pass the element type explicitly, "
                "evaluate<double>(...)");
  using type = std::common_type_t<typename Bs::value_type...>;
  static_assert((std::is_same<type, typename Bs::value_type>::value && ...),
                "ctgrad::evaluate(): every bound tensor must have the same element type (all "
                "float or all double)");
};

template <class B, class... Bs>
constexpr void check_bound_once() {
  if constexpr (((Bs::name == B::name ? 1 : 0) + ...) > 1) raise<input_is_bound_twice, B::name>();
}

template <class... Bs>
constexpr void check_bindings() {
  static_assert((is_binding<Bs>::value && ...),
                "ctgrad::evaluate(): after the expressions, pass only ctgrad::bind(...) results");
  if constexpr ((is_binding<Bs>::value && ...)) (check_bound_once<Bs, Bs...>(), ...);
}

/// True when [a, a + na) and [b, b + nb) share memory.
inline bool overlaps(const void* a, std::size_t na, const void* b, std::size_t nb) {
  const auto* pa = static_cast<const unsigned char*>(a);
  const auto* pb = static_cast<const unsigned char*>(b);
  return na > 0 && nb > 0 && pa < pb + nb && pb < pa + na;
}

}  // namespace detail
}  // namespace ctgrad
