// Depth stress: a chain of 24 blocks e -> tanh(e) * e + e, each using its input three times,
// so the number of paths through the graph is about 3^24 while it has 73 unique nodes. The
// forward graph, its derived gradient and its evaluation plan must be built visiting unique
// nodes only; an algorithm that walked paths would not finish compiling.
#include <ctgrad.hpp>

namespace {

template <int N, class E>
constexpr auto chain(E e) {
  if constexpr (N == 0) return e;
  else return chain<N - 1>(ctgrad::tanh(e) * e + e);
}

constexpr auto x = ctgrad::input<"x", 1>;
constexpr auto y = chain<24>(x);
constexpr auto g = ctgrad::get<0>(ctgrad::grad(ctgrad::sum<0>(y), ctgrad::wrt(x)));

static_assert(ctgrad::unique_node_count(y) == 3 * 24 + 1);
static_assert(ctgrad::unique_node_count(y, g) <= 11 * 24 + 8);  // linear in the depth

}  // namespace

int main() {}
