// A user-defined primitive in the user's own code: softplus(x) = log(1 + exp(x)).
// One struct says how to evaluate it, its local derivative rule and its printed name; ctgrad
// then differentiates through it like through its own operations. The derived gradient is
// checked here against central finite differences.
#include <cmath>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <ctgrad.hpp>

struct softplus_op : ctgrad::elementwise_base {  // elementwise, shapes broadcast as usual
  static constexpr ctgrad::notation kind = ctgrad::notation::call;
  static constexpr int prec = ctgrad::precedence::atom;
  template <class...>
  static std::string symbol() { return "softplus"; }

  // evaluation of one element (stable for large |x|)
  template <class T>
  static T apply(T a) {
    return a > 0 ? a + std::log1p(std::exp(-a)) : std::log1p(std::exp(a));
  }

  // local rule: d softplus(a) = sigmoid(a) da, written with ctgrad's own operations
  template <std::size_t, class G, class Self, class A>
  static constexpr auto vjp(G g, Self, A a) {
    return g / (ctgrad::constant<1> + ctgrad::exp(-a));
  }
};

template <ctgrad::Expression A>
constexpr auto softplus(A a) { return ctgrad::make_node<softplus_op>(a); }

int main() {
  constexpr auto x = ctgrad::input<"x", 1>;
  constexpr auto loss = ctgrad::sum<0>(softplus(x) * x);
  constexpr auto dx = ctgrad::get<0>(ctgrad::grad(loss, ctgrad::wrt(x)));
  fmt::print("loss = {}\ndloss/dx = {}\n", loss, dx);

  std::vector<double> xs{-30.0, -2.0, -0.5, 0.0, 0.7, 3.0, 25.0};
  auto value = [&] {
    return ctgrad::evaluate(loss, ctgrad::bind(x, ctgrad::view<const double, 1>(xs.data(), {xs.size()}))).values[0];
  };
  const auto derived = ctgrad::evaluate(dx, ctgrad::bind(x, ctgrad::view<const double, 1>(xs.data(), {xs.size()})));

  double worst = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double x0 = xs[i], h = 1e-6 * std::max(1.0, std::abs(x0));
    xs[i] = x0 + h;
    const double up = value();
    xs[i] = x0 - h;
    const double down = value();
    xs[i] = x0;
    const double numeric = (up - down) / (2 * h);
    const double rel = std::abs(derived.values[i] - numeric) / std::max(1.0, std::abs(numeric));
    worst = std::max(worst, rel);
    fmt::print("x = {:6.2f}  derived {:.10f}  finite difference {:.10f}\n", x0, derived.values[i], numeric);
  }
  const bool ok = worst <= 1e-6;
  fmt::print("worst relative error {:.2e}: {}\n", worst, ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
