#pragma once
// ctgrad/doc/verify.hpp: do two lists of expressions compute the same values? Evaluated on
// random inputs with a fixed-seed generator written here (no std:: distribution, whose
// results are implementation-defined), so a generated document prints the same numbers with
// every compiler and on every run.
//
//   auto r = ctgrad::doc::verify(derived, closed_form, {.trials = 50, .ranges = {{"eps", 1e-5, 1e-5}}});
//   r.max_abs_error; r.max_rel_error;   // worst over all trials and outputs
//
// Shapes: each trial draws extents for the largest input rank; an input of rank r takes the
// last r of them (NumPy alignment: x m x n, gamma n, eps a scalar).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "ctgrad/check/gradcheck.hpp"
#include "ctgrad/doc/latex.hpp"
#include "ctgrad/eval/evaluate.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/graph/topo.hpp"

namespace ctgrad::doc {

/// SplitMix64 (Steele, Lea, Flood): a tiny generator whose output is fully specified.
struct random_source {
  std::uint64_t state;
  explicit random_source(std::uint64_t seed) : state(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31U);
  }
  /// Uniform in [lo, hi): 53 random bits scaled, the same double on every platform.
  double uniform(double lo, double hi) {
    const double u = static_cast<double>(next() >> 11U) * 0x1.0p-53;
    return lo + (hi - lo) * u;
  }
  /// Uniform integer in [lo, hi].
  std::size_t between(std::size_t lo, std::size_t hi) { return lo + static_cast<std::size_t>(next() % (hi - lo + 1)); }
};

/// Values of one input during verification: uniform in [low, high].
struct input_range {
  std::string input;
  double low = -2;
  double high = 2;
};

struct verify_options {
  std::size_t trials = 50;
  std::size_t min_extent = 2;  ///< random extents in [min_extent, max_extent]
  std::size_t max_extent = 7;
  double low = -2;              ///< default value range
  double high = 2;
  std::vector<input_range> ranges{};
  std::uint64_t seed = 2024;
};

/// Derived gradients against central finite differences (ctgrad::gradcheck) on random inputs.
struct gradient_check {
  bool passed = true;
  std::size_t trials = 0;
  std::size_t elements = 0;  ///< gradient elements compared in all
  verify_options options;
  gradcheck_options tolerances;
  std::string failure;  ///< the first failing trial's report, as fmt prints it
};

/// The worst disagreement of two lists of expressions over all trials.
struct verify_report {
  std::size_t trials = 0;
  std::size_t elements = 0;
  double max_abs_error = 0;   ///< max |lhs - rhs|
  double max_rel_error = 0;   ///< per output max |lhs - rhs| / max |rhs|, the worst output
  std::vector<double> abs_error_per_output;
  std::vector<double> rel_error_per_output;
  std::vector<std::size_t> elements_per_output;

  /// The report of outputs [first, first + count) alone: several pairs of lists verified in one
  /// call (on the same random inputs, by one evaluation plan) report separately.
  [[nodiscard]] verify_report part(std::size_t first, std::size_t count) const {
    verify_report r;
    r.trials = trials;
    for (std::size_t k = first; k < first + count && k < abs_error_per_output.size(); ++k) {
      r.abs_error_per_output.push_back(abs_error_per_output[k]);
      r.rel_error_per_output.push_back(rel_error_per_output[k]);
      r.elements_per_output.push_back(elements_per_output[k]);
      r.elements += elements_per_output[k];
      r.max_abs_error = std::max(r.max_abs_error, abs_error_per_output[k]);
      r.max_rel_error = std::max(r.max_rel_error, rel_error_per_output[k]);
    }
    return r;
  }
};

namespace detail {

/// The inputs of the expressions as an expr_list, in topological order (ctgrad::inputs_t).
template <class Inputs>
struct input_list;
template <class... Ins>
struct input_list<type_list<Ins...>> {
  using type = expr_list<Ins...>;
};

/// Random values of one input, owned (its rank known at run time).
struct random_values {
  std::vector<double> data;
  std::array<std::size_t, max_rank> extents{};
};

/// Random values for the inputs Ins..., drawn anew for each trial: extents for the largest
/// rank, the last r of them for an input of rank r, then every input's values in order. One
/// array of values rather than a std::tuple of one type per input: nothing here is compiled
/// per input but the bindings.
template <class... Ins>
struct random_inputs {
  static constexpr std::size_t count = sizeof...(Ins);
  static constexpr std::size_t largest_rank = std::max({std::size_t{0}, Ins::shape.rank...});
  static constexpr std::array<std::size_t, count + 1> ranks{Ins::shape.rank..., 0};
  std::array<random_values, count + 1> values{};  // + 1: no zero-sized arrays

  void draw(random_source& rng, const verify_options& o) {
    std::array<std::string_view, count + 1> names{Ins::name.view()..., {}};
    std::array<std::size_t, max_rank> global{};
    for (std::size_t a = 0; a < largest_rank; ++a) global[a] = rng.between(o.min_extent, o.max_extent);
    for (std::size_t k = 0; k < count; ++k) {
      double lo = o.low, hi = o.high;
      for (const auto& r : o.ranges)
        if (r.input == names[k]) lo = r.low, hi = r.high;
      std::size_t n = 1;
      for (std::size_t a = 0; a < ranks[k]; ++a) {
        values[k].extents[a] = global[largest_rank - ranks[k] + a];
        n *= values[k].extents[a];
      }
      values[k].data.resize(n);
      for (auto& v : values[k].data) v = rng.uniform(lo, hi);
    }
  }
  /// f(binding of every input...), with allow_unused when `Unused`.
  template <bool Unused, class F>
  decltype(auto) with_bindings(F&& f) const {
    return with_bindings_at<Unused>(f, std::index_sequence_for<Ins...>{});
  }

 private:
  template <bool Unused, class F, std::size_t... K>
  decltype(auto) with_bindings_at(F& f, std::index_sequence<K...>) const {
    if constexpr (Unused) return f(ctgrad::allow_unused(binding<K, Ins>())...);
    else return f(binding<K, Ins>()...);
  }
  template <std::size_t K, class In>
  [[nodiscard]] auto binding() const {
    std::array<std::size_t, In::shape.rank> e{};
    for (std::size_t a = 0; a < In::shape.rank; ++a) e[a] = values[K].extents[a];
    return ctgrad::bind(In{}, view<const double, In::shape.rank>(values[K].data.data(), e));
  }
};

template <class T>
void compare(const T& lhs, const T& rhs, std::size_t k, verify_report& r) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < lhs.values.size(); ++i) {
    diff = std::max(diff, std::abs(lhs.values[i] - rhs.values[i]));
    scale = std::max(scale, std::abs(rhs.values[i]));
  }
  const double rel = scale > 0 ? diff / scale : diff;
  r.elements += lhs.values.size();
  r.elements_per_output[k] += lhs.values.size();
  r.abs_error_per_output[k] = std::max(r.abs_error_per_output[k], diff);
  r.rel_error_per_output[k] = std::max(r.rel_error_per_output[k], rel);
  r.max_abs_error = std::max(r.max_abs_error, diff);
  r.max_rel_error = std::max(r.max_rel_error, rel);
}

// Cold: verification runs a few dozen trials on small random inputs.
template <class... Ls, class... Rs, class... Ins>
[[gnu::cold]] verify_report run_verify(expr_list<Ls...>, expr_list<Rs...>, expr_list<Ins...>, const verify_options& o) {
  static_assert(sizeof...(Ls) == sizeof...(Rs), "ctgrad::doc::verify(): both lists need as many expressions");
  static_assert(((Ls::shape == Rs::shape) && ...),
                "ctgrad::doc::verify(): expressions at the same position need the same rank and broadcast pattern");
  verify_report r;
  r.abs_error_per_output.assign(sizeof...(Ls), 0.0);
  r.rel_error_per_output.assign(sizeof...(Ls), 0.0);
  r.elements_per_output.assign(sizeof...(Ls), 0);
  random_source rng(o.seed);
  random_inputs<Ins...> in;
  // One plan for both sides, interpreted (eval/interpret.hpp): every node in double, sums in
  // order, so a node's value does not depend on the plan that computes it, and a subexpression
  // both sides share, computed once, has the value two plans would compute twice. On inputs
  // this small, compiling the loops would cost more than it saves (for a batch-norm-sized plan
  // about 1.8 s of compile time against 0.45 s), and so would a second plan and a tuple of
  // result types (the results come as dynamic tensors).
  auto both = ctgrad::compile<double>(expr_list<Ls..., Rs...>{});
  constexpr std::size_t n = sizeof...(Ls);
  for (std::size_t t = 0; t < o.trials; ++t) {
    in.draw(rng, o);
    // the inputs of both sides: one side need not use all of them
    const auto values = in.template with_bindings<true>([&](const auto&... b) { return both.interpret_values(b...); });
    for (std::size_t k = 0; k < n; ++k) detail::compare(values[k], values[n + k], k, r);
    ++r.trials;
  }
  return r;
}

/// ctgrad::gradcheck of E on each trial's random inputs (cold, as run_verify).
template <class E, class Wrt, class... Ins>
[[gnu::cold]] void run_gradcheck(E, Wrt, expr_list<Ins...>, gradient_check& c) {
  random_source rng(c.options.seed);
  random_inputs<Ins...> in;
  for (std::size_t t = 0; t < c.options.trials; ++t) {
    in.draw(rng, c.options);
    const gradcheck_report r =
        in.template with_bindings<false>([&](const auto&... b) { return ctgrad::gradcheck(E{}, Wrt{}, c.tolerances, b...); });
    for (const auto& s : r.inputs) c.elements += s.elements;
    ++c.trials;
    if (!r.passed && c.passed) {
      c.passed = false;
      c.failure = fmt::format("{}", r);
    }
  }
}

}  // namespace detail

/// Evaluates both lists on the same random inputs, `options.trials` times, and reports the
/// worst disagreement (lhs is checked against rhs, the reference).
template <class... Ls, class... Rs>
verify_report verify(expr_list<Ls...> lhs, expr_list<Rs...> rhs, const verify_options& options = {}) {
  using inputs = typename detail::input_list<inputs_t<Ls..., Rs...>>::type;
  return detail::run_verify(lhs, rhs, inputs{}, options);
}

/// A hand-derived closed form shown beside derived gradients, with its verification.
struct closed_form {
  std::vector<std::string> tex;  ///< one per gradient, LaTeX with the caller's names
  verify_report report;
  verify_options options;
};

/// Renders `hand` (one expression per gradient) with `names`, beside the report of a verification
/// made already (a part of a larger one: verify_report::part).
template <class... Hs>
closed_form closed_form_of(expr_list<Hs...>, const name_table& names, const verify_report& report,
                           const verify_options& options) {
  closed_form c;
  (c.tex.push_back(doc::to_latex(Hs{}, names)), ...);
  c.report = report;
  c.options = options;
  return c;
}

/// Renders `hand` (one expression per gradient) with `names` and verifies `derived` against it.
template <class... Ds, class... Hs>
closed_form check_closed_form(expr_list<Ds...> derived, expr_list<Hs...> hand, const name_table& names,
                              const verify_options& options = {}) {
  return doc::closed_form_of(hand, names, doc::verify(derived, hand, options), options);
}

/// ctgrad::gradcheck of the output's gradients with respect to `wrt` on `options.trials` random
/// inputs (drawn as verify() draws them), for a derivation page:
///   auto c = ctgrad::doc::check_gradients(y, ctgrad::wrt(x, gamma), {.trials = 8, .ranges = {{"eps", 1e-3, 1e-3}}});
template <Expression E, class... Ws>
gradient_check check_gradients(E e, wrt_t<Ws...> w, const verify_options& options = {},
                               const gradcheck_options& tolerances = {}) {
  using inputs = typename detail::input_list<inputs_t<E>>::type;
  gradient_check c;
  c.options = options;
  c.tolerances = tolerances;
  detail::run_gradcheck(e, w, inputs{}, c);
  return c;
}

}  // namespace ctgrad::doc
