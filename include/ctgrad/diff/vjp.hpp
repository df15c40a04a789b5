#pragma once
// ctgrad/diff/vjp.hpp: reverse-mode differentiation at compile time.
//
//   auto x = ctgrad::input<"x", 2>;  auto dy = ctgrad::input<"dy", 2>;
//   auto y = ctgrad::exp(x) * x;
//   auto [dx] = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x));
//   // dx is an expression: dy * x * exp(x) + dy * exp(x), ready to evaluate, print, differentiate
//
// The adjoint of a node is the sum, over its consumers, of each consumer's local rule (the
// `vjp<I>` of the consumer's operation for operand I), plus the seed if the node is an output.
// It is a class template instantiated once per node, so each unique node's adjoint is built
// once however many paths lead to it. Only nodes that depend on a `wrt` input get adjoints.
#include <tuple>
#include <type_traits>

#include "ctgrad/diff/accumulate.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/graph/topo.hpp"

namespace ctgrad {

/// The outputs to differentiate: `outputs(y)`, `outputs(y, loss)`.
template <class... Es>
struct outputs_t {};
/// The upstream gradients, one per output, each an expression (usually an input such as dy).
template <class... Es>
struct seeds_t {};
/// The inputs to differentiate with respect to.
template <class... Es>
struct wrt_t {};

template <Expression... Es>
constexpr outputs_t<Es...> outputs(Es...) { return {}; }
template <Expression... Es>
constexpr seeds_t<Es...> seeds(Es...) { return {}; }
template <Expression... Es>
constexpr wrt_t<Es...> wrt(Es...) {
  static_assert((is_input_v<Es> && ...),
                "ctgrad: vjp()/grad() differentiate with respect to inputs only; a wrt(...) "
                "argument is an expression that is not a ctgrad::input<\"name\", rank>");
  return {};
}

namespace detail {

template <class Outputs, class Seeds, class Wrt>
struct reverse_pass;

template <class... Os, class... Ss, class... Ws>
struct reverse_pass<outputs_t<Os...>, seeds_t<Ss...>, wrt_t<Ws...>> {
  static_assert(sizeof...(Os) == sizeof...(Ss), "ctgrad: vjp() needs exactly one seed per output");
  using order = topological_order_t<Os...>;

  template <class N>
  struct depends : std::false_type {};
  template <fixed_string Name, std::size_t R>
  struct depends<input_node<Name, R>> : std::bool_constant<(std::is_same_v<input_node<Name, R>, Ws> || ...)> {};
  template <class Op, class... Args>
  struct depends<node<Op, Args...>> : std::bool_constant<(depends<Args>::value || ...)> {};
  // Shape-only operands carry no derivative: a count never depends on anything, and a
  // broadcast depends on its payload only.
  template <class Axes, class A>
  struct depends<node<count_op<Axes>, A>> : std::false_type {};
  template <class G, class Ref>
  struct depends<node<broadcast_op, G, Ref>> : depends<G> {};

  template <class N>
  struct adjoint;

  // Contributions of consumer P to operand N, one per position N holds among P's operands.
  template <class P, class N>
  static constexpr auto contribution() {
    if constexpr (!contains_v<children_t<P>, N> || !depends<P>::value) {
      return no_adjoint{};
    } else {
      using g = typename adjoint<P>::type;
      if constexpr (std::is_same_v<g, no_adjoint>) return no_adjoint{};
      else return contributions_at<P, N, g>(children_t<P>{}, std::make_index_sequence<children_t<P>::size>{});
    }
  }
  template <class P, class N, class G, class... Args, std::size_t... I>
  static constexpr auto contributions_at(type_list<Args...>, std::index_sequence<I...>) {
    return detail::sum_contributions(at_position<P, N, G, I, Args...>()...);
  }
  template <class P, class N, class G, std::size_t I, class... Args>
  static constexpr auto at_position() {
    using arg = std::tuple_element_t<I, std::tuple<Args...>>;
    if constexpr (!std::is_same_v<arg, N>) return no_adjoint{};
    else return detail::fit_to<N>(P::op::template vjp<I>(G{}, P{}, Args{}...));
  }
  template <class N>
  static constexpr auto seed_of() {
    return detail::sum_contributions(detail::fit_to<N>(std::conditional_t<std::is_same_v<Os, N>, Ss, no_adjoint>{})...);
  }

  template <class N, class... Ps>
  static constexpr auto gather(type_list<Ps...>) {
    return detail::sum_contributions(seed_of<N>(), contribution<Ps, N>()...);
  }

  template <class N>
  struct adjoint {
    using type = decltype(gather<N>(order{}));
  };

  /// The gradient of input W: its adjoint, or zeros of its shape when nothing depends on it.
  template <class W>
  static constexpr auto gradient() {
    using a = typename adjoint<W>::type;
    if constexpr (std::is_same_v<a, no_adjoint> || !contains_v<order, W>) return ctgrad::zeros_like(W{});
    else return detail::fit_to<W>(a{});
  }
};

}  // namespace detail

/// Vector-Jacobian product: the gradients of `sum_k <seed_k, output_k>` with respect to each
/// `wrt` input, as an expr_list (one expression per wrt input, in order).
template <class... Os, class... Ss, class... Ws>
constexpr auto vjp(outputs_t<Os...>, seeds_t<Ss...>, wrt_t<Ws...>) {
  using pass = detail::reverse_pass<outputs_t<Os...>, seeds_t<Ss...>, wrt_t<Ws...>>;
  return expr_list<decltype(pass::template gradient<Ws>())...>{};
}

/// Gradient of a scalar-valued expression (rank 0, or every axis reduced): vjp with seed 1.
template <Expression L, class... Ws>
constexpr auto grad(L, wrt_t<Ws...> w) {
  static_assert(L::shape.unit_mask == (std::uint32_t{1} << L::shape.rank) - 1U,
                "ctgrad: grad(loss, wrt(...)) needs a scalar loss (rank 0, or summed over every "
                "axis); reduce it first (sum<...>) or use vjp() with a seed");
  return ctgrad::vjp(outputs_t<L>{}, seeds_t<one_node>{}, w);
}

}  // namespace ctgrad
