#pragma once
// ctgrad/doc/markdown.hpp: a derivation as Markdown with LaTeX math, as GitHub renders it.
//
//   auto d = ctgrad::doc::derive(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x), names);
//   std::string page = ctgrad::doc::markdown(d, {.title = "Softplus"});          // a whole page
//   std::string part = ctgrad::doc::markdown_backward(d);                       // or its sections
//
// The sections are written for a reader who does not see the code: every forward step is a
// numbered definition (F1, F2, ...); every backward step (B1, B2, ...) names the node, the
// later steps that read it, the local rule each of them contributes by (with its general
// formula), the sums over broadcast axes, and the accumulation when several steps read the same
// value. Math uses $...$ inline and $$...$$ on lines of their own; no math inside emphasis and
// no \\ line breaks (both trip GitHub's renderer).
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ctgrad/doc/derivation.hpp"
#include "ctgrad/doc/verify.hpp"

namespace ctgrad::doc {

namespace detail {

CTGRAD_RENDER_FN inline std::string step_list(const std::vector<std::size_t>& steps) {
  std::string s;
  for (std::size_t k = 0; k < steps.size(); ++k) {
    if (k) s += k + 1 == steps.size() ? " and " : ", ";
    s += fmt::format("F{}", steps[k]);
  }
  return s;
}

CTGRAD_RENDER_FN inline std::string shape_phrase(const std::string& shape) {
  if (shape.empty()) return {};
  if (shape == "1") return " (a scalar)";
  return fmt::format(" (${}$)", shape);
}

CTGRAD_RENDER_FN inline std::string number_word(std::size_t n) {
  static const char* words[] = {"no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
  return n < 10 ? words[n] : fmt::format("{}", n);
}

/// An error as a bound, so that the text does not change with the last bits of a computation
/// (evaluation order, compiler): "0" when exact, else "below 1e-12" for the smallest power of
/// ten from 1e-15 up that exceeds it, else the value to two digits.
CTGRAD_RENDER_FN inline std::string error_text(double e) {
  if (e == 0) return "0 (identical)";
  for (int k = -15; k <= -1; ++k) {
    const double bound = std::pow(10.0, k);
    if (e < bound * 0.5) return fmt::format("below {:.0e}", bound * 0.5);
    if (e < bound) return fmt::format("below {:.0e}", bound);
  }
  return fmt::format("{:.1e}", e);
}

/// Prose as the start of a sentence.
CTGRAD_RENDER_FN inline std::string sentence(std::string s) {
  if (!s.empty() && s.front() >= 'a' && s.front() <= 'z') s.front() = static_cast<char>(s.front() - 'a' + 'A');
  return s;
}

}  // namespace detail

/// The inputs, one bullet each.
CTGRAD_RENDER_FN inline std::string markdown_inputs(const derivation& d) {
  std::string out;
  for (const auto& in : d.inputs) {
    out += fmt::format("- ${}${}", in.tex, detail::shape_phrase(in.shape));
    if (!in.description.empty()) out += ": " + in.description;
    else if (!in.seed_of.empty())
      out += fmt::format(": the upstream gradient, the given adjoint of the output ${}$ that seeds the backward pass.",
                         in.seed_of);
    else if (in.differentiated) out += ": an input we differentiate with respect to.";
    else out += ": an input held constant (no gradient is taken with respect to it).";
    out += "\n";
  }
  return out;
}

/// The forward pass: one numbered definition per unique intermediate, in evaluation order.
CTGRAD_RENDER_FN inline std::string markdown_forward(const derivation& d) {
  std::string out;
  for (const auto& f : d.forward) {
    out += fmt::format("**F{}.** ${} = {}${}.", f.number, f.tex, f.definition_tex, detail::shape_phrase(f.shape));
    if (!f.description.empty()) out += " " + detail::sentence(f.description);
    if (f.shape_only) out += " It depends only on the shape of its operand, so no gradient flows through it.";
    if (f.consumers.size() > 1) out += fmt::format(" Read by {}.", detail::step_list(f.consumers));
    if (f.is_output) out += " This is an output of the computation.";
    out += "\n\n";
  }
  return out;
}

/// The backward pass: one numbered adjoint step per unique node that depends on a wrt input,
/// in reverse evaluation order.
CTGRAD_RENDER_FN inline std::string markdown_backward(const derivation& d) {
  std::string out;
  for (const auto& b : d.backward) {
    std::vector<const contribution*> consumers;
    std::vector<std::size_t> steps;
    const contribution* seed = nullptr;
    for (const auto& c : b.contributions) {
      if (c.from_seed) seed = &c;
      else {
        consumers.push_back(&c);
        if (steps.empty() || steps.back() != c.consumer) steps.push_back(c.consumer);
      }
    }
    const std::string where = b.is_input ? fmt::format("The input ${}$", b.node_tex) : fmt::format("${}$", b.node_tex);
    out += fmt::format("**B{}.** ", b.number);
    if (seed && consumers.empty()) {
      if (seed->tex == b.adjoint_tex)
        out += fmt::format("The adjoint ${}$ of the output ${}$ is given{}: it is the upstream gradient, the seed of the "
                           "backward pass.",
                           b.adjoint_tex, b.node_tex, detail::shape_phrase(b.shape));
      else
        out += fmt::format("The adjoint of the output ${}$ is the given upstream gradient, ${} = {}${}: the seed of the "
                           "backward pass.",
                           b.node_tex, b.adjoint_tex, seed->tex, detail::shape_phrase(b.shape));
      if (!b.note.empty()) out += " " + b.note;
      out += "\n\n";
      continue;
    }
    if (consumers.size() == 1) {
      const contribution& c = *consumers.front();
      out += fmt::format("{} is read only by F{}, ${}$. ", where, c.consumer, c.consumer_tex);
      if (c.zero) {
        out += fmt::format("Its rule ({}) contributes nothing.", c.rule_name);
      } else {
        out += fmt::format("Rule: {}", c.rule_name);
        if (!c.rule_latex.empty()) out += fmt::format(", ${}$", c.rule_latex);
        out += ".";
        if (!c.summed_axes.empty())
          out += fmt::format(" In F{} the value was repeated along ${}$ to meet a larger operand, so the contribution is "
                             "summed over ${}$ (adjoint of a broadcast = sum over those axes).",
                             c.consumer, c.summed_axes, c.summed_axes);
        if (!c.broadcast_axes.empty())
          out += fmt::format(" The rule's result is repeated along ${}$ to the shape of the value (adjoint of a "
                             "reduction = broadcast).",
                             c.broadcast_axes);
      }
    } else {
      out += fmt::format("{} is read by {} later steps, {}, so its adjoint accumulates one contribution per use: the "
                         "multivariable chain rule adds the contributions of all paths through ${}${}.",
                         where, detail::number_word(consumers.size()), detail::step_list(steps), b.node_tex,
                         seed ? fmt::format(", and ${}$ is also an output, so the seed ${}$ is added", b.node_tex, seed->tex)
                              : std::string{});
      out += "\n\n";
      for (const contribution* c : consumers) {
        out += fmt::format("- from F{} (${}$), {}", c->consumer, c->consumer_tex, c->rule_name);
        if (!c->rule_latex.empty()) out += fmt::format(" (${}$)", c->rule_latex);
        if (c->zero) out += ": nothing";
        else {
          if (!c->summed_axes.empty()) out += fmt::format(", summed over ${}$ where it was broadcast", c->summed_axes);
          if (!c->broadcast_axes.empty()) out += fmt::format(", repeated along ${}$", c->broadcast_axes);
          out += fmt::format(": ${}$", c->tex);
        }
        out += "\n";
      }
    }
    if (!b.note.empty()) out += (consumers.size() > 1 ? "\n" : " ") + b.note;
    out += "\n\n";
    // A step with one contribution is its rule applied to adjoints by name; with several, the
    // sum as ctgrad builds it is shown too when it differs (terms gathered, signs moved out).
    if (b.sum_tex == b.result_tex || consumers.size() + (seed ? 1 : 0) < 2) {
      out += fmt::format("$$\n{} = {}\n$$\n\n", b.adjoint_tex, b.sum_tex.empty() ? b.result_tex : b.sum_tex);
    } else {
      out += fmt::format("$$\n{} = {}\n$$\n\n", b.adjoint_tex, b.sum_tex);
      out += fmt::format("As ctgrad builds this sum it simplifies it (the adjoints substituted, constants gathered, "
                         "signs moved out, sums of broadcasts turned into products):\n\n$$\n{} = {}\n$$\n\n",
                         b.adjoint_tex, b.result_tex);
    }
  }
  return out;
}

/// The final gradients (written with the caller's names only), and a closed form beside each
/// with its verification when one is given.
CTGRAD_RENDER_FN
inline std::string markdown_gradients(const derivation& d, const closed_form* hand = nullptr,
                                      const std::string& loss = "L") {
  std::string out;
  for (std::size_t k = 0; k < d.gradients.size(); ++k) {
    const auto& g = d.gradients[k];
    // Too long in the caller's names alone: written with the forward steps' values as well.
    const bool long_form = g.tex.size() > 400 && g.forward_tex.size() < g.tex.size();
    if (long_form)
      out += fmt::format("Written with the forward pass's values (the expansion into the inputs alone would take {} "
                         "characters of LaTeX):\n\n",
                         g.tex.size());
    out += fmt::format("$$\n\\frac{{\\partial {}}}{{\\partial {}}} = {}\n$$\n\n", loss, g.input_tex,
                       long_form ? g.forward_tex : g.tex);
    if (hand && k < hand->tex.size()) {
      out += fmt::format("Hand-derived closed form:\n\n$$\n\\frac{{\\partial {}}}{{\\partial {}}} = {}\n$$\n\n", loss,
                         g.input_tex, hand->tex[k]);
      out += fmt::format("Largest difference over the random batches described below: absolute {}, relative {}.\n\n",
                         detail::error_text(hand->report.abs_error_per_output[k]),
                         detail::error_text(hand->report.rel_error_per_output[k]));
    }
  }
  return out;
}

/// One paragraph: how a closed form was verified, with the numbers.
CTGRAD_RENDER_FN inline std::string markdown_verification(const closed_form& hand, double tolerance = 1e-12) {
  const auto& r = hand.report;
  const auto& o = hand.options;
  return fmt::format(
      "Verification (computed when this page was generated): both were evaluated in double precision on {} random "
      "batches, every extent drawn uniformly from {} to {} and the values from a fixed-seed SplitMix64 generator "
      "(seed {}), {} elements compared in all. The largest absolute difference is {}; the largest relative "
      "difference (max |derived - closed form| / max |closed form| per gradient and batch) is {}: {}. (Differences "
      "are printed as bounds so that the page does not depend on the last bits of floating-point rounding.)\n",
      r.trials, o.min_extent, o.max_extent, o.seed, r.elements, detail::error_text(r.max_abs_error),
      detail::error_text(r.max_rel_error),
      r.max_rel_error <= tolerance ? fmt::format("they agree to rounding (tolerance {:.0e})", tolerance)
                                   : fmt::format("**they disagree** (tolerance {:.0e})", tolerance));
}

/// The local rules a derivation uses, each once, with its general formula.
CTGRAD_RENDER_FN inline std::string markdown_rules(const derivation& d) {
  std::vector<std::string> seen;
  std::string out;
  for (const auto& b : d.backward)
    for (const auto& c : b.contributions) {
      if (c.from_seed) continue;
      bool known = false;
      for (const auto& s : seen) known = known || s == c.rule_name + c.rule_latex;
      if (known) continue;
      seen.push_back(c.rule_name + c.rule_latex);
      out += "- " + c.rule_name;
      if (!c.rule_latex.empty()) out += fmt::format(": ${}$", c.rule_latex);
      out += "\n";
    }
  return out;
}

struct page_options {
  std::string title = "Derivation";
  std::string loss = "L";
  /// A file stem: the page shows the pictures stem_forward.svg and stem_gradients.svg (the
  /// caller writes d.forward_dot and d.gradient_dot there and renders them with Graphviz).
  std::string graphs{};
};

/// How to read the page: the extents and index of every axis, broadcasting, the adjoint
/// notation. Generated from the derivation (its extents and the reductions it uses).
CTGRAD_RENDER_FN inline std::string markdown_notation(const derivation& d, const page_options& o) {
  std::string out;
  if (!d.extents.empty()) {
    std::string axes;
    for (std::size_t a = 0; a < d.extents.size(); ++a) {
      if (a) axes += a + 1 == d.extents.size() ? " and " : ", ";
      axes += fmt::format("axis {} has extent ${}$ and index ${}$", a, d.extents[a],
                          ctgrad::detail::latex_axes(std::uint32_t{1} << a));
    }
    out += fmt::format(
        "Every array has at most {} axes: {}. Shapes are written as $m \\times n$. A value that is 1 along an axis "
        "(a reduction keeps the axis it sums over, with extent 1) is repeated along that axis where it meets a larger "
        "operand, and a value with fewer axes lines up with the last ones (broadcasting, as in NumPy); formulas leave "
        "the repetition implicit. ",
        detail::number_word(d.extents.size()), axes);
  }
  out += fmt::format(
      "$\\sum_{{j}} a$ sums $a$ over index $j$, $a \\odot b$ is the elementwise product, and a count of elements "
      "is written as its extent. The backward pass writes $\\overline{{v}} = \\partial {} / \\partial v$ for the "
      "adjoint of a value $v$; a value read by several later steps collects one contribution from each (the "
      "multivariable chain rule), and adjoints already computed are used by name.\n\n",
      o.loss);
  return out;
}

/// A picture of the page's graphs, when page_options::graphs names them.
CTGRAD_RENDER_FN
inline std::string markdown_picture(const page_options& o, const std::string& which, const std::string& alt) {
  if (o.graphs.empty()) return {};
  const std::string file = o.graphs + "_" + which;
  return fmt::format("![{}]({}.svg)\n\n(Graphviz source: [{}.dot]({}.dot).)\n\n", alt, file, file, file);
}

/// One paragraph: the finite-difference check of a derivation's gradients.
CTGRAD_RENDER_FN inline std::string markdown_gradient_check(const gradient_check& c) {
  return fmt::format(
      "Verification (computed when this page was generated): ctgrad::gradcheck compared the derived gradients with "
      "central finite differences in double precision on {} random inputs, every extent drawn uniformly from {} to "
      "{} and the values from a fixed-seed SplitMix64 generator (seed {}), {} gradient elements in all, each within "
      "{:.0e} + {:.0e} of the numeric value: {}.\n",
      c.trials, c.options.min_extent, c.options.max_extent, c.options.seed, c.elements, c.tolerances.abs_tol,
      c.tolerances.rel_tol, c.passed ? "all agree" : "**they disagree**:\n\n```\n" + c.failure + "\n```");
}

/// A whole page with generic prose: notation, inputs, forward pass, backward pass, gradients
/// and their verification (a closed form, a finite-difference check, or both).
CTGRAD_RENDER_FN
inline std::string markdown(const derivation& d, const page_options& o = {}, const closed_form* hand = nullptr,
                            const gradient_check* check = nullptr) {
  std::string out = fmt::format("# {}\n\n", o.title);
  out += fmt::format("Generated by ctgrad ({} chain rule) from the expression alone: every step, formula and graph "
                     "below is what `ctgrad::doc::derive` and `ctgrad::doc::markdown` write.\n\n",
                     d.rule == chain_rule::raw ? "unsimplified" : "simplified");
  out += "## Notation\n\n" + markdown_notation(d, o);
  out += "## Inputs\n\n" + markdown_inputs(d) + "\n";
  out += fmt::format("## Forward pass\n\n{} unique nodes (an input or a value used twice is one node), one step per "
                     "operation in the order it is computed.\n\n",
                     d.forward_nodes);
  out += markdown_forward(d);
  out += markdown_picture(o, "forward", "forward graph of " + o.title);
  out += "## Backward pass\n\n" + markdown_backward(d);
  out += "The rules used above, in general form:\n\n" + markdown_rules(d) + "\n";
  out += markdown_picture(o, "gradients", "graph of the derived gradients of " + o.title);
  out += "## Gradients\n\n" + markdown_gradients(d, hand, o.loss);
  if (hand) out += markdown_verification(*hand);
  if (check) out += (hand ? "\n" : "") + markdown_gradient_check(*check);
  return out;
}

}  // namespace ctgrad::doc
