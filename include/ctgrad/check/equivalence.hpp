#pragma once
// ctgrad/check/equivalence.hpp: do two expressions (or lists of expressions) compute the same
// values? Typically a derived gradient against a hand-derived closed form written as an
// expression, compared over random inputs of several shapes; the report gives the worst case.
//
//   auto derived = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma, beta));
//   auto hand = closed_form::batch_norm_backward(x, gamma, beta, eps, dy);
//   auto report = ctgrad::check_equivalence(derived, hand,
//       {.trials = 50, .ranges = {{"eps", 1e-5, 1e-5}, {"gamma", 0.5, 2.0}}});
//   fmt::print("{}\n", report);   // worst abs/rel error, where, on which shapes
//
// Shapes: each trial draws one "global" extent vector as long as the highest input rank (or
// takes the next of options.shapes), and every input of rank r gets its last r extents, the
// way NumPy aligns shapes for broadcasting (x: m x n, gamma: n, eps: scalar). Values are uniform
// in [low, high], or in the range options.ranges gives for that input's name. An element
// agrees when |lhs - rhs| <= abs_tol + rel_tol * |rhs| (rhs is the reference).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ctgrad/check/detail/inputs.hpp"
#include "ctgrad/eval/evaluate.hpp"

namespace ctgrad {

/// Values for one input during an equivalence check: uniform in [low, high] (equal: fixed).
///   ctgrad::value_range{"eps", 1e-5, 1e-5}
struct value_range {
  std::string input;
  double low = -2;
  double high = 2;
};

/// How an equivalence check draws its cases and what counts as equal.
///   ctgrad::equivalence_options o{.trials = 100, .shapes = {{2, 3}, {1, 5}, {64, 2}}};
struct equivalence_options {
  std::size_t trials = 20;
  std::vector<std::vector<std::size_t>> shapes{};  ///< global extents per trial; empty: random
  std::size_t min_extent = 1;                    ///< random extents are in [min_extent, max_extent]
  std::size_t max_extent = 6;
  double low = -2;                               ///< default value range
  double high = 2;
  std::vector<value_range> ranges{};             ///< per-input value ranges
  double abs_tol = 1e-10;
  double rel_tol = 1e-8;
  std::uint64_t seed = 5489;
};

/// A compared element: which output, on which trial and global shape, where, and both values.
struct equivalence_case {
  std::size_t output = 0;
  std::size_t trial = 0;
  std::vector<std::size_t> shape;  ///< the trial's global extents
  std::vector<std::size_t> index;
  double lhs = 0;
  double rhs = 0;
  double abs_error = 0;
  double rel_error = 0;
};

/// The verdict: converts to true when every element of every trial agreed; prints with fmt.
struct equivalence_report {
  bool passed = true;
  std::vector<std::string> lhs;
  std::vector<std::string> rhs;
  equivalence_options options;
  std::size_t elements = 0;   ///< compared in total
  std::size_t failures = 0;
  double max_abs_error = 0;
  double max_rel_error = 0;
  equivalence_case worst;     ///< the largest error in units of its tolerance
  std::vector<std::vector<std::size_t>> shapes_tried;

  explicit operator bool() const { return passed; }
};

namespace detail::check {

template <class L>
struct as_list {
  using type = expr_list<L>;
};
template <class... Es>
struct as_list<expr_list<Es...>> {
  using type = expr_list<Es...>;
};

template <class Ins>
struct input_storage;
template <class... Ins>
struct input_storage<expr_list<Ins...>> {
  using type = std::tuple<owned_input<Ins::name, Ins::shape.rank>...>;
  static constexpr std::size_t max_rank = std::max({std::size_t{0}, Ins::shape.rank...});
};

template <class... Es>
std::vector<std::string> texts(expr_list<Es...>) {
  return {to_text(Es{})...};
}

/// Error: the expressions at position `Position` of lhs and rhs differ in rank or in which axes
/// are reduced (broadcast), so they cannot be compared element by element.
template <std::size_t Position>
struct lhs_and_rhs_have_different_shapes_at_position {
  static_assert(Position != Position,
                "ctgrad::check_equivalence(lhs, rhs): the expressions at the position named in "
                "'lhs_and_rhs_have_different_shapes_at_position<N>' (this error's instantiation "
                "context) have different ranks or broadcast patterns (reduced axes), so they cannot "
                "have the same values; reduce_to<S>(...) one of them");
};

template <std::size_t Position, static_shape A, static_shape B>
constexpr void shape_check() {
  if constexpr (!(A == B)) static_assert(sizeof(lhs_and_rhs_have_different_shapes_at_position<Position>) > 0);
}

template <class... Ls, class... Rs>
equivalence_report check_equivalence_impl(expr_list<Ls...>, expr_list<Rs...>, const equivalence_options& opt) {
  static_assert(sizeof...(Ls) == sizeof...(Rs),
                "ctgrad::check_equivalence(lhs, rhs): lhs and rhs have different numbers of expressions");
  if constexpr (sizeof...(Ls) == sizeof...(Rs) && !((Ls::shape == Rs::shape) && ...)) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (shape_check<I, Ls::shape, Rs::shape>(), ...);
    }(std::index_sequence_for<Ls...>{});
    return equivalence_report{};
  } else {
  using ins = inputs_of_t<Ls..., Rs...>;
  using storage = input_storage<ins>;
  constexpr std::size_t R = storage::max_rank;

  equivalence_report report;
  report.options = opt;
  report.lhs = texts(expr_list<Ls...>{});
  report.rhs = texts(expr_list<Rs...>{});
  std::mt19937_64 gen(opt.seed);
  double worst_ratio = -1;

  for (std::size_t t = 0; t < opt.trials; ++t) {
    std::vector<std::size_t> global(R);
    if (!opt.shapes.empty()) {
      const auto& s = opt.shapes[t % opt.shapes.size()];
      for (std::size_t a = 0; a < R; ++a) global[a] = a < s.size() ? s[a] : 1;
    } else {
      std::uniform_int_distribution<std::size_t> ext(opt.min_extent, std::max(opt.min_extent, opt.max_extent));
      for (auto& g : global) g = ext(gen);
    }
    report.shapes_tried.push_back(global);

    typename storage::type values;
    std::apply(
        [&](auto&... in) {
          auto fill = [&](auto& o) {
            constexpr std::size_t r = std::remove_cvref_t<decltype(o)>::rank;
            std::size_t n = 1;
            for (std::size_t a = 0; a < r; ++a) n *= (o.extents[a] = global[R - r + a]);
            double lo = opt.low, hi = opt.high;
            for (const auto& vr : opt.ranges)
              if (vr.input == o.name.view()) lo = vr.low, hi = vr.high;
            std::uniform_real_distribution<double> d(lo, hi);
            o.data.resize(n);
            for (auto& v : o.data) v = lo == hi ? lo : d(gen);
          };
          (fill(in), ...);
        },
        values);

    const auto results = std::apply(
        [](const auto&... in) { return evaluate(expr_list<Ls..., Rs...>{}, in.as_binding()...); }, values);

    auto compare = [&](std::size_t k, const auto& a, const auto& b) {
      for (std::size_t j = 0; j < b.values.size(); ++j) {
        equivalence_case c;
        c.output = k;
        c.trial = t;
        c.shape = global;
        c.index = unravel(j, b.extents);
        c.lhs = a.values[j];
        c.rhs = b.values[j];
        c.abs_error = std::abs(c.lhs - c.rhs);
        c.rel_error = relative(c.abs_error, c.rhs);
        const double allowed = opt.abs_tol + opt.rel_tol * std::abs(c.rhs);
        const bool ok = c.abs_error <= allowed;  // NaN fails
        ++report.elements;
        report.max_abs_error = std::max(report.max_abs_error, std::isnan(c.abs_error) ? HUGE_VAL : c.abs_error);
        report.max_rel_error = std::max(report.max_rel_error, std::isnan(c.rel_error) ? HUGE_VAL : c.rel_error);
        if (!ok) {
          ++report.failures;
          report.passed = false;
        }
        const double ratio = ok ? c.abs_error / allowed : HUGE_VAL;
        if (ratio > worst_ratio) {
          worst_ratio = ratio;
          report.worst = c;
        }
      }
    };
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (compare(I, std::get<I>(results), std::get<I + sizeof...(Ls)>(results)), ...);
    }(std::index_sequence_for<Ls...>{});
  }
  return report;
  }
}

}  // namespace detail::check

/// Compares `lhs` and `rhs` (expressions, or expr_lists of the same length) on random inputs of
/// several shapes. Every input either reads gets random values; the report names the worst case.
///   auto r = ctgrad::check_equivalence(ctgrad::square(x), x * x);
///   auto r2 = ctgrad::check_equivalence(derived, hand, {.trials = 100});
template <class L, class R>
  requires((Expression<L> || is_expr_list<L>::value) && (Expression<R> || is_expr_list<R>::value))
equivalence_report check_equivalence(L, R, const equivalence_options& opt = {}) {
  return detail::check::check_equivalence_impl(typename detail::check::as_list<L>::type{},
                                               typename detail::check::as_list<R>::type{}, opt);
}

}  // namespace ctgrad

/// fmt::format("{}", report): the verdict, the errors and the worst case.
template <>
struct fmt::formatter<ctgrad::equivalence_report> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const ctgrad::equivalence_report& r, Ctx& ctx) const {
    const auto& w = r.worst;
    auto out = fmt::format_to(
        ctx.out(),
        "equivalence {}: {} elements over {} trials, {} failed (abs_tol {:g}, rel_tol {:g}); max abs error {:.3g}, "
        "max rel error {:.3g}",
        r.passed ? "HOLDS" : "FAILS", r.elements, r.shapes_tried.size(), r.failures, r.options.abs_tol,
        r.options.rel_tol, r.max_abs_error, r.max_rel_error);
    if (r.elements == 0) return out;
    // Derived gradients print long; the start identifies them.
    auto shortened = [](const std::vector<std::string>& v, std::size_t k) -> std::string {
      if (k >= v.size()) return "?";
      return v[k].size() <= 240 ? v[k] : fmt::format("{} ... ({} characters)", v[k].substr(0, 240), v[k].size());
    };
    const std::string lhs = shortened(r.lhs, w.output);
    const std::string rhs = shortened(r.rhs, w.output);
    return fmt::format_to(out,
                          "\n  worst: output {} at [{}] on trial {} with global extents [{}]: lhs {}, rhs {}, abs error "
                          "{:.3g}, rel error {:.3g}\n  lhs: {}\n  rhs: {}",
                          w.output, fmt::join(w.index, ", "), w.trial, fmt::join(w.shape, ", "), w.lhs, w.rhs,
                          w.abs_error, w.rel_error, lhs, rhs);
  }
};
