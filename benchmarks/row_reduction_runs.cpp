// Layer norm (or batch norm) forward + backward, float, one thread, run R times by one compiled
// plan: a whole program to time from outside or to count instructions of, figures that repeat on
// a shared machine where bench_row_reductions' times do not. The cost of one run is the
// difference between two counts (R and R + 2 runs, halved): everything else is the same.
//
//   build/benchmarks/row_reduction_runs 16384 256 layer_norm 300
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null build/benchmarks/row_reduction_runs 4096 256 layer_norm 1
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null build/benchmarks/row_reduction_runs 4096 256 layer_norm 3
//
// It prints a checksum of the results (so that nothing is optimized away), not a verdict:
// bench_row_reductions checks the same plans against a long-double closed form.
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <tuple>
#include <vector>

#include <ctgrad.hpp>

#include "normalization_model.hpp"

namespace {

using normalization_model::beta_;
using normalization_model::dy;
using normalization_model::eps;
using normalization_model::gamma_;
using normalization_model::x;

std::vector<float> uniform(std::size_t count, unsigned seed, float lo, float hi) {
  std::vector<float> v(count);
  for (auto& e : v) {
    seed = seed * 1664525U + 1013904223U;
    e = lo + (hi - lo) * static_cast<float>(seed >> 8) / static_cast<float>(1U << 24);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view which = argc == 5 ? argv[3] : "";
  if (argc != 5 || (which != "layer_norm" && which != "batch_norm")) {
    std::fprintf(stderr, "usage: row_reduction_runs M N layer_norm|batch_norm RUNS\n");
    return 2;
  }
  const std::size_t m = std::strtoull(argv[1], nullptr, 10), n = std::strtoull(argv[2], nullptr, 10);
  const long runs = std::strtol(argv[4], nullptr, 10);
  const auto xs = uniform(m * n, 1, -2, 3), dys = uniform(m * n, 2, -1, 1);
  const auto g = uniform(n, 3, 0.5F, 1.5F), b = uniform(n, 4, -0.5F, 0.5F);
  std::vector<float> y(m * n), dx(m * n), dg(n), db(n);
  const auto outs = std::tuple{ctgrad::view<float, 2>(y.data(), {m, n}), ctgrad::view<float, 2>(dx.data(), {m, n}),
                               ctgrad::view<float, 1>(dg.data(), {n}), ctgrad::view<float, 1>(db.data(), {n})};
  const auto run = [&](auto& plan) {
    for (long r = 0; r < runs; ++r)
      plan.run(outs, ctgrad::bind(x, ctgrad::view<const float, 2>(xs.data(), {m, n})),
               ctgrad::bind(dy, ctgrad::view<const float, 2>(dys.data(), {m, n})),
               ctgrad::bind(gamma_, ctgrad::view<const float, 1>(g.data(), {n})),
               ctgrad::bind(beta_, ctgrad::view<const float, 1>(b.data(), {n})), ctgrad::bind(eps, 1e-5F));
  };
  if (which == "layer_norm") {
    auto plan = ctgrad::compile<float>(normalization_model::layer_norm_all);
    run(plan);
  } else {
    auto plan = ctgrad::compile<float>(normalization_model::batch_norm_all);
    run(plan);
  }
  double checksum = 0;
  for (float v : y) checksum += v;
  for (float v : dx) checksum += v;
  for (std::size_t j = 0; j < n; ++j) checksum += double(dg[j]) + double(db[j]);
  std::printf("%s %zu x %zu, %ld runs: checksum %.9g\n", argv[3], m, n, runs, checksum);
}
