// Generates docs/batch_norm.md and docs/batch_norm_unsimplified.md (with their Graphviz graphs):
// batch normalization in training and in inference mode, every forward and backward step
// derived by ctgrad, the local rule of each step named, the final gradients next to the
// hand-derived closed forms of the reference document, verified on random data.
//
//   build/examples/batch_norm_doc DIR     writes DIR/batch_norm.md, DIR/batch_norm_unsimplified.md
//                                         and DIR/batch_norm_*.dot
//   cmake --build build --target batch_norm_docs     regenerates docs/ (and the SVGs, with Graphviz)
//
// Everything printed is deterministic (fixed-seed generator, numbers to two digits), so the
// committed pages must equal a fresh run; the test doc_batch_norm_up_to_date enforces that.
#include <cstdio>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include <ctgrad.hpp>
#include <ctgrad/doc/doc.hpp>

namespace {

namespace doc = ctgrad::doc;

// ---- the computation, written as the reference document writes it -------------------------
constexpr auto x = ctgrad::input<"x", 2>;  // m x n: m samples (axis 0, index i), n features
constexpr auto gamma_ = ctgrad::input<"gamma", 1>;
constexpr auto beta_ = ctgrad::input<"beta", 1>;
constexpr auto eps = ctgrad::input<"eps", 0>;
constexpr auto dy = ctgrad::input<"dy", 2>;
constexpr auto running_mean = ctgrad::input<"running_mean", 1>;
constexpr auto running_var = ctgrad::input<"running_var", 1>;

constexpr auto m = ctgrad::count<0>(x);
constexpr auto mu = ctgrad::mean<0>(x);
constexpr auto var = ctgrad::variance<0>(x);
constexpr auto xhat = ctgrad::divide(ctgrad::subtract(x, mu), ctgrad::sqrt(ctgrad::add(var, eps)));
constexpr auto y = ctgrad::add(ctgrad::multiply(gamma_, xhat), beta_);

// Inference mode: ctgrad's own layer.
constexpr auto y_inf = ctgrad::get<0>(
    ctgrad::nn::batch_norm<ctgrad::nn::inference, 0>(x, gamma_, beta_, running_mean, running_var, eps));
constexpr auto xhat_inf = ctgrad::nn::normalize_with(x, running_mean, running_var, eps);

// ---- hand-derived closed forms (reference document, "Simplified Vectorized Form") ----------
// Built on unsimplified(dy) so that they stay exactly as the document writes them (ctgrad's
// rewrites would otherwise reshape them as they are built); the values are the same.
constexpr auto vector_shape = ctgrad::static_shape{1, 0};
constexpr auto dxhat = ctgrad::multiply(dy, gamma_);  // what the derivation finds for the adjoint of xhat
constexpr auto dy_written = doc::unsimplified(dy);
constexpr auto dxhat_written = ctgrad::multiply(dy_written, gamma_);
constexpr auto closed_training = ctgrad::exprs(
    ctgrad::multiply(ctgrad::divide(ctgrad::constant<1>, m),
                     ctgrad::multiply(ctgrad::rsqrt(ctgrad::add(var, eps)),
                                      ctgrad::subtract(ctgrad::subtract(ctgrad::multiply(m, dxhat_written),
                                                                        ctgrad::sum<0>(dxhat_written)),
                                                       ctgrad::multiply(xhat, ctgrad::sum<0>(ctgrad::multiply(dxhat_written, xhat)))))),
    ctgrad::reduce_to<vector_shape>(ctgrad::multiply(dy_written, xhat)), ctgrad::reduce_to<vector_shape>(dy_written));
constexpr auto closed_inference =
    ctgrad::exprs(ctgrad::multiply(dxhat_written, ctgrad::rsqrt(ctgrad::add(running_var, eps))),
                  ctgrad::reduce_to<vector_shape>(ctgrad::multiply(dy_written, xhat_inf)),
                  ctgrad::reduce_to<vector_shape>(dy_written));

doc::name_table training_names() {
  return {
      doc::name(x, "x", "x").describe("the batch: $m$ samples (rows, index $i$), $n$ features (columns)."),
      doc::name(gamma_, "gamma", "\\gamma").label("γ").describe("the learned scale, one per feature."),
      doc::name(beta_, "beta", "\\beta").label("β").describe("the learned shift, one per feature."),
      doc::name(eps, "eps", "\\epsilon").label("ε").describe(
          "a small positive constant that keeps the square root away from zero."),
      doc::name(dy, "dy", "\\overline{y}").label("dy").describe(
          "the upstream gradient $\\partial L / \\partial y$, which the next layer hands back."),
      doc::name(m, "m", "m").describe("the batch size: the number of elements along $i$."),
      doc::name(mu, "mu", "\\mu").label("μ").describe("the batch mean of each feature."),
      doc::name(var, "sigma^2", "\\sigma^2").label("σ²").describe(
          "the batch variance of each feature, biased (it divides by $m$, not $m - 1$)."),
      doc::name(xhat, "xhat", "\\hat{x}").label("x̂").describe(
          "the normalized batch: every feature now has mean 0 and variance $\\sigma^2 / (\\sigma^2 + \\epsilon)$, "
          "almost 1."),
      doc::name(y, "y", "y").describe("scaled and shifted: the layer's output."),
      doc::name(dxhat, "dxhat", "\\overline{\\hat{x}}").label("dx̂"),
      doc::name(dxhat_written, "dxhat", "\\overline{\\hat{x}}").label("dx̂"),
  };
}

doc::name_table inference_names() {
  return {
      doc::name(x, "x", "x").describe("the batch: $m$ samples (rows, index $i$), $n$ features (columns)."),
      doc::name(gamma_, "gamma", "\\gamma").label("γ").describe("the learned scale, one per feature."),
      doc::name(beta_, "beta", "\\beta").label("β").describe("the learned shift, one per feature."),
      doc::name(eps, "eps", "\\epsilon").label("ε").describe("the same small constant as in training."),
      doc::name(running_mean, "mu_run", "\\mu_{\\mathrm{run}}").label("μ_run").describe(
          "the running mean kept during training, one per feature: a constant here."),
      doc::name(running_var, "sigma^2_run", "\\sigma^2_{\\mathrm{run}}").label("σ²_run").describe(
          "the running variance kept during training, one per feature: a constant here."),
      doc::name(dy, "dy", "\\overline{y}").label("dy").describe("the upstream gradient $\\partial L / \\partial y$."),
      doc::name(xhat_inf, "xhat", "\\hat{x}").label("x̂").describe(
          "the batch normalized with the running estimates. ctgrad's layer multiplies by the reciprocal square root "
          "(one per feature) instead of dividing every element."),
      doc::name(y_inf, "y", "y").describe("the layer's output."),
      doc::name(dxhat, "dxhat", "\\overline{\\hat{x}}").label("dx̂"),
      doc::name(dxhat_written, "dxhat", "\\overline{\\hat{x}}").label("dx̂"),
  };
}

const doc::verify_options verification{
    .trials = 40, .min_extent = 3, .max_extent = 9, .low = -3, .high = 3,
    .ranges = {{"eps", 1e-5, 1e-5}, {"gamma", 0.5, 2.0}, {"beta", -1, 1}, {"running_var", 0.5, 2.0}},
    .seed = 20240501};

template <doc::chain_rule Rule>
struct part {
  doc::derivation training, inference;
  doc::closed_form training_check, inference_check;
};

template <doc::chain_rule Rule>
part<Rule> derive_both() {
  part<Rule> p;
  const auto wrt = ctgrad::wrt(x, gamma_, beta_);
  p.training = doc::derive<Rule>(ctgrad::outputs(y), ctgrad::seeds(dy), wrt, training_names(),
                                 {.extents = {"m", "n"}, .title = "Batch norm, training"});
  p.inference = doc::derive<Rule>(ctgrad::outputs(y_inf), ctgrad::seeds(dy), wrt, inference_names(),
                                  {.extents = {"m", "n"}, .title = "Batch norm, inference"});
  return p;
}

/// The closed forms of both modes against the gradients both chain rules derive, and ctgrad's
/// training layer against the textbook form (outputs and gradients): one doc::verify, so all are
/// checked on the same random batches by one evaluation plan (each plan costs compile time).
/// Returns the library check; the closed forms' parts go to their pages.
doc::verify_report verify_all(part<doc::chain_rule::simplified>& s, part<doc::chain_rule::raw>& r) {
  const auto wrt = ctgrad::wrt(x, gamma_, beta_);
  constexpr auto y_lib = ctgrad::nn::batch_norm_train(x, gamma_, beta_, eps);
  using doc::chain_rule;
  const doc::verify_report all = doc::verify(
      ctgrad::exprs(doc::derived_gradients<chain_rule::simplified>(ctgrad::outputs(y), ctgrad::seeds(dy), wrt),
                    doc::derived_gradients<chain_rule::raw>(ctgrad::outputs(y), ctgrad::seeds(dy), wrt),
                    doc::derived_gradients<chain_rule::simplified>(ctgrad::outputs(y_inf), ctgrad::seeds(dy), wrt),
                    doc::derived_gradients<chain_rule::raw>(ctgrad::outputs(y_inf), ctgrad::seeds(dy), wrt), y_lib,
                    ctgrad::vjp(ctgrad::outputs(y_lib), ctgrad::seeds(dy), wrt)),
      ctgrad::exprs(closed_training, closed_training, closed_inference, closed_inference, y,
                    ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), wrt)),
      verification);
  constexpr std::size_t g = closed_training.size;  // gradients per mode: x, gamma, beta
  static_assert(closed_inference.size == g);
  s.training_check = doc::closed_form_of(closed_training, s.training.user_names, all.part(0, g), verification);
  r.training_check = doc::closed_form_of(closed_training, r.training.user_names, all.part(g, g), verification);
  s.inference_check = doc::closed_form_of(closed_inference, s.inference.user_names, all.part(2 * g, g), verification);
  r.inference_check = doc::closed_form_of(closed_inference, r.inference.user_names, all.part(3 * g, g), verification);
  return all.part(4 * g, g + 1);
}

bool write(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  return static_cast<bool>(f);
}

std::string picture(const std::string& file, const std::string& alt) {
  return fmt::format("![{}]({}.svg)\n\n(Graphviz source: [{}.dot]({}.dot).)\n\n", alt, file, file, file);
}

// ---- the pages ------------------------------------------------------------------------------

constexpr const char* generated_note =
    "<!-- Generated by examples/batch_norm_doc.cpp; do not edit. Regenerate with "
    "`cmake --build build --target batch_norm_docs` (see README). -->\n\n";

std::string notation_section() {
  return R"(## Notation and how to read the steps

The batch $x$ is an $m \times n$ array: $m$ samples along axis 0, whose index we call $i$, and $n$
features. Quantities with one entry per feature ($\gamma$, $\beta$, $\mu$, $\sigma^2$) are $1 \times n$ rows or
length-$n$ vectors. Where such a row meets an $m \times n$ array it is repeated along $i$ (broadcasting, as in
NumPy and in the reference document); formulas leave that repetition implicit. $\sum_{i}$ sums over the samples
and keeps a $1 \times n$ row. $a \odot b$ is the elementwise product, and a scalar factor is simply written
next to an array.

The computation is broken into a *trace*: every intermediate value gets a name and one line that computes it
from earlier values (F1, F2, ...). Values the reference document names keep their names
($\mu$, $\sigma^2$, $\hat{x}$, $y$); the others are called $v_{1}, v_{2}, \dots$ in order.

The backward pass runs the trace in reverse (B1, B2, ...). We write $\overline{v} = \partial L / \partial v$,
the *adjoint* of $v$: how the loss $L$ changes with $v$. The loss itself is never needed, only the upstream
gradient $\overline{y}$ that the next layer hands back. Each line of the trace is one elementary operation
$c = f(a, b)$, and its local rule says what $\overline{c}$ contributes to $\overline{a}$ and $\overline{b}$.
When a value is read by several later lines, its adjoint is the *sum* of the contributions of all of them
(the multivariable chain rule). Two rules concern shapes: the adjoint of a sum over $i$ is the adjoint
repeated along $i$ (a *broadcast*), and the adjoint of a value that was repeated along $i$ is summed over $i$.

)";
}

std::string training_part(const part<doc::chain_rule::simplified>& p) {
  const auto& d = p.training;
  std::string out = "## Training mode\n\n";
  out += R"(In training, the layer normalizes every feature with the mean and variance of the current batch,

$$
\mu = \frac{1}{m} \sum_{i} x, \qquad \sigma^2 = \frac{1}{m} \sum_{i} (x - \mu)^2, \qquad
\hat{x} = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad y = \gamma \odot \hat{x} + \beta,
$$

and it has to pass gradients back to $x$, $\gamma$ and $\beta$. What makes the backward pass instructive is that
$\mu$ and $\sigma^2$ depend on *every* sample of the batch, so each $x$ influences $y$ along three paths: directly,
through the mean and through the variance.

### The inputs

)";
  out += doc::markdown_inputs(d);
  out += fmt::format(R"(
### Forward pass

ctgrad builds the computation as a graph of {} unique nodes (an input or a value used twice is one node).
Each step below is one node, in the order it is computed. The mean is a sum divided by the count $m$; the
variance is the mean of the squared deviations.

)",
                     d.forward_nodes);
  out += doc::markdown_forward(d);
  out += "The forward graph (inputs in blue, the output with a double border; dashed edges read only a shape):\n\n";
  out += picture("batch_norm_training_forward", "forward graph of batch norm in training mode");
  out += R"(### Backward pass

We start from $\overline{y}$ and visit the steps in reverse. Every step shows who reads the value, the rule each
reader contributes by (its general form with $c$ the reader's result and $a$, $b$ its operands), and the
resulting adjoint. Adjoints already computed are used by name, exactly as an implementation would reuse them.

)";
  out += doc::markdown_backward(d);
  out += fmt::format(R"(The rules used above, in general form:

{}
Steps B1 to B{} are the whole backward pass: nothing else is needed to train the layer. Drawn as a graph, the
gradients reuse forward nodes (white) and add {} nodes of their own (shaded); the three gradients have a double
border. Unnamed intermediates are called $w_{{1}}, w_{{2}}, \dots$ in the picture.

)",
                     doc::markdown_rules(d), d.backward.size(), d.gradient_nodes - d.forward_nodes);
  out += picture("batch_norm_training_gradients", "graph of the derived gradients of batch norm in training mode");
  out += R"(### The gradients, and the closed form of the reference document

Substituting the adjoints into each other gives each gradient in terms of the forward quantities only. ctgrad
simplifies as it builds (no $0 +$, $1 \cdot$, double negations; sums of repeated values become products),
so this is also what it evaluates:

)";
  out += doc::markdown_gradients(d, &p.training_check);
  out += R"(The closed form for $x$ is the one in the reference document,
$\frac{\partial L}{\partial x} = \frac{1}{m \sqrt{\sigma^2 + \epsilon}} \left(m \overline{\hat{x}} - \sum_{i} \overline{\hat{x}} - \hat{x} \odot \sum_{i} \overline{\hat{x}} \odot \hat{x}\right)$
with $\overline{\hat{x}} = \overline{y} \odot \gamma$. It looks different from the derived one because the derived
expression keeps the three paths separate; the numbers agree:

)";
  out += doc::markdown_verification(p.training_check);
  return out;
}

std::string inference_part(const part<doc::chain_rule::simplified>& p) {
  const auto& d = p.inference;
  std::string out = "\n## Inference mode\n\n";
  out += R"(At inference the layer normalizes with the running estimates $\mu_{\mathrm{run}}$ and $\sigma^2_{\mathrm{run}}$
collected during training instead of batch statistics. They are constants for this batch, so no sample influences
another and the backward pass is a plain affine map. This part documents ctgrad's own layer,
`ctgrad::nn::batch_norm<ctgrad::nn::inference, 0>`, exactly as the library builds it.

### The inputs

)";
  out += doc::markdown_inputs(d);
  out += "\n### Forward pass\n\n";
  out += doc::markdown_forward(d);
  out += picture("batch_norm_inference_forward", "forward graph of batch norm in inference mode");
  out += "### Backward pass\n\n";
  out += doc::markdown_backward(d);
  out += picture("batch_norm_inference_gradients", "graph of the derived gradients of batch norm in inference mode");
  out += "### The gradients\n\n";
  out += doc::markdown_gradients(d, &p.inference_check);
  out += doc::markdown_verification(p.inference_check);
  return out;
}

std::string main_page(const part<doc::chain_rule::simplified>& p, const doc::verify_report& library_check) {
  std::string out = generated_note;
  out += R"(# Batch normalization, derived step by step

Batch normalization rescales every feature of a batch to mean 0 and variance 1 and then applies a learned scale
$\gamma$ and shift $\beta$. This page derives its gradients the way reverse-mode automatic differentiation does,
one elementary step at a time, and checks the result against the hand derivation of the reference document
(`shared/reference/batch_norm_explained.md`). Every formula, graph and number below was produced by ctgrad from the
expression itself (the program is `examples/batch_norm_doc.cpp`); a test keeps the page in sync with the library.
The same derivation without simplification, the raw chain rule, is in
[batch_norm_unsimplified.md](batch_norm_unsimplified.md).

)";
  out += notation_section();
  out += training_part(p);
  out += fmt::format(R"(
ctgrad's layer `ctgrad::nn::batch_norm_train` computes the same function in a numerically safer way (statistics
around a shift, see [batch_norm_modes.md](batch_norm_modes.md)), so its graph differs from the textbook form
above. On the same random batches, the largest relative difference between its output and derived gradients and
those of the textbook form is {} (per output and batch).
)",
                     doc::detail::error_text(library_check.max_rel_error));
  out += inference_part(p);
  return out;
}

std::string raw_page(const part<doc::chain_rule::raw>& p, std::size_t simplified_nodes) {
  std::string out = generated_note;
  out += R"(# Batch normalization, the raw chain rule

This is [batch_norm.md](batch_norm.md) without simplification: every local rule is applied literally and the
contributions are added exactly as the rules produce them. Nothing is rewritten: a negated sum stays a sum of
negations, a sum over $i$ of a value repeated along $i$ stays a sum instead of becoming $m$ times the value, a
division by a constant stays a division. ctgrad builds these expressions when the seed $\overline{y}$ is marked
unsimplified (`ctgrad::doc::unsimplified(dy)`): every node built on it skips the simplification rules, while the
forward pass is the same as before. Compare a step here with the same step in the simplified page to see what each
simplification does; the values are the same, as the verification at the end of each part shows.

)";
  out += notation_section();
  const auto& d = p.training;
  out += "## Training mode\n\n### Forward pass\n\n";
  out += doc::markdown_forward(d);
  out += "### Backward pass, unsimplified\n\n";
  out += doc::markdown_backward(d);
  out += fmt::format("The unsimplified gradients need {} unique nodes together with the forward pass ({} in the "
                     "simplified page's graph).\n\n",
                     d.gradient_nodes, simplified_nodes);
  out += picture("batch_norm_unsimplified_training_gradients",
                 "graph of the unsimplified gradients of batch norm in training mode");
  out += "### The gradients, unsimplified\n\n";
  out += doc::markdown_gradients(d, &p.training_check);
  out += doc::markdown_verification(p.training_check);
  const auto& di = p.inference;
  out += "\n## Inference mode\n\n### Forward pass\n\n";
  out += doc::markdown_forward(di);
  out += "### Backward pass, unsimplified\n\n";
  out += doc::markdown_backward(di);
  out += picture("batch_norm_unsimplified_inference_gradients",
                 "graph of the unsimplified gradients of batch norm in inference mode");
  out += "### The gradients, unsimplified\n\n";
  out += doc::markdown_gradients(di, &p.inference_check);
  out += doc::markdown_verification(p.inference_check);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: batch_norm_doc OUTPUT_DIRECTORY\n");
    return 2;
  }
  const std::string dir = argv[1];

  auto simplified = derive_both<doc::chain_rule::simplified>();
  auto raw = derive_both<doc::chain_rule::raw>();
  const doc::verify_report library_check = verify_all(simplified, raw);

  const std::string page = main_page(simplified, library_check);
  const std::string raw_text = raw_page(raw, simplified.training.gradient_nodes);

  bool ok = write(dir + "/batch_norm.md", page) && write(dir + "/batch_norm_unsimplified.md", raw_text) &&
            write(dir + "/batch_norm_training_forward.dot", simplified.training.forward_dot) &&
            write(dir + "/batch_norm_training_gradients.dot", simplified.training.gradient_dot) &&
            write(dir + "/batch_norm_inference_forward.dot", simplified.inference.forward_dot) &&
            write(dir + "/batch_norm_inference_gradients.dot", simplified.inference.gradient_dot) &&
            write(dir + "/batch_norm_unsimplified_training_gradients.dot", raw.training.gradient_dot) &&
            write(dir + "/batch_norm_unsimplified_inference_gradients.dot", raw.inference.gradient_dot);
  if (!ok) {
    std::fprintf(stderr, "batch_norm_doc: cannot write to %s\n", dir.c_str());
    return 1;
  }
  const bool verified = simplified.training_check.report.max_rel_error <= 1e-12 &&
                        simplified.inference_check.report.max_rel_error <= 1e-12 &&
                        raw.training_check.report.max_rel_error <= 1e-12 &&
                        raw.inference_check.report.max_rel_error <= 1e-12 && library_check.max_rel_error <= 1e-10;
  std::printf("batch_norm_doc: wrote %s/batch_norm.md and batch_norm_unsimplified.md; closed forms %s\n", dir.c_str(),
              verified ? "verified" : "DISAGREE");
  return verified ? 0 : 1;
}
