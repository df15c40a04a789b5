#pragma once
// Central finite differences in double for any ctgrad expression: the independent check of a
// derived gradient. The scalar probed is L = sum(w * e) for a random weight tensor w of e's
// shape, whose gradient is exactly vjp(outputs(e), seeds(w), wrt(input)).
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include <ctgrad.hpp>

#include "support/numeric.hpp"

namespace ctgrad_test {

struct fd_result {
  double max_abs_error = 0;
  double relative_error = 0;  // max_abs_error / max |numeric gradient|
};

/// Compares the derived gradient of `e` with respect to input `in` (whose values are `data`
/// with extents `ext`) with central differences; `others` binds every other input of `e`.
template <ctgrad::Expression E, ctgrad::fixed_string Name, std::size_t R, class... Bs>
fd_result check_gradient(E e, ctgrad::input_node<Name, R> in, std::vector<double> data,
                         std::array<std::size_t, R> ext, Bs... others) {
  constexpr std::size_t rank = E::shape.rank;
  auto w_in = ctgrad::input<"fd_weight", rank>;
  auto bind_in = [&] { return ctgrad::bind(in, ctgrad::view<const double, R>(data.data(), ext)); };

  const auto value = ctgrad::evaluate(e, bind_in(), others...);
  const auto w = random_vector(value.size(), 977, 0.5, 1.5);
  const ctgrad::view<const double, rank> w_view(w.data(), value.extents);

  auto [g] = ctgrad::vjp(ctgrad::outputs(e), ctgrad::seeds(w_in), ctgrad::wrt(in));
  const auto analytic = ctgrad::evaluate(g, bind_in(), ctgrad::bind(w_in, w_view), others...);

  auto loss = [&] {
    const auto v = ctgrad::evaluate(e, bind_in(), others...);
    double s = 0;
    for (std::size_t i = 0; i < v.size(); ++i) s += w[i] * v.values[i];
    return s;
  };
  std::vector<double> numeric(data.size());
  for (std::size_t k = 0; k < data.size(); ++k) {
    const double x0 = data[k];
    const double h = 1e-6 * std::max(1.0, std::abs(x0));
    data[k] = x0 + h;
    const double up = loss();
    data[k] = x0 - h;
    const double down = loss();
    data[k] = x0;
    numeric[k] = (up - down) / (2 * h);
  }
  fd_result r;
  double scale = 0;
  for (std::size_t k = 0; k < data.size(); ++k) {
    r.max_abs_error = std::max(r.max_abs_error, std::abs(analytic.values[k] - numeric[k]));
    scale = std::max(scale, std::abs(numeric[k]));
  }
  r.relative_error = scale > 0 ? r.max_abs_error / scale : r.max_abs_error;
  return r;
}

}  // namespace ctgrad_test
