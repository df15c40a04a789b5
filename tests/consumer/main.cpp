// Minimal downstream consumer of an installed ctgrad package: evaluates a matrix product, which
// goes through GEMM when the program links ctgrad::blas and through ctgrad's loop otherwise.
#include <ctgrad.hpp>

#include <array>

#include <fmt/format.h>

int main() {
  constexpr auto a = ctgrad::input<"a", 2>;
  constexpr auto b = ctgrad::input<"b", 2>;
  const std::array<double, 4> av{1, 2, 3, 4}, bv{5, 6, 7, 8};
  auto plan = ctgrad::compile<double>(ctgrad::exprs(ctgrad::matmul(a, b)));
  const auto [c] = plan(ctgrad::bind(a, ctgrad::view<const double, 2>(av.data(), {2, 2})),
                        ctgrad::bind(b, ctgrad::view<const double, 2>(bv.data(), {2, 2})));
  const bool right = c(0, 0) == 19 && c(0, 1) == 22 && c(1, 0) == 43 && c(1, 1) == 50;
#if defined(CTGRAD_USE_CBLAS)
  const bool path = plan.gemm_calls() == 1;
#else
  const bool path = plan.gemm_calls() == 0;
#endif
  fmt::print("ctgrad consumer: found installed ctgrad package ({}); a @ b {} through {}\n", __cplusplus,
             right ? "right" : "WRONG", plan.gemm_calls() ? "BLAS" : "ctgrad's loop");
  return right && path ? 0 : 1;
}
