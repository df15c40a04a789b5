#pragma once
// ctgrad/check/gradcheck.hpp: derived (reverse-mode) gradients against central finite
// differences, in double.
//
//   auto x = ctgrad::input<"x", 2>;  auto b = ctgrad::input<"b", 1>;
//   auto report = ctgrad::gradcheck(ctgrad::tanh(x) * b,
//                                   ctgrad::bind(x, ctgrad::view<const double, 2>(xs.data(), {3, 4})),
//                                   ctgrad::bind(b, ctgrad::view<const double, 1>(bs.data(), {4})));
//   if (!report) fmt::print("{}\n", report);   // names the input, the element, both values
//
// The scalar probed is L = sum(w * e) for fixed random weights w of e's shape (so every output
// element matters, with different weights); its gradient is exactly
// vjp(outputs(e), seeds(w), wrt(input)). Bound values (float or double) are copied to double,
// each element is moved by +-h with h = step * max(1, |value|), and an element passes when
// |derived - numeric| <= abs_tol + rel_tol * |numeric| (the rule of numpy.allclose).
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

#include "ctgrad/check/detail/inputs.hpp"
#include "ctgrad/diff/vjp.hpp"
#include "ctgrad/eval/evaluate.hpp"

namespace ctgrad {

/// Tolerances and finite-difference step of gradcheck.
///   ctgrad::gradcheck_options o{.abs_tol = 1e-8, .rel_tol = 1e-6};
struct gradcheck_options {
  double abs_tol = 1e-6;
  double rel_tol = 1e-5;
  double step = 1e-6;              ///< h = step * max(1, |value|)
  std::uint64_t seed = 5489;       ///< seeds the weights w of the probed scalar sum(w * e)
  std::size_t max_listed = 10;     ///< failing elements listed in the report
};

/// One compared gradient element: `x[1, 2]: derived 0.5, numeric 0.5000001`.
struct gradcheck_element {
  std::string input;
  std::vector<std::size_t> index;
  double derived = 0;
  double numeric = 0;
  double abs_error = 0;
  double rel_error = 0;  ///< abs_error / |numeric|
};

/// Per input: how many elements were compared and failed, and the worst one (largest error
/// measured in units of its tolerance).
struct gradcheck_input_summary {
  std::string input;
  std::vector<std::size_t> extents;
  std::size_t elements = 0;
  std::size_t failures = 0;
  double max_abs_error = 0;
  double max_rel_error = 0;
  gradcheck_element worst;
};

/// The verdict of gradcheck; converts to true when every element passed; prints with fmt.
///   auto r = ctgrad::gradcheck(e, bindings...);  fmt::print("{}\n", r);
struct gradcheck_report {
  bool passed = true;
  std::string expression;
  gradcheck_options options;
  std::vector<gradcheck_input_summary> inputs;
  std::vector<gradcheck_element> failures;  ///< the first options.max_listed failing elements

  explicit operator bool() const { return passed; }
};

namespace detail::check {

template <class E, class Wrts, class... Os>
struct gradcheck_run;

template <class E, class... Ws, class... Os>
struct gradcheck_run<E, expr_list<Ws...>, Os...> {
  static constexpr std::size_t rank = E::shape.rank;

  gradcheck_options opt;
  std::tuple<Os...> owned;
  std::vector<double> weights;
  std::array<std::size_t, rank> out_extents{};

  template <class... Extra>
  auto eval_value(Extra... extra) const {
    // gradcheck takes bindings for inputs its expression does not read (a check of several
    // expressions with one set of bindings), unlike evaluate
    return std::apply([&](const auto&... o) { return evaluate(E{}, ctgrad::allow_unused(o.as_binding())..., extra...); }, owned);
  }

  double probe() const {
    const auto v = eval_value();
    long double s = 0;
    for (std::size_t i = 0; i < v.size(); ++i) s += static_cast<long double>(weights[i]) * v.values[i];
    return static_cast<double>(s);
  }

  gradcheck_report run() {
    gradcheck_report report;
    report.options = opt;
    report.expression = to_text(E{});

    const auto value = eval_value();
    out_extents = value.extents;
    std::mt19937_64 gen(opt.seed);
    std::uniform_real_distribution<double> dist(0.5, 1.5);
    weights.resize(value.size());
    for (auto& w : weights) w = dist(gen);

    constexpr auto w_in = input<"ctgrad_gradcheck_weight", rank>;
    constexpr auto grads = vjp(outputs(E{}), seeds(w_in), wrt_t<Ws...>{});
    const auto derived = std::apply(
        [&](const auto&... o) {
          // a gradient need not read every input (d(a + b)/da reads neither a nor b)
          return evaluate(grads, ctgrad::allow_unused(o.as_binding())...,
                          ctgrad::allow_unused(bind(w_in, view<const double, rank>(weights.data(), out_extents))));
        },
        owned);
    compare_all(report, derived, std::index_sequence_for<Ws...>{});
    return report;
  }

  template <class Derived, std::size_t... I>
  void compare_all(gradcheck_report& report, const Derived& derived, std::index_sequence<I...>) {
    (compare<Ws>(report, std::get<I>(derived).values), ...);
  }

  template <class W>
  void compare(gradcheck_report& report, const std::vector<double>& derived) {
    constexpr std::size_t k = index_of_name<W::name, Os...>();
    if constexpr (k == sizeof...(Os)) {
      raise<no_value_is_bound_for_input, W::name>();
    } else {
      auto& in = std::get<k>(owned);
      gradcheck_input_summary s;
      s.input = std::string(W::name.view());
      s.extents.assign(in.extents.begin(), in.extents.end());
      s.elements = in.data.size();
      double worst_ratio = -1;
      for (std::size_t j = 0; j < in.data.size(); ++j) {
        const double x0 = in.data[j];
        const double h = opt.step * std::max(1.0, std::abs(x0));
        in.data[j] = x0 + h;
        const double up = probe();
        in.data[j] = x0 - h;
        const double down = probe();
        in.data[j] = x0;
        gradcheck_element el;
        el.input = s.input;
        el.index = unravel(j, in.extents);
        el.derived = derived[j];
        el.numeric = (up - down) / (2 * h);
        el.abs_error = std::abs(el.derived - el.numeric);
        el.rel_error = relative(el.abs_error, el.numeric);
        const double allowed = opt.abs_tol + opt.rel_tol * std::abs(el.numeric);
        // NaN errors fail: the comparison is written so that NaN takes the failing branch.
        const bool ok = el.abs_error <= allowed;
        const double ratio = ok ? el.abs_error / allowed : HUGE_VAL;
        s.max_abs_error = std::max(s.max_abs_error, std::isnan(el.abs_error) ? HUGE_VAL : el.abs_error);
        s.max_rel_error = std::max(s.max_rel_error, std::isnan(el.rel_error) ? HUGE_VAL : el.rel_error);
        if (!ok) {
          ++s.failures;
          report.passed = false;
          if (report.failures.size() < opt.max_listed) report.failures.push_back(el);
        }
        if (ratio > worst_ratio) {
          worst_ratio = ratio;
          s.worst = el;
        }
      }
      report.inputs.push_back(std::move(s));
    }
  }
};

template <class E, class... Ws, class... Bs>
gradcheck_report gradcheck_impl(E, expr_list<Ws...>, const gradcheck_options& opt, const Bs&... bindings) {
  check_bindings<Bs...>();
  static_assert(sizeof...(Ws) > 0, "ctgrad::gradcheck(): the expression reads no input to check");
  if constexpr (!(is_input_v<Ws> && ...)) {
    return gradcheck_report{};  // wrt(...) has already said that only inputs can be checked
  } else {
    gradcheck_run<E, expr_list<Ws...>, decltype(own(bindings))...> run{opt, {own(bindings)...}, {}, {}};
    return run.run();
  }
}

template <class T>
inline constexpr bool is_wrt_v = false;
template <class... Ws>
inline constexpr bool is_wrt_v<wrt_t<Ws...>> = true;

}  // namespace detail::check

/// gradcheck of every input `e` reads, with default tolerances:
///   ctgrad::gradcheck(y, ctgrad::bind(x, xv), ctgrad::bind(eps, 1e-5))
template <Expression E, class... Bs>
  requires(is_binding<Bs>::value && ...)
gradcheck_report gradcheck(E e, Bs... bindings) {
  return detail::check::gradcheck_impl(e, detail::check::inputs_of_t<E>{}, gradcheck_options{}, bindings...);
}

/// gradcheck of every input, with the given tolerances:
///   ctgrad::gradcheck(y, {.abs_tol = 1e-8}, ctgrad::bind(x, xv))
template <Expression E, class... Bs>
  requires(is_binding<Bs>::value && ...)
gradcheck_report gradcheck(E e, const gradcheck_options& opt, Bs... bindings) {
  return detail::check::gradcheck_impl(e, detail::check::inputs_of_t<E>{}, opt, bindings...);
}

/// gradcheck of the chosen inputs only:
///   ctgrad::gradcheck(y, ctgrad::wrt(x), ctgrad::bind(x, xv), ctgrad::bind(eps, 1e-5))
template <Expression E, class... Ws, class... Bs>
  requires(is_binding<Bs>::value && ...)
gradcheck_report gradcheck(E e, wrt_t<Ws...>, Bs... bindings) {
  return detail::check::gradcheck_impl(e, expr_list<Ws...>{}, gradcheck_options{}, bindings...);
}

/// gradcheck of the chosen inputs with the given tolerances:
///   ctgrad::gradcheck(y, ctgrad::wrt(x), {.rel_tol = 1e-4}, ctgrad::bind(x, xv))
template <Expression E, class... Ws, class... Bs>
  requires(is_binding<Bs>::value && ...)
gradcheck_report gradcheck(E e, wrt_t<Ws...>, const gradcheck_options& opt, Bs... bindings) {
  return detail::check::gradcheck_impl(e, expr_list<Ws...>{}, opt, bindings...);
}

}  // namespace ctgrad

/// fmt::format("{}", element): `x[1, 2]: derived 0.25, numeric 0.2500001, abs error 1e-07, rel error 4e-07`.
template <>
struct fmt::formatter<ctgrad::gradcheck_element> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const ctgrad::gradcheck_element& e, Ctx& ctx) const {
    return fmt::format_to(ctx.out(), "{}: derived {}, numeric {}, abs error {:.3g}, rel error {:.3g}",
                          ctgrad::detail::check::element_name(e.input, e.index), e.derived, e.numeric,
                          e.abs_error, e.rel_error);
  }
};

/// fmt::format("{}", report): the verdict, one line per input (with its worst element), then
/// the failing elements.
template <>
struct fmt::formatter<ctgrad::gradcheck_report> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const ctgrad::gradcheck_report& r, Ctx& ctx) const {
    auto out = fmt::format_to(ctx.out(), "gradcheck {} for `{}` (abs_tol {:g}, rel_tol {:g}, step {:g})",
                              r.passed ? "PASSED" : "FAILED", r.expression, r.options.abs_tol,
                              r.options.rel_tol, r.options.step);
    for (const auto& s : r.inputs)
      out = fmt::format_to(out, "\n  input '{}' [{}]: {} elements, {} failed, max abs error {:.3g}, max rel error {:.3g}; worst {}",
                           s.input, fmt::join(s.extents, ", "), s.elements, s.failures, s.max_abs_error,
                           s.max_rel_error, s.worst);
    for (const auto& f : r.failures) out = fmt::format_to(out, "\n  FAIL {}", f);
    return out;
  }
};
