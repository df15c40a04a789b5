// Compile-time scaling benchmark (issue 6, point 6): a network of L stacked
// (batch norm -> tanh) blocks and its full gradient, compiled by benchmarks/compile_scaling.sh
// for L = 1, 2, 4, 8, 16. What is being measured is the compiler, not this program.
//
//   h_0 = x,   h_k = tanh(batch_norm_train(h_{k-1}, gamma_k, beta_k, eps)),   y = h_L
//   vjp(outputs(y), seeds(dy), wrt(x, gamma1, beta1, ..., gammaL, betaL))
//
// Macros:
//   CTGRAD_BLOCKS=L        number of blocks (default 2)
//   CTGRAD_STAGE=S         how much is compiled: 0 the forward graph only, 1 also the derived
//                          gradients (types, and their unique node count), 2 (default) also
//                          ctgrad::evaluate of y and every gradient, so that evaluation code is
//                          instantiated as well; 3 also prints the gradients as one let program
//                          (ctgrad::to_text, issue 17: printing adds at most 1 s at L = 16);
//                          4 instead of printing, only the topological order of the printed
//                          list (what stage 3 computes before its table and its renderer).
// Run, it evaluates everything on a small batch and prints a checksum (a smoke test, not a
// benchmark).
#include <cstddef>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <ctgrad.hpp>

#ifndef CTGRAD_BLOCKS
#define CTGRAD_BLOCKS 2
#endif
#ifndef CTGRAD_STAGE
#define CTGRAD_STAGE 2
#endif

namespace {

constexpr std::size_t blocks = CTGRAD_BLOCKS;
static_assert(blocks >= 1 && blocks < 1000, "CTGRAD_BLOCKS must be in [1, 999]");

/// `Base` followed by the decimal digits of K: indexed_name<"gamma", 12>() is "gamma12".
template <ctgrad::fixed_string Base, std::size_t K>
consteval auto indexed_name() {
  constexpr std::size_t digits = K < 10 ? 1 : K < 100 ? 2 : 3;
  constexpr std::size_t n = Base.size() + digits + 1;
  char s[n]{};
  for (std::size_t i = 0; i < Base.size(); ++i) s[i] = Base.data[i];
  std::size_t k = K;
  for (std::size_t i = 0; i < digits; ++i, k /= 10) s[Base.size() + digits - 1 - i] = static_cast<char>('0' + k % 10);
  return ctgrad::fixed_string<n>(s);
}

template <std::size_t K>
constexpr auto gamma_k = ctgrad::input<indexed_name<"gamma", K>(), 1>;
template <std::size_t K>
constexpr auto beta_k = ctgrad::input<indexed_name<"beta", K>(), 1>;

static_assert(decltype(gamma_k<12>)::name.view() == "gamma12");

constexpr auto x = ctgrad::input<"x", 2>;
constexpr auto eps = ctgrad::input<"eps", 0>;
constexpr auto dy = ctgrad::input<"dy", 2>;

/// Blocks K..L applied to h. A static member function rather than a free function: the
/// recursive call is then qualified, so no argument-dependent lookup walks h's type (clang 14
/// does that as a tree walk, exponential in the depth of the network).
template <std::size_t K>
struct network {
  template <class H>
  static constexpr auto apply(H h) {
    if constexpr (K > blocks) return h;
    else return network<K + 1>::apply(ctgrad::tanh(ctgrad::nn::batch_norm_train(h, gamma_k<K>, beta_k<K>, eps)));
  }
};

constexpr auto y = network<1>::apply(x);

#if CTGRAD_STAGE >= 1
template <std::size_t... K>
constexpr auto parameters(std::index_sequence<K...>) {
  return ctgrad::wrt(x, gamma_k<K + 1>..., beta_k<K + 1>...);
}
constexpr auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), parameters(std::make_index_sequence<blocks>{}));
static_assert(decltype(grads)::size == 2 * blocks + 1);
constexpr std::size_t nodes = ctgrad::unique_node_count(y, grads);
#else
constexpr std::size_t nodes = ctgrad::unique_node_count(y);
#endif

#if CTGRAD_STAGE >= 2
constexpr std::size_t m = 5, n = 3;

template <class T>
std::vector<T> values(std::size_t count, unsigned seed) {
  std::vector<T> v(count);
  unsigned s = seed;
  for (auto& e : v) {
    s = s * 1664525u + 1013904223u;
    e = T(0.25) + T(s >> 8) / T(1u << 24);
  }
  return v;
}

template <std::size_t... K>
double run(std::index_sequence<K...>) {
  const auto xs = values<double>(m * n, 1), dys = values<double>(m * n, 2);
  const std::vector<std::vector<double>> gs{values<double>(n, 10 + unsigned(K))...};
  const std::vector<std::vector<double>> bs{values<double>(n, 100 + unsigned(K))...};
  const auto results = ctgrad::evaluate(
      ctgrad::exprs(y, grads), ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {m, n})),
      ctgrad::bind(dy, ctgrad::view<const double, 2>(dys.data(), {m, n})), ctgrad::bind(eps, 1e-5),
      ctgrad::bind(gamma_k<K + 1>, ctgrad::view<const double, 1>(gs[K].data(), {n}))...,
      ctgrad::bind(beta_k<K + 1>, ctgrad::view<const double, 1>(bs[K].data(), {n}))...);
  double checksum = 0;
  std::apply([&](const auto&... r) { ((checksum += [&] { double s = 0; for (double v : r.values) s += v; return s; }()), ...); },
             results);
  return checksum;
}
#endif

}  // namespace

int main() {
#if CTGRAD_STAGE >= 4
  const std::string text(ctgrad::unique_node_count(grads), '*');
#elif CTGRAD_STAGE >= 3
  const std::string text = ctgrad::to_text(grads, {.let = true});
#endif
#if CTGRAD_STAGE >= 3
  std::printf("L = %zu: %zu unique nodes, checksum %.12g, gradients printed in %zu characters\n", blocks, nodes,
              run(std::make_index_sequence<blocks>{}), text.size());
#elif CTGRAD_STAGE >= 2
  std::printf("L = %zu: %zu unique nodes, checksum %.12g\n", blocks, nodes, run(std::make_index_sequence<blocks>{}));
#else
  std::printf("L = %zu: %zu unique nodes\n", blocks, nodes);
#endif
}
