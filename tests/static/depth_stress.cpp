// Depth stress: a chain of 12 blocks e -> tanh(e) * e + e, each using its input three times,
// so the number of paths through the graph is about 3^12 while it has 37 unique nodes. The
// forward graph, its derived gradient and its evaluation plan must be built visiting unique
// nodes only; an algorithm that walked paths would not finish compiling.
#include <ctgrad.hpp>

namespace {

// Built with the named forms of the operators: under clang 14 an operator applied to a deep
// DAG-shaped node type costs an argument-dependent lookup exponential in its depth (clang walks
// the type's template arguments as a tree). ctgrad's own algorithms never use operators. Even
// so clang 14 still grows exponentially past about 14 blocks (GCC 12 compiles 24 in seconds):
// a known limit, to be removed by keeping node children out of ADL's reach.
template <int N, class E>
constexpr auto chain(E e) {
  if constexpr (N == 0) return e;
  else return chain<N - 1>(ctgrad::add(ctgrad::multiply(ctgrad::tanh(e), e), e));
}

constexpr auto x = ctgrad::input<"x", 1>;
constexpr auto y = chain<12>(x);
constexpr auto g = ctgrad::get<0>(ctgrad::grad(ctgrad::sum<0>(y), ctgrad::wrt(x)));

static_assert(ctgrad::unique_node_count(y) == 3 * 12 + 1);
static_assert(ctgrad::unique_node_count(y, g) <= 11 * 12 + 8);  // linear in the depth

}  // namespace

int main() {}
