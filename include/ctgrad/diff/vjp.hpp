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
// once however many paths lead to it. Only nodes that depend on a `wrt` input get adjoints, and
// a node's consumers come from an index built once (graph/index.hpp), so the pass instantiates
// templates in proportion to the nodes and edges of the graph.
#include <utility>
#include <type_traits>

#include "ctgrad/core/diagnostics.hpp"
#include "ctgrad/diff/accumulate.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/graph/index.hpp"
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
  static_assert((is_input<Es>::value && ...),
                "ctgrad: vjp()/grad() differentiate with respect to inputs only; a wrt(...) "
                "argument is an expression that is not a ctgrad::input<\"name\", rank>");
  return {};
}

namespace detail {

template <class Op, std::size_t I, class G, class Self, class... Args>
concept has_reverse_rule = requires { Op::template vjp<I>(G{}, Self{}, Args{}...); };

template <class W>
struct zeros_of {
  using type = decltype(ctgrad::zeros_like(W{}));
};

/// The unique nodes of the outputs, in topological order.
template <class Outputs>
struct order_of_outputs;
template <class... Os>
struct order_of_outputs<outputs_t<Os...>> {
  using type = topological_order_t<Os...>;
};

/// Whether input N is one of the wrt inputs.
template <class Wrt, class N>
struct is_wrt;
template <class... Ws, class N>
struct is_wrt<wrt_t<Ws...>, N> : std::bool_constant<(CTGRAD_DETAIL_SAME_TYPE(Ws, N) || ...)> {};

/// The seed of N: the sum of the seeds of the outputs that are N.
template <class Outputs, class Seeds, class N>
struct seed_of;
template <class... Os, class... Ss, class N>
struct seed_of<outputs_t<Os...>, seeds_t<Ss...>, N> {
  using type = sum_t<fitted_t<N, std::conditional_t<CTGRAD_DETAIL_SAME_TYPE(Os, N), Ss, no_adjoint>>...>;
};

// The pass keeps outputs, seeds and wrt inputs as single types, taken apart only by the helpers
// above: GCC rebuilds the packs of a class specialized on `outputs_t<Os...>` (and the others)
// each time one of its member templates is instantiated, once per node and edge here.
template <class Outputs, class Seeds, class Wrt>
struct reverse_pass {
  using order = typename order_of_outputs<Outputs>::type;
  /// Positions and consumers of the nodes, built once for the whole pass.
  using graph = graph_index<order>;

  template <class N>
  struct depends : std::false_type {};
  template <fixed_string Name, std::size_t R>
  struct depends<input_node<Name, R>> : is_wrt<Wrt, input_node<Name, R>> {};
  // Operands through which no derivative flows (op_traits: read for their shape only, as a
  // count's or a broadcast's reference, or of zero derivative, as a comparison's) do not count.
  template <class Op, class Args, class I = std::make_index_sequence<Args::size>>
  struct depends_through;
  template <class Op, class... Args, std::size_t... I>
  struct depends_through<Op, type_list<Args...>, std::index_sequence<I...>>
      : std::bool_constant<((op_traits<Op>::has_derivative(I) && depends<Args>::value) || ...)> {};
  template <class Op, class... Args>
  struct depends<node<Op, Args...>> : depends_through<Op, type_list<Args...>> {};

  template <class N>
  struct adjoint;

  // Everything below computes types with class templates: GCC 12 mangles the name of every
  // instantiated function, and names made of deep gradient types cost it time quadratic in
  // their size (see diff/accumulate.hpp).

  /// The contribution of consumer P's operand I (node Arg) to the adjoint of N, given P's
  /// adjoint G: P's local rule for operand I, fitted to N's shape; none when Arg is not N.
  template <class P, class N, class G, std::size_t I, class Arg, class Operands,
            bool Hit = CTGRAD_DETAIL_SAME_TYPE(Arg, N) && op_traits<typename P::op>::has_derivative(I)>
  struct at_position {
    using local = no_adjoint;
    using type = no_adjoint;
  };
  template <class P, class N, class G, std::size_t I, class Arg, class... Args>
  struct at_position<P, N, G, I, Arg, type_list<Args...>, true> {
    static_assert(has_reverse_rule<typename P::op, I, G, P, Args...>,
                  "ctgrad::vjp(): an operation on the path to a wrt input has no reverse rule: give it "
                  "`template <std::size_t I, class G, class Self, class... A> static constexpr auto vjp(G g, Self, "
                  "A...)` (the operation is named in this error's context), or declare the operand in its "
                  "no_derivative_operands");
    using local = decltype(P::op::template vjp<I>(G{}, P{}, Args{}...));
    using type = fitted_t<N, local>;
  };

  /// The contributions of consumer P to operand N, one per position N holds among P's
  /// operands, summed in operand order.
  template <class P, class N, class G, class Operands = children_t<P>,
            class Positions = std::make_index_sequence<children_t<P>::size>>
  struct contributions_of;
  template <class P, class N, class G, class... Args, std::size_t... I>
  struct contributions_of<P, N, G, type_list<Args...>, std::index_sequence<I...>> {
    using type = sum_t<typename at_position<P, N, G, I, Args, type_list<Args...>>::type...>;
  };

  /// What consumer P passes back to N: nothing when P does not depend on a wrt input or has no
  /// adjoint itself.
  template <class P, class N, bool Depends = depends<P>::value>
  struct contribution {
    using type = no_adjoint;
  };
  template <class P, class N>
  struct contribution<P, N, true> {
    using g = typename adjoint<P>::type;
    using type = typename std::conditional_t<CTGRAD_DETAIL_SAME_TYPE(g, no_adjoint), std::type_identity<no_adjoint>,
                                             contributions_of<P, N, g>>::type;
  };

  /// The seed of N: the sum of the seeds of the outputs that are N.
  template <class N>
  using seed_t = typename seed_of<Outputs, Seeds, N>::type;

  // Only N's consumers, from the index: scanning the whole order for them would instantiate
  // a contribution for every pair of nodes.
  template <class N, class Consumers>
  struct gather;
  template <class N, class... Ps>
  struct gather<N, type_list<Ps...>> {
    using type = sum_t<seed_t<N>, typename contribution<Ps, N>::type...>;
  };

  /// The adjoint of node N (no_adjoint when nothing flows back to it).
  template <class N>
  struct adjoint : gather<N, typename graph::template consumers_t<N>> {};

  // ---- the pass's steps, for a reader that records them (doc::derive, doc/derivation.hpp) ----
  // The same instantiations as the pass's own: recording a derivation computes nothing twice.

  /// Consumer P reads N as its operand I. `local`: P's local rule for that operand, given P's
  /// adjoint (no_adjoint when no derivative flows through it); `type`: the rule fitted to N's
  /// shape, what the edge adds to N's adjoint (no_adjoint: nothing).
  template <class P, std::size_t I, class At>
  struct edge {
    using consumer = P;
    using position = std::integral_constant<std::size_t, I>;
    using local = typename At::local;
    using type = typename At::type;
  };
  template <class P, class N, class G, class Operands = children_t<P>,
            class Positions = std::make_index_sequence<children_t<P>::size>>
  struct edges_from;
  template <class P, class N, class G, class... Args, std::size_t... I>
  struct edges_from<P, N, G, type_list<Args...>, std::index_sequence<I...>> {
    using type = join_lists_t<std::conditional_t<CTGRAD_DETAIL_SAME_TYPE(Args, N),
                                                 type_list<edge<P, I, at_position<P, N, G, I, Args, type_list<Args...>>>>,
                                                 type_list<>>...>;
  };
  /// The edges from consumer P to N: none when P passes nothing back (as `contribution`).
  template <class P, class N, bool Depends = depends<P>::value>
  struct consumer_edges {
    using type = type_list<>;
  };
  template <class P, class N>
  struct consumer_edges<P, N, true> {
    using g = typename adjoint<P>::type;
    using type = typename std::conditional_t<CTGRAD_DETAIL_SAME_TYPE(g, no_adjoint), std::type_identity<type_list<>>,
                                             edges_from<P, N, g>>::type;
  };
  template <class N, class Consumers>
  struct gather_edges;
  template <class N, class... Ps>
  struct gather_edges<N, type_list<Ps...>> {
    using type = join_lists_t<typename consumer_edges<Ps, N>::type...>;
  };
  /// The edges into N whose contributions (with the seed) make N's adjoint, consumer by consumer
  /// in topological order, then by operand position: a type_list of `edge`s.
  template <class N>
  using edges_t = typename gather_edges<N, typename graph::template consumers_t<N>>::type;

  /// The adjoints of the nodes that depend on a wrt input (the others get none), built from
  /// the outputs down (reverse topological order). Built so, each finds its consumers' adjoints
  /// complete and instantiation nests a few templates deep; asked for from an input, adjoint<N>
  /// nests through its consumers to the outputs, a few templates per node on the way, and a
  /// chain of 300 operations exceeded GCC's limit of 900 nested instantiations
  /// (tests/static/deep_chain.cpp). vjp() builds these first.
  template <class N>
  struct adjoint_if_depends {
    using type = typename std::conditional_t<depends<N>::value, adjoint<N>, std::type_identity<no_adjoint>>::type;
  };
  template <class Seq = std::make_index_sequence<graph::size>>
  struct all_adjoints;
  template <std::size_t... I>
  struct all_adjoints<std::index_sequence<I...>> {
    using type = type_list<typename adjoint_if_depends<typename graph::template node_at<graph::size - 1 - I>>::type...>;
  };

  /// The gradient of input W: its adjoint, or zeros of its shape when nothing depends on it.
  /// `flows`: something flows back to W (false: its gradient is zeros_like(W)).
  template <class W, bool InGraph = graph::template contains_t<W>::value>
  struct gradient {
    using a = typename adjoint<W>::type;
    static constexpr bool flows = !CTGRAD_DETAIL_SAME_TYPE(a, no_adjoint);
    using type = typename std::conditional_t<flows, fitted<W, a>, zeros_of<W>>::type;
  };
  template <class W>
  struct gradient<W, false> : zeros_of<W> {
    static constexpr bool flows = false;
  };
};

}  // namespace detail

/// What vjp and grad give a wrt input that no output depends on (not used, or only through
/// stop_gradient, shapes or comparisons): `unused_wrt::zeros` (the default: zeros_like(input),
/// as PyTorch's `allow_unused=True, materialize_grads=True`) or `unused_wrt::error` (it does not
/// compile; the error spells the input's name: `wrt_input_is_not_used_by_the_outputs<'b', ...>`).
///
///   auto [dx] = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x), ctgrad::unused_wrt::error);
namespace unused_wrt {
struct zeros_t {};
struct error_t {};
inline constexpr zeros_t zeros{};
inline constexpr error_t error{};
}  // namespace unused_wrt

/// Vector-Jacobian product: the gradients of `sum_k <seed_k, output_k>` with respect to each
/// `wrt` input, as an expr_list (one expression per wrt input, in order).
template <class... Os, class... Ss, class... Ws>
constexpr auto vjp(outputs_t<Os...>, seeds_t<Ss...>, wrt_t<Ws...>, unused_wrt::zeros_t = {}) {
  static_assert(sizeof...(Os) == sizeof...(Ss), "ctgrad: vjp() needs exactly one seed per output");
  using pass = detail::reverse_pass<outputs_t<Os...>, seeds_t<Ss...>, wrt_t<Ws...>>;
  static_assert(pass::template all_adjoints<>::type::size == pass::graph::size);  // built from the outputs down
  return expr_list<typename pass::template gradient<Ws>::type...>{};
}

namespace detail {
template <class Pass, class W>
constexpr void require_used() {
  if constexpr (!Pass::template gradient<W>::flows) detail::raise<wrt_input_is_not_used_by_the_outputs, W::name>();
}
}  // namespace detail

/// vjp in which a wrt input no output depends on is a compile error (see unused_wrt).
template <class... Os, class... Ss, class... Ws>
constexpr auto vjp(outputs_t<Os...> o, seeds_t<Ss...> s, wrt_t<Ws...> w, unused_wrt::error_t) {
  static_assert(sizeof...(Os) == sizeof...(Ss), "ctgrad: vjp() needs exactly one seed per output");
  using pass = detail::reverse_pass<outputs_t<Os...>, seeds_t<Ss...>, wrt_t<Ws...>>;
  (detail::require_used<pass, Ws>(), ...);
  return ctgrad::vjp(o, s, w);
}

/// Gradient of a scalar-valued expression (rank 0, or every axis reduced): vjp with seed 1.
/// `option`: unused_wrt::zeros (default) or unused_wrt::error.
template <Expression L, class... Ws, class Option = unused_wrt::zeros_t>
  requires(std::is_same_v<Option, unused_wrt::zeros_t> || std::is_same_v<Option, unused_wrt::error_t>)
constexpr auto grad(L, wrt_t<Ws...> w, Option option = {}) {
  static_assert(L::shape.unit_mask == (std::uint32_t{1} << L::shape.rank) - 1U,
                "ctgrad: grad(loss, wrt(...)) needs a scalar loss (rank 0, or summed over every "
                "axis); reduce it first (sum<...>) or use vjp() with a seed");
  return ctgrad::vjp(outputs_t<L>{}, seeds_t<one_node>{}, w, option);
}

}  // namespace ctgrad
