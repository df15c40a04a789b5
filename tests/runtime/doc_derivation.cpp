// ctgrad/doc derivations: the walk finds ctgrad::vjp's own gradients, the raw switch skips
// simplification without changing values, steps name rules and accumulation, every unique node
// is drawn once, Markdown avoids what GitHub mis-renders, verification is deterministic.
#include <algorithm>
#include <string>
#include <type_traits>

#include <catch2/catch.hpp>

#include <ctgrad.hpp>
#include <ctgrad/doc/doc.hpp>

namespace {
namespace doc = ctgrad::doc;
constexpr auto x = ctgrad::input<"x", 2>;
constexpr auto gamma_ = ctgrad::input<"gamma", 1>;
constexpr auto beta_ = ctgrad::input<"beta", 1>;
constexpr auto eps = ctgrad::input<"eps", 0>;
constexpr auto dy = ctgrad::input<"dy", 2>;
constexpr auto mu = ctgrad::mean<0>(x);
constexpr auto var = ctgrad::variance<0>(x);
constexpr auto xhat = ctgrad::divide(ctgrad::subtract(x, mu), ctgrad::sqrt(ctgrad::add(var, eps)));
constexpr auto y = ctgrad::add(ctgrad::multiply(gamma_, xhat), beta_);
constexpr auto wrt = ctgrad::wrt(x, gamma_, beta_);

doc::name_table names() {
  return {doc::name(mu, "mu", "\\mu"), doc::name(var, "sigma^2", "\\sigma^2"), doc::name(xhat, "xhat", "\\hat{x}"),
          doc::name(y, "y", "y"), doc::name(dy, "dy", "\\overline{y}")};
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
  return n;
}
}  // namespace

TEST_CASE("the derivation records ctgrad::vjp's own pass: its gradients are vjp's, written out") {
  // The documented gradients are the expressions vjp returns (the same types: derive() reads
  // vjp's pass), so their text, written with no names, is vjp's text.
  auto check = [](auto outputs, auto seeds, auto derived, const doc::derivation& d) {
    (void)outputs;
    (void)seeds;
    REQUIRE(d.gradients.size() == 3);
    CHECK(d.gradients[0].text == doc::to_text(ctgrad::get<0>(derived), doc::name_table{}));
    CHECK(d.gradients[1].text == doc::to_text(ctgrad::get<1>(derived), doc::name_table{}));
    CHECK(d.gradients[2].text == doc::to_text(ctgrad::get<2>(derived), doc::name_table{}));
    CHECK(d.gradients[0].unique_nodes == ctgrad::unique_node_count(ctgrad::get<0>(derived)));
  };
  const auto o = ctgrad::outputs(y);
  const auto s = ctgrad::seeds(dy);
  check(o, s, ctgrad::vjp(o, s, wrt), doc::derive(o, s, wrt, {}));
  check(o, s, ctgrad::vjp(o, ctgrad::seeds(doc::unsimplified(dy)), wrt), doc::derive<doc::chain_rule::raw>(o, s, wrt, {}));
  STATIC_REQUIRE(std::is_same_v<decltype(doc::derived_gradients<doc::chain_rule::raw>(o, s, wrt)),
                                decltype(ctgrad::vjp(o, ctgrad::seeds(doc::unsimplified(dy)), wrt))>);
  // and for ctgrad's own layer
  constexpr auto y_lib = ctgrad::nn::batch_norm_train(x, gamma_, beta_, eps);
  check(ctgrad::outputs(y_lib), s, ctgrad::vjp(ctgrad::outputs(y_lib), s, wrt), doc::derive(ctgrad::outputs(y_lib), s, wrt, {}));
}

TEST_CASE("unsimplified(seed) switches simplification off for what is built on it, and only there") {
  constexpr auto one = ctgrad::constant<1>;
  STATIC_REQUIRE(std::is_same_v<decltype(ctgrad::multiply(x, one)), std::remove_const_t<decltype(x)>>);
  constexpr auto raw = doc::unsimplified(x);
  STATIC_REQUIRE(decltype(raw)::unsimplified);
  STATIC_REQUIRE(std::is_same_v<decltype(ctgrad::multiply(raw, one)),
                                ctgrad::node<ctgrad::mul_op, std::remove_const_t<decltype(raw)>, ctgrad::one_node>>);
  STATIC_REQUIRE(decltype(ctgrad::negate(ctgrad::negate(raw)))::unsimplified);
  STATIC_REQUIRE(!decltype(ctgrad::negate(ctgrad::negate(x)))::unsimplified);
  STATIC_REQUIRE(std::is_same_v<decltype(ctgrad::negate(ctgrad::negate(x))), std::remove_const_t<decltype(x)>>);

  // the raw gradients are other types with the same values
  const auto simplified = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), wrt);
  const auto unsimplified = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(doc::unsimplified(dy)), wrt);
  STATIC_REQUIRE(!std::is_same_v<decltype(simplified), decltype(unsimplified)>);
  const auto r = doc::verify(unsimplified, simplified, {.trials = 20, .min_extent = 3, .ranges = {{"eps", 1e-5, 1e-5}}});
  CHECK(r.trials == 20);
  CHECK(r.max_rel_error <= 1e-12);
}

TEST_CASE("backward steps name rules, broadcast sums and accumulation") {
  const auto d = doc::derive(ctgrad::outputs(y), ctgrad::seeds(dy), wrt, names(), {.extents = {"m", "n"}});
  // forward: every unique node that is not an input or a constant is a step
  std::size_t leaves = 0;
  for (const auto& in : d.inputs) leaves += in.text == "dy" ? 0 : 1;
  CHECK(d.forward.size() + leaves == d.forward_nodes);
  // backward: one step per node that depends on x, gamma or beta (count(x) does not)
  CHECK(d.backward.size() == d.forward.size() - 1 + 3);
  auto step = [&](const std::string& node) {
    const auto it = std::find_if(d.backward.begin(), d.backward.end(), [&](const auto& b) { return b.node_tex == node; });
    REQUIRE(it != d.backward.end());
    return *it;
  };
  const auto bx = step("x");
  CHECK(bx.is_input);
  REQUIRE(bx.contributions.size() == 2);  // x is read by sum_i x and by x - mu: accumulation
  CHECK(bx.contributions[0].rule_name == "adjoint of a reduction = broadcast");
  CHECK(bx.contributions[1].rule_name == "difference rule");
  const auto bg = step("\\gamma");
  REQUIRE(bg.contributions.size() == 1);
  CHECK(bg.contributions[0].rule_name == "product rule");
  CHECK(bg.contributions[0].summed_axes == "i");  // gamma was broadcast along the samples
  CHECK(bg.result_tex.find("\\overline{y}") != std::string::npos);
  // the denominator of xhat gets the quotient rule, the radicand the chain rule through sqrt
  auto read_by = [&](const std::string& consumer_prefix) {
    const auto it = std::find_if(d.backward.begin(), d.backward.end(), [&](const auto& b) {
      return b.contributions.size() == 1 && b.contributions[0].consumer_tex.starts_with(consumer_prefix);
    });
    REQUIRE(it != d.backward.end());
    return *it;
  };
  CHECK(read_by("\\hat{x} = \\frac").contributions[0].rule_name == "quotient rule");
  CHECK(read_by("\\hat{x} = \\frac").contributions[0].summed_axes == "i");
  const auto radicand = std::find_if(d.backward.begin(), d.backward.end(), [](const auto& b) {
    return b.contributions.size() == 1 && b.contributions[0].consumer_tex.find("= \\sqrt{") != std::string::npos;
  });
  REQUIRE(radicand != d.backward.end());
  CHECK(radicand->contributions[0].rule_name == "chain rule through the square root");
  CHECK(step("y").contributions[0].from_seed);
  // final gradients use only the caller's names
  REQUIRE(d.gradients.size() == 3);
  CHECK(d.gradients[2].tex == "\\sum_{i} \\overline{y}");
  CHECK(d.gradients[0].tex.find("v_{") == std::string::npos);
}

TEST_CASE("a page for any expression: counts as extents, rules on their own axis, adjoints by name") {
  // RMSNorm, as a user writes it: mean over the features (axis 1, index j)
  constexpr auto ms = ctgrad::mean<1>(ctgrad::square(x));
  constexpr auto r = ctgrad::rsqrt(ctgrad::add(ms, eps));
  constexpr auto out = ctgrad::multiply(gamma_, ctgrad::multiply(x, r));
  const doc::name_table n{doc::name(r, "r", "r"), doc::name(out, "y", "y"), doc::name(dy, "dy", "\\overline{y}")};
  const auto d = doc::derive(ctgrad::outputs(out), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_), n, {.extents = {"m", "n"}});
  // the count over axis 1 is the extent n, in its step and in the final gradient
  const auto count_step = std::find_if(d.forward.begin(), d.forward.end(), [](const auto& f) { return f.shape_only; });
  REQUIRE(count_step != d.forward.end());
  CHECK(count_step->tex == "n");
  REQUIRE(d.gradients.size() == 2);
  CHECK(d.gradients[0].tex.find("count") == std::string::npos);
  CHECK(d.gradients[0].tex.find("{n}") != std::string::npos);
  // the sum over j: its rule says j, not i
  bool reduction_seen = false;
  for (const auto& b : d.backward)
    for (const auto& c : b.contributions)
      if (c.rule_name == "adjoint of a reduction = broadcast") {
        reduction_seen = true;
        CHECK(c.rule_latex == "c = \\sum_{j} a:\\quad \\bar{a} \\mathrel{+}= \\bar{c} \\text{ repeated along } j");
      }
  CHECK(reduction_seen);
  // adjoints already computed by name: r's radicand gets the rsqrt rule applied to \overline{r}
  const auto radicand = std::find_if(d.backward.begin(), d.backward.end(), [](const auto& b) {
    return b.contributions.size() == 1 && b.contributions[0].consumer_tex.starts_with("r = ");
  });
  REQUIRE(radicand != d.backward.end());
  CHECK(radicand->sum_tex.find("\\overline{r}") != std::string::npos);
  // constants folded: the rsqrt rule's -1/2 and the square's 2 meet as a sign
  CHECK(d.gradients[0].tex.find("\\frac{1}{2}") == std::string::npos);
  // the seed is described as such
  const auto seed = std::find_if(d.inputs.begin(), d.inputs.end(), [](const auto& in) { return in.text == "dy"; });
  REQUIRE(seed != d.inputs.end());
  CHECK(seed->seed_of == "y");
  // and the derived gradients agree with central finite differences
  CHECK(doc::check_gradients(out, ctgrad::wrt(x, gamma_), {.trials = 3, .ranges = {{"eps", 0.1, 0.1}}}).passed);
}

TEST_CASE("a name that takes the derivation's own notation is rejected") {
  const auto o = ctgrad::outputs(y);
  const auto s = ctgrad::seeds(dy);
  // \overline{y} names the adjoint of y; given to gamma it would make the page lie
  CHECK_THROWS_WITH(doc::derive(o, s, wrt, {doc::name(y, "y", "y"), doc::name(gamma_, "dy", "\\overline{y}")}),
                    Catch::Contains("'\\overline{y}'") && Catch::Contains("notation for an adjoint"));
  CHECK_THROWS_WITH(doc::derive(o, s, wrt, {doc::name(y, "y", "y"), doc::name(gamma_, "dy", "g")}),
                    Catch::Contains("text 'dy'") && Catch::Contains("notation for an adjoint"));
  CHECK_THROWS_WITH(doc::derive(o, s, wrt, {doc::name(mu, "v3", "v_{3}")}), Catch::Contains("unnamed intermediates"));
  // the seed of y may be called \overline{y}: it is y's adjoint
  CHECK_NOTHROW(doc::derive(o, s, wrt, {doc::name(y, "y", "y"), doc::name(dy, "dy", "\\overline{y}")}));
}

TEST_CASE("DOT draws every unique node once") {
  const auto d = doc::derive(ctgrad::outputs(y), ctgrad::seeds(dy), wrt, names());
  CHECK(count(d.forward_dot, "[label=") == ctgrad::unique_node_count(y));
  const auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), wrt);
  CHECK(count(d.gradient_dot, "[label=") == ctgrad::unique_node_count(grads));
  CHECK(count(d.gradient_dot, "peripheries=2") == 3);
  const std::string plain = doc::to_dot(ctgrad::exprs(ctgrad::multiply(ctgrad::exp(x), ctgrad::exp(x))), {});
  CHECK(count(plain, "[label=") == 3);
  CHECK(count(plain, "->") == 2);  // exp(x) is one node, read twice by the product: one edge drawn
}

TEST_CASE("Markdown: balanced display math, no math in emphasis, no line-break backslashes") {
  const auto d = doc::derive(ctgrad::outputs(y), ctgrad::seeds(dy), wrt, names(), {.extents = {"m", "n"}});
  const std::string md = doc::markdown(d, {.title = "Batch norm"});
  CHECK(count(md, "$$") % 2 == 0);
  CHECK(count(md, "\\\\") == 0);
  // every bold span is plain text (step labels)
  for (auto at = md.find("**"); at != std::string::npos;) {
    const auto end = md.find("**", at + 2);
    REQUIRE(end != std::string::npos);
    CHECK(md.substr(at, end - at).find('$') == std::string::npos);
    at = md.find("**", end + 2);
  }
  CHECK(md.find("accumulates one contribution per use") != std::string::npos);
  // deterministic
  CHECK(md == doc::markdown(doc::derive(ctgrad::outputs(y), ctgrad::seeds(dy), wrt, names(), {.extents = {"m", "n"}}),
                            {.title = "Batch norm"}));
}

TEST_CASE("verification uses a fully specified generator and finds wrong closed forms") {
  doc::random_source rng(0);
  CHECK(rng.next() == 0xE220A8397B1DCDAFULL);  // SplitMix64's published first output for seed 0
  const auto derived = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), wrt);
  const auto dxhat = ctgrad::multiply(dy, gamma_);
  const auto m = ctgrad::count<0>(x);
  constexpr auto row = ctgrad::static_shape{1, 0};
  const auto right = ctgrad::exprs(
      ctgrad::multiply(ctgrad::divide(ctgrad::rsqrt(ctgrad::add(var, eps)), m),
                       ctgrad::subtract(ctgrad::subtract(ctgrad::multiply(m, dxhat), ctgrad::sum<0>(dxhat)),
                                        ctgrad::multiply(xhat, ctgrad::sum<0>(ctgrad::multiply(dxhat, xhat))))),
      ctgrad::reduce_to<row>(ctgrad::multiply(dy, xhat)), ctgrad::reduce_to<row>(dy));
  const auto wrong = ctgrad::exprs(ctgrad::multiply(dxhat, ctgrad::rsqrt(ctgrad::add(var, eps))),  // no mean terms
                                   ctgrad::reduce_to<row>(ctgrad::multiply(dy, xhat)), ctgrad::reduce_to<row>(dy));
  const doc::verify_options o{.trials = 10, .min_extent = 3, .ranges = {{"eps", 1e-5, 1e-5}}};
  const auto good = doc::verify(derived, right, o);
  CHECK(good.max_rel_error <= 1e-12);
  const auto bad = doc::verify(derived, wrong, o);
  CHECK(bad.rel_error_per_output[0] > 1e-2);
  CHECK(bad.rel_error_per_output[1] == 0.0);
  const auto again = doc::verify(derived, right, o);
  CHECK(again.max_abs_error == good.max_abs_error);
  CHECK(again.elements == good.elements);
}
