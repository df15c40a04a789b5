// ctgrad/doc rendering: LaTeX of every operation, names for intermediates, named text through
// fmt, defaults for users' own operations.
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <ctgrad.hpp>
#include <ctgrad/doc/doc.hpp>

namespace {
constexpr auto x = ctgrad::input<"x", 2>;
constexpr auto gamma_ = ctgrad::input<"gamma", 1>;
constexpr auto eps = ctgrad::input<"eps", 0>;
constexpr auto dy = ctgrad::input<"dy", 2>;

// A user-defined operation without any documentation members.
struct cube_root_op : ctgrad::elementwise_base {
  static constexpr ctgrad::notation kind = ctgrad::notation::call;
  static constexpr int prec = ctgrad::precedence::atom;
  template <class...>
  static std::string symbol() { return "cube_root"; }
  template <class T>
  static T apply(T a) { return std::cbrt(a); }
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self self, A) {
    return ctgrad::divide(g, ctgrad::multiply(ctgrad::constant<3>, ctgrad::square(self)));
  }
};
}  // namespace

TEST_CASE("text with no names is exactly ctgrad::to_text") {
  const auto y = ctgrad::nn::batch_norm_train(x, gamma_, ctgrad::input<"beta", 1>, eps);
  const auto [dx] = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x));
  const ctgrad::doc::name_table none;
  CHECK(ctgrad::doc::to_text(y, none) == ctgrad::to_text(y));
  CHECK(ctgrad::doc::to_text(dx, none) == ctgrad::to_text(dx));
  CHECK(fmt::format("{}", ctgrad::doc::with_names(dx, none)) == fmt::format("{}", dx));
}

TEST_CASE("LaTeX of each operation") {
  using ctgrad::doc::to_latex;
  CHECK(to_latex(ctgrad::add(x, ctgrad::negate(gamma_))) == "x - \\gamma");  // simplified to a difference
  CHECK(to_latex(ctgrad::subtract(x, ctgrad::add(x, gamma_))) == "x - \\left(x + \\gamma\\right)");
  CHECK(to_latex(ctgrad::multiply(x, gamma_)) == "x \\odot \\gamma");
  CHECK(to_latex(ctgrad::multiply(eps, x)) == "\\epsilon x");
  CHECK(to_latex(ctgrad::divide(x, gamma_)) == "\\frac{x}{\\gamma}");
  CHECK(to_latex(ctgrad::divide(x, ctgrad::constant<2>)) == "\\frac{1}{2} x");
  CHECK(to_latex(ctgrad::square(ctgrad::add(x, eps))) == "\\left(x + \\epsilon\\right)^{2}");
  CHECK(to_latex(ctgrad::pow<-3>(x)) == "x^{-3}");
  CHECK(to_latex(ctgrad::sqrt(x)) == "\\sqrt{x}");
  CHECK(to_latex(ctgrad::rsqrt(x)) == "\\frac{1}{\\sqrt{x}}");
  CHECK(to_latex(ctgrad::exp(x)) == "\\exp\\left(x\\right)");
  CHECK(to_latex(ctgrad::log(x)) == "\\log\\left(x\\right)");
  CHECK(to_latex(ctgrad::tanh(x)) == "\\tanh\\left(x\\right)");
  CHECK(to_latex(ctgrad::sum<0>(x)) == "\\sum_{i} x");
  CHECK(to_latex(ctgrad::sum<0, 1>(ctgrad::add(x, x))) == "\\sum_{i,j} \\left(x + x\\right)");
  CHECK(to_latex(ctgrad::count<1>(x)) == "\\operatorname{count}_{j}\\left(x\\right)");
  CHECK(to_latex(ctgrad::zeros_like(x)) == "\\mathbf{0}");
  CHECK(to_latex(ctgrad::reduce_to<ctgrad::static_shape{1, 0}>(x)) == "\\sum_{i} x");
  CHECK(to_latex(ctgrad::stop_gradient(ctgrad::sum<0>(x))) == "\\operatorname{sg}\\left(\\sum_{i} x\\right)");
  CHECK(to_latex(ctgrad::input<"running_var", 1>) == "\\mathrm{running\\_var}");
}

TEST_CASE("a sum sign followed by a factor is parenthesized; one at the end is not") {
  using ctgrad::doc::to_latex;
  CHECK(to_latex(ctgrad::multiply(ctgrad::sum<0>(x), x)) == "\\left(\\sum_{i} x\\right) \\odot x");
  CHECK(to_latex(ctgrad::multiply(x, ctgrad::sum<0>(x))) == "x \\odot \\sum_{i} x");
  CHECK(to_latex(ctgrad::multiply(ctgrad::multiply(x, ctgrad::sum<0>(x)), gamma_)) ==
        "\\left(x \\odot \\sum_{i} x\\right) \\odot \\gamma");
}

TEST_CASE("named intermediates are printed by name, also inside derived gradients") {
  const auto mu = ctgrad::mean<0>(x);
  const auto xhat = ctgrad::divide(ctgrad::subtract(x, mu), ctgrad::sqrt(ctgrad::add(ctgrad::variance<0>(x), eps)));
  const auto y = ctgrad::multiply(gamma_, ctgrad::exp(xhat));
  namespace doc = ctgrad::doc;
  const doc::name_table names{doc::name(mu, "mu", "\\mu"), doc::name(xhat, "xhat", "\\hat{x}"),
                              doc::name(dy, "dy", "\\overline{y}")};
  CHECK(doc::to_latex(ctgrad::subtract(x, mu), names) == "x - \\mu");
  CHECK(doc::definition_latex(mu, names) == "\\frac{\\sum_{i} x}{\\operatorname{count}_{i}\\left(x\\right)}");
  const auto s = ctgrad::sum<0>(ctgrad::multiply(dy, ctgrad::exp(xhat)));
  CHECK(doc::to_latex(s, names) == "\\sum_{i} \\overline{y} \\odot \\exp\\left(\\hat{x}\\right)");
  CHECK(fmt::format("{}", doc::with_names(s, names)) == "sum<0>(dy * exp(xhat))");
  CHECK(fmt::format("{}", doc::latex(s, names)) == doc::to_latex(s, names));
  // a derived gradient that reuses xhat prints it by name
  const auto [dgamma] = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(gamma_));
  CHECK(doc::to_latex(dgamma, names).find("\\overline{y}") != std::string::npos);
  CHECK(doc::to_latex(dgamma, {}).find("\\overline{y}") == std::string::npos);
  // a name with a superscript is parenthesized under a power
  const doc::name_table var_names{doc::name(ctgrad::variance<0>(x), "sigma^2", "\\sigma^2")};
  CHECK(doc::to_latex(ctgrad::square(ctgrad::variance<0>(x)), var_names) == "\\left(\\sigma^2\\right)^{2}");
}

TEST_CASE("operations without documentation members get defaults") {
  const auto e = ctgrad::make_node<cube_root_op>(x);
  CHECK(ctgrad::doc::to_latex(e) == "\\operatorname{cube\\_root}\\left(x\\right)");
  const auto d = ctgrad::doc::derive(ctgrad::outputs(e), ctgrad::seeds(dy), ctgrad::wrt(x), {});
  REQUIRE(d.backward.size() == 2);
  REQUIRE(d.backward[1].contributions.size() == 1);
  CHECK(d.backward[1].contributions[0].rule_name == "the local rule of cube_root (its vjp member)");
}
