#pragma once
// ctgrad/expr/node.hpp: what an expression is.
//
// A node is an empty type. `node<Op, Args...>` applies the operation `Op` to the child nodes
// `Args...`; leaves are named inputs (`input_node<"x", 2>`) and exact constants
// (`constant_node<rational{1, 2}>`). Because nodes carry no data, two identical
// subexpressions are the same type: common-subexpression elimination is type identity.
//
//   auto x = ctgrad::input<"x", 2>;
//   auto y = x * x;                      // node<mul_op, input_node<"x", 2>, input_node<"x", 2>>
//   static_assert(std::is_same_v<decltype(y), decltype(x * x)>);
//
// An operation is a struct that says, in one place, how its nodes are evaluated, how they are
// differentiated (one local vector-Jacobian rule per operand), how they print and how they
// simplify. ctgrad's own operations live in the other headers of this folder; users add
// theirs through the same `make_node<Op>(args...)` (see examples/custom_op.cpp).
#include <concepts>
#include <cstddef>
#include <string>
#include <type_traits>

#include "ctgrad/core/fixed_string.hpp"
#include "ctgrad/core/rational.hpp"
#include "ctgrad/core/shape.hpp"
#include "ctgrad/expr/operation.hpp"

namespace ctgrad {

/// Every node type derives from this tag. `unsimplified` is true for nodes built, directly or
/// through their operands, on a node that starts an unsimplified graph (see make_node).
struct expression_tag {
  static constexpr bool unsimplified = false;
};

/// True for an operation whose nodes, and every node built on them, skip simplification:
/// ctgrad::doc::unsimplified(seed) uses one to show the raw chain rule for teaching.
template <class Op>
inline constexpr bool starts_unsimplified = false;

/// An expression: a node type (an empty object standing for its type).
// std::is_base_of (a compiler builtin) rather than std::derived_from: libstdc++ 12 implements
// the latter's is_convertible with an unqualified call, whose argument-dependent lookup walks a
// node type's template arguments as a tree (exponential in depth under clang 14).
template <class E>
concept Expression = std::is_base_of<expression_tag, std::remove_cvref_t<E>>::value &&
                     std::is_empty<std::remove_cvref_t<E>>::value;

/// `broadcast_like(g, ref)`: g expanded to the shape of ref (defined in expr/reduction.hpp).
struct broadcast_op;

namespace detail {
/// What a node states about itself, held by a base class named by the values only: GCC 12
/// emits (and mangles the name of) every static data member of every instantiated class, at a
/// cost that grows faster than linearly with the size of the name, so a member of
/// node<Op, Args...> would cost more the deeper the node. node_facts<S, U> is shared by every
/// node of the same shape.
template <static_shape S, bool Unsimplified>
struct node_facts : expression_tag {
  static constexpr static_shape shape = S;
  static constexpr bool unsimplified = Unsimplified;
};

/// Stands for an operand in an operation's `result_shape<A...>()`, which reads only `A::shape`:
/// the function is then named by shapes, not by operand types (and shared by all nodes with
/// operands of the same shapes).
template <static_shape S>
struct shape_stub {
  static constexpr static_shape shape = S;
};
}  // namespace detail

/// An operation applied to children `Args...`.
template <class Op, class... Args>
struct node : detail::node_facts<Op::template result_shape<detail::shape_stub<Args::shape>...>(),
                                 starts_unsimplified<Op> || (Args::unsimplified || ...)> {
  using op = Op;
};

/// A named input of rank `Rank`. Its values arrive only when the expression is evaluated.
template <fixed_string Name, std::size_t Rank>
struct input_node : expression_tag {
  static_assert(Rank <= max_rank, "ctgrad: an input's rank exceeds ctgrad::max_rank");
  static constexpr auto name = Name;
  static constexpr static_shape shape{Rank, 0};
};

/// An exact rational constant of rank 0 (it broadcasts against anything).
template <rational V>
struct constant_node : expression_tag {
  static constexpr rational value = V;
  static constexpr static_shape shape{0, 0};
};

/// `ctgrad::input<"x", 2>` is the rank-2 input named "x"; rank 0 for scalars such as eps.
template <fixed_string Name, std::size_t Rank>
inline constexpr input_node<Name, Rank> input{};

/// `ctgrad::constant<2>`, `ctgrad::constant<1, 2>`: exact constants.
template <std::int64_t Num, std::int64_t Den = 1>
inline constexpr constant_node<rational{Num, Den}> constant{};

using zero_node = constant_node<rational{0}>;
using one_node = constant_node<rational{1}>;

// ---------------------------------------------------------------------------------------------
// Traits.

template <class E>
inline constexpr static_shape shape_of = std::remove_cvref_t<E>::shape;

template <class E>
inline constexpr std::size_t rank_of = shape_of<E>.rank;

template <class E>
struct is_input : std::false_type {};
template <fixed_string N, std::size_t R>
struct is_input<input_node<N, R>> : std::true_type {};
template <class E>
inline constexpr bool is_input_v = is_input<std::remove_cvref_t<E>>::value;

template <class E>
struct is_constant : std::false_type {};
template <rational V>
struct is_constant<constant_node<V>> : std::true_type {};
template <class E>
inline constexpr bool is_constant_v = is_constant<std::remove_cvref_t<E>>::value;

/// True for the constant V (a class, for use on deep node types: see expr/arithmetic.hpp).
template <class E, rational V>
struct is_constant_value : std::is_same<std::remove_cvref_t<E>, constant_node<V>> {};
template <class E, rational V>
inline constexpr bool is_constant_value_v = is_constant_value<E, V>::value;

/// The children of a node, as a pack carried by `type_list`.
template <class... Ts>
struct type_list {
  static constexpr std::size_t size = sizeof...(Ts);
};

namespace detail {
/// The lists `Ls...` (type_lists) one after another; eight at a time, so that long runs of
/// lists nest templates eight times less deep.
template <class... Ls>
struct join_lists {
  using type = type_list<>;
};
template <class... A>
struct join_lists<type_list<A...>> {
  using type = type_list<A...>;
};
template <class... A, class... B, class... Rest>
struct join_lists<type_list<A...>, type_list<B...>, Rest...> : join_lists<type_list<A..., B...>, Rest...> {};
template <class... A, class... B, class... C, class... D, class... E, class... F, class... G, class... H,
          class... Rest>
struct join_lists<type_list<A...>, type_list<B...>, type_list<C...>, type_list<D...>, type_list<E...>,
                  type_list<F...>, type_list<G...>, type_list<H...>, Rest...>
    : join_lists<type_list<A..., B..., C..., D..., E..., F..., G..., H...>, Rest...> {};
template <class... Ls>
using join_lists_t = typename join_lists<Ls...>::type;
}  // namespace detail

template <class E>
struct children_of {
  using type = type_list<>;
};
template <class Op, class... Args>
struct children_of<node<Op, Args...>> {
  using type = type_list<Args...>;
};
template <class E>
using children_t = typename children_of<E>::type;

// ---------------------------------------------------------------------------------------------
// Construction.

/// Marker an operation's `simplify` returns when no rewrite applies.
struct no_rewrite {};

namespace detail {
template <class Op, class... Args>
concept has_simplify = requires { Op::simplify(Args{}...); };

template <class Op, class... Args>
struct made_by_rules {
  using rewritten = decltype(Op::simplify(Args{}...));
  using type = std::conditional_t<std::is_same<rewritten, no_rewrite>::value, node<Op, Args...>, rewritten>;
};
template <class Op, class... Args>
struct made_plain {
  using type = node<Op, Args...>;
};
template <class Op, class... Args>
struct made_checked : std::conditional_t<has_simplify<Op, Args...>, made_by_rules<Op, Args...>, made_plain<Op, Args...>> {};

/// The type make_node<Op>(Args{}...) returns, computed by class templates: code that only
/// needs the type (the reverse pass summing and fitting adjoints) uses this rather than calling
/// make_node in decltype, since GCC 12 gives every instantiated function a mangled name, at a
/// cost growing faster than linearly with the node types in it.
template <class Op, class... Args>
using made_t = typename std::conditional_t<(Args::unsimplified || ...), made_plain<Op, Args...>, made_checked<Op, Args...>>::type;

/// What make_node returns for an operation that failed its check (after the error sentence):
/// not an expression, so nothing further is instantiated with it.
template <class Op>
struct not_an_operation {};
}  // namespace detail

/// The one way nodes are made: `make_node<Op>(args...)` applies `Op`'s simplification rules
/// (when it has any) and otherwise returns `node<Op, Args...>{}`. Operator overloads and
/// functions such as `exp(x)` are thin wrappers over it, and so are users' own operations.
/// Nodes built on an unsimplified operand are never rewritten (the raw chain rule for docs).
/// `make_node` first checks that Op is an Operation (expr/operation.hpp): a missing member is
/// one error sentence naming it.
template <class Op, Expression... Args>
constexpr auto make_node(Args...) {
  if constexpr (detail::check_operation<Op, sizeof...(Args)>()) return detail::made_t<Op, Args...>{};
  else return detail::not_an_operation<Op>{};
}

}  // namespace ctgrad
