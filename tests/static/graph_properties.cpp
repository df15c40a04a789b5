// Compile-time properties of expressions and derived gradients: compiling this file is passing.
#include <type_traits>

#include <fmt/core.h>

#include <ctgrad.hpp>

#include "../../examples/batch_norm_closed_form.hpp"

namespace {

constexpr auto x = ctgrad::input<"x", 2>;
constexpr auto gamma_ = ctgrad::input<"gamma", 1>;
constexpr auto beta_ = ctgrad::input<"beta", 1>;
constexpr auto eps = ctgrad::input<"eps", 0>;
constexpr auto dy = ctgrad::input<"dy", 2>;
constexpr auto unused = ctgrad::input<"unused", 1>;

template <class E>
using node_list = ctgrad::topological_order_t<E>;

template <class N>
constexpr bool is_mul_by_one = false;
template <class A, class B>
constexpr bool is_mul_by_one<ctgrad::node<ctgrad::mul_op, A, B>> =
    std::is_same_v<A, ctgrad::one_node> || std::is_same_v<B, ctgrad::one_node>;

/// True when some node of the list multiplies by the constant 1 (on either side).
template <class List>
struct has_mul_by_one;
template <class... Ns>
struct has_mul_by_one<ctgrad::type_list<Ns...>> {
  static constexpr bool value = (is_mul_by_one<Ns> || ...);
};

// 1. Identical subexpressions are the same type: CSE is type identity.
static_assert(std::is_same_v<decltype(ctgrad::exp(x) * gamma_), decltype(ctgrad::exp(x) * gamma_)>);
static_assert(std::is_same_v<decltype(ctgrad::mean<0>(x)), decltype(ctgrad::sum<0>(x) / ctgrad::count<0>(x))>);
static_assert(std::is_same_v<decltype(ctgrad::constant<2> * x), decltype(x * ctgrad::constant<2>)>);
// ...so a DAG with repeated subexpressions has few unique nodes: x, exp(x), exp(x) * exp(x).
static_assert(ctgrad::unique_node_count(ctgrad::exp(x) * ctgrad::exp(x)) == 3);
// variance reuses the mean it subtracts, and both divide by the same count<0>(x): x, sum<0>(x),
// count<0>(x), the mean, x - mean, its square, the sum of that, the variance.
static_assert(ctgrad::unique_node_count(ctgrad::variance<0>(x)) == 8);

// 2. d(x * 1)/dx contains no multiplication by one, and neither does x * 1 itself.
constexpr auto times_one = x * ctgrad::constant<1>;
static_assert(std::is_same_v<std::remove_const_t<decltype(times_one)>, std::remove_const_t<decltype(x)>>);
constexpr auto d_times_one = ctgrad::get<0>(ctgrad::vjp(ctgrad::outputs(ctgrad::exp(x) * ctgrad::constant<1>),
                                                     ctgrad::seeds(dy), ctgrad::wrt(x)));
static_assert(!has_mul_by_one<node_list<decltype(d_times_one)>>::value);
static_assert(std::is_same_v<decltype(d_times_one), const decltype(dy * ctgrad::exp(x))>);
// grad of a rank-0 loss seeds with 1: d(sum(x * 1))/dx is broadcast_like(1, x), not 1 * ...
constexpr auto d_sum = ctgrad::get<0>(ctgrad::grad(ctgrad::sum<0, 1>(x * ctgrad::constant<1>), ctgrad::wrt(x)));
static_assert(!has_mul_by_one<node_list<decltype(d_sum)>>::value);

// 3. The gradient with respect to an input the outputs do not use is the typed zero node.
constexpr auto y = ctgrad::nn::batch_norm_train(x, gamma_, beta_, eps);
constexpr auto g_unused = ctgrad::get<0>(ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(unused)));
static_assert(std::is_same_v<std::remove_const_t<decltype(g_unused)>, decltype(ctgrad::zeros_like(unused))>);
static_assert(ctgrad::is_zero_v<decltype(g_unused)>);
static_assert(decltype(g_unused)::shape == ctgrad::shape_of<decltype(unused)>);

// 4. Gradient shapes are the inputs' shapes.
constexpr auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_, beta_));
static_assert(std::remove_cvref_t<decltype(ctgrad::get<0>(grads))>::shape == ctgrad::static_shape{2, 0});
static_assert(std::remove_cvref_t<decltype(ctgrad::get<1>(grads))>::shape == ctgrad::static_shape{1, 0});
static_assert(std::remove_cvref_t<decltype(ctgrad::get<2>(grads))>::shape == ctgrad::static_shape{1, 0});

// 5. Reductions keep their axes with extent 1; broadcasting is decided statically.
static_assert(decltype(ctgrad::sum<0>(x))::shape == ctgrad::static_shape{2, 0b01});
static_assert(decltype(x - ctgrad::sum<0>(x))::shape == ctgrad::static_shape{2, 0});
static_assert(decltype(ctgrad::sum<0, 1>(x) * gamma_)::shape == ctgrad::static_shape{2, 0b01});

// 6. The derived batch-norm backward stays within 2x the unique nodes of the hand-derived
//    closed form (both counted with the forward output y they share).
constexpr auto hand = closed_form::batch_norm_backward(x, gamma_, beta_, eps, dy);
constexpr std::size_t derived_nodes =
    ctgrad::unique_node_count(y, grads);
constexpr std::size_t closed_form_nodes =
    ctgrad::unique_node_count(y, hand);
static_assert(derived_nodes <= 2 * closed_form_nodes);

// 7. inputs_t lists the inputs as the topological order does (first met first), without
//    computing the order: compared with the inputs filtered from topological_order_t.
template <class Order>
struct inputs_by_order;
template <class... Ns>
struct inputs_by_order<ctgrad::type_list<Ns...>> {
  using type = ctgrad::detail::join_lists_t<
      std::conditional_t<ctgrad::is_input_v<Ns>, ctgrad::type_list<Ns>, ctgrad::type_list<>>...>;
};
template <class... Es>
constexpr bool inputs_in_order = std::is_same_v<ctgrad::inputs_t<Es...>,
                                                 typename inputs_by_order<ctgrad::topological_order_t<Es...>>::type>;
template <class List>
struct list_inputs_in_order;
template <class... Es>
struct list_inputs_in_order<ctgrad::expr_list<Es...>> : std::bool_constant<inputs_in_order<Es...>> {};
static_assert(inputs_in_order<decltype(y)>);
static_assert(list_inputs_in_order<std::remove_cvref_t<decltype(grads)>>::value);
static_assert(inputs_in_order<decltype(y), decltype(ctgrad::count<0>(x) * eps + gamma_)>);
static_assert(std::is_same_v<ctgrad::inputs_t<decltype(x * x + ctgrad::exp(x))>, ctgrad::type_list<std::remove_cvref_t<decltype(x)>>>);

}  // namespace

int main() {
  fmt::print("batch norm y, dx, dgamma, dbeta: {} unique nodes derived, {} with the hand-derived closed form ({:.2f}x)\n",
             derived_nodes, closed_form_nodes, double(derived_nodes) / double(closed_form_nodes));
}
