// Compile-time properties of ctgrad::hoisted_t (eval/hoist.hpp), the regrouping of products an
// evaluation plan applies: compiling this file is passing.
#include <type_traits>

#include <ctgrad.hpp>

namespace {

constexpr auto x = ctgrad::input<"x", 2>;
constexpr auto z = ctgrad::input<"z", 2>;
constexpr auto c = ctgrad::input<"c", 1>;  // a per-feature vector: repeats along axis 0 of x
constexpr auto k = ctgrad::input<"k", 1>;
constexpr auto eps = ctgrad::input<"eps", 0>;
constexpr auto gamma_ = ctgrad::input<"gamma", 1>;
constexpr auto beta_ = ctgrad::input<"beta", 1>;
constexpr auto dy = ctgrad::input<"dy", 2>;

template <class E>
using hoisted = ctgrad::hoisted_t<std::remove_cvref_t<E>>;
template <class E>
using type_of = std::remove_cvref_t<E>;

// 1. Factors that repeat along the product's loop are grouped on the right, multiplied once.
static_assert(std::is_same_v<hoisted<decltype(c * x * k)>, type_of<decltype(ctgrad::multiply(x, ctgrad::multiply(c, k)))>>);
static_assert(std::is_same_v<hoisted<decltype(c * (x * k) * z)>,
                             type_of<decltype(ctgrad::multiply(ctgrad::multiply(x, z), ctgrad::multiply(c, k)))>>);
// constants and scalars repeat too; a unary minus is kept once, outside
static_assert(std::is_same_v<hoisted<decltype(ctgrad::constant<2> * x * eps)>,
                             type_of<decltype(ctgrad::multiply(x, ctgrad::multiply(ctgrad::constant<2>, eps)))>>);
static_assert(std::is_same_v<hoisted<decltype(-(c * x) * k)>, type_of<decltype(-ctgrad::multiply(x, ctgrad::multiply(c, k)))>>);
// a division by a repeating factor: one reciprocal per feature
static_assert(std::is_same_v<hoisted<decltype(x / c * k)>,
                             type_of<decltype(ctgrad::multiply(x, ctgrad::multiply(ctgrad::constant<1> / c, k)))>>);
// broadcast_like(v, x) repeats as v does: the factor is v itself
static_assert(std::is_same_v<hoisted<decltype(ctgrad::broadcast_like(ctgrad::sum<0>(z), x) * x)>,
                             type_of<decltype(ctgrad::multiply(x, ctgrad::sum<0>(z)))>>);

// 2. Nothing else changes: products of one kind of factor, sums, and products over sums (never
//    distributed: (x - c) * k keeps the difference of nearby numbers exact).
static_assert(std::is_same_v<hoisted<decltype(x * z)>, type_of<decltype(x * z)>>);
static_assert(std::is_same_v<hoisted<decltype(c * k)>, type_of<decltype(c * k)>>);
static_assert(std::is_same_v<hoisted<decltype((x - c) * k)>, type_of<decltype((x - c) * k)>>);
static_assert(std::is_same_v<hoisted<decltype(x + c)>, type_of<decltype(x + c)>>);
static_assert(std::is_same_v<hoisted<decltype(x / z)>, type_of<decltype(x / z)>>);
static_assert(std::is_same_v<hoisted<decltype(ctgrad::exp(x))>, type_of<decltype(ctgrad::exp(x))>>);
// ...but operands are hoisted wherever they are
static_assert(std::is_same_v<hoisted<decltype(ctgrad::exp(c * x * k) + z)>,
                             type_of<decltype(ctgrad::exp(ctgrad::multiply(x, ctgrad::multiply(c, k))) + z)>>);
static_assert(std::is_same_v<hoisted<decltype(ctgrad::sum<0>(c * x * k))>,
                             type_of<decltype(ctgrad::sum<0>(ctgrad::multiply(x, ctgrad::multiply(c, k))))>>);

// 3. Batch norm's plan: y and dx are written with one product per element by a per-feature
//    coefficient each (y = d * a + beta, dx = dy * a + d * b + c), where the derived
//    expressions multiply gamma, 1/sigma and constants in per element one by one.
constexpr auto y = ctgrad::nn::batch_norm_train(x, gamma_, beta_, eps);
constexpr auto dx = ctgrad::get<0>(ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x)));

/// True for a product computed per element of an m x n domain.
template <class N>
constexpr bool per_element_product = false;
template <class A, class B>
constexpr bool per_element_product<ctgrad::node<ctgrad::mul_op, A, B>> =
    ctgrad::node<ctgrad::mul_op, A, B>::shape == ctgrad::static_shape{2, 0};

/// Number of distinct products computed per element of an m x n domain in the graph of Es.
template <class List>
struct per_element_products;
template <class... Ns>
struct per_element_products<ctgrad::type_list<Ns...>> {
  static constexpr int value = (int{per_element_product<Ns>} + ... + 0);
};
template <class... Es>
constexpr int products_of = per_element_products<ctgrad::topological_order_t<Es...>>::value;

// As derived: gamma * d, (...) * rsqrt(...) in y; dy * gamma, (...) * rsqrt(...), (...) * d in
// dx (the factor 2 of the square's rule is folded into the constants); dy * d in the summing pass.
static_assert(products_of<type_of<decltype(y)>, type_of<decltype(dx)>> == 6);
// As evaluated: d * a in y; dy * a and d * b in dx (a is shared); dy * d in the summing pass.
static_assert(products_of<hoisted<decltype(y)>, hoisted<decltype(dx)>> == 4);

}  // namespace

int main() {}
