// The one renderer (ctgrad/graph/render.hpp): plain text, let-bound programs, fmt's "{:let}".
//
// The let programs are checked against the plain text independently of the binding logic: each
// name is substituted back (parenthesized) until only inputs remain, and the result must read as
// the plain text once parentheses are dropped; every name is defined once, before it is read.
#include <cctype>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <ctgrad.hpp>
#include <ctgrad/doc/doc.hpp>

namespace {
constexpr auto x = ctgrad::input<"x", 2>;
constexpr auto y = ctgrad::input<"y", 2>;
constexpr auto gamma_ = ctgrad::input<"gamma", 1>;
constexpr auto beta = ctgrad::input<"beta", 1>;
constexpr auto eps = ctgrad::input<"eps", 0>;
constexpr auto dy = ctgrad::input<"dy", 2>;

struct line {
  std::string name, rhs;
};

std::vector<line> lines_of(const std::string& program) {
  std::vector<line> out;
  std::istringstream in(program);
  std::string l;
  while (std::getline(in, l)) {
    const auto eq = l.find(" = ");
    REQUIRE(eq != std::string::npos);
    out.push_back({l.substr(0, eq), l.substr(eq + 3)});
  }
  return out;
}

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

/// rhs with every identifier that is a key of `defs` replaced by "(" + its expansion + ")".
std::string expand(const std::string& rhs, const std::map<std::string, std::string>& defs) {
  std::string out;
  for (std::size_t i = 0; i < rhs.size();) {
    if (ident_char(rhs[i]) && (i == 0 || !ident_char(rhs[i - 1]))) {
      std::size_t j = i;
      while (j < rhs.size() && ident_char(rhs[j])) ++j;
      const std::string word = rhs.substr(i, j - i);
      const auto it = defs.find(word);
      out += it == defs.end() ? word : "(" + it->second + ")";
      i = j;
    } else {
      out += rhs[i++];
    }
  }
  return out;
}

std::string without_parentheses(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '(' && c != ')') out += c;
  return out;
}

/// Checks that `program` defines each name once before reading it, and that each result
/// expands to `plain[k]` up to parentheses. Returns the definitions by name.
std::map<std::string, std::string> check_program(const std::string& program, const std::vector<std::string>& results,
                                                 const std::vector<std::string>& plain) {
  std::map<std::string, std::string> defs;
  for (const line& l : lines_of(program)) {
    INFO(l.name << " = " << l.rhs);
    CHECK(defs.count(l.name) == 0);
    defs[l.name] = expand(l.rhs, defs);
  }
  for (std::size_t k = 0; k < results.size(); ++k) {
    INFO(results[k]);
    REQUIRE(defs.count(results[k]) == 1);
    CHECK(without_parentheses(defs[results[k]]) == without_parentheses(plain[k]));
  }
  return defs;
}

std::size_t longest_line(const std::string& s) {
  std::size_t best = 0;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) best = l.size() > best ? l.size() : best;
  return best;
}
}  // namespace

TEST_CASE("a subexpression read twice is printed once, under a name") {
  const auto e = ctgrad::multiply(ctgrad::exp(ctgrad::add(x, y)), ctgrad::exp(ctgrad::add(x, y)));
  CHECK(ctgrad::to_text(e) == "exp(x + y) * exp(x + y)");
  // exp(x + y) has two readers (both operands of the product); x + y has one.
  CHECK(ctgrad::to_text(e, {.let = true, .inline_limit = 0}) == "t1 = exp(x + y)\nresult = t1 * t1");
  // At most inline_limit characters, it stays inline.
  CHECK(ctgrad::to_text(e, {.let = true, .inline_limit = 10}) == "result = exp(x + y) * exp(x + y)");
  CHECK(fmt::format("{:let}", ctgrad::exp(x)) == "result = exp(x)");
  CHECK(fmt::format("{}", e) == ctgrad::to_text(e));
}

TEST_CASE("fresh names skip the names of inputs and results") {
  constexpr auto t1 = ctgrad::input<"t1", 2>;
  const auto s = ctgrad::exp(ctgrad::add(x, t1));
  const auto e = ctgrad::add(s, ctgrad::multiply(s, s));
  CHECK(ctgrad::to_text(e, {.let = true, .inline_limit = 0, .results = {"t2"}}) == "t3 = exp(x + t1)\nt2 = t3 + t3 * t3");
}

TEST_CASE("several results: shared parts once, a result read by another by its name, equal results aliased") {
  const auto a = ctgrad::exp(ctgrad::sum<0>(x));
  const auto b = ctgrad::multiply(a, x);
  const std::string p = ctgrad::to_text(ctgrad::exprs(a, b, a, x), {.let = true, .results = {"a", "b", "c", "d"}});
  CHECK(p == "a = exp(sum<0>(x))\nb = a * x\nc = a\nd = x");
  const std::string plain = ctgrad::to_text(ctgrad::exprs(a, b));
  CHECK(plain == "result1 = exp(sum<0>(x))\nresult2 = exp(sum<0>(x)) * x");
  CHECK(fmt::format("{:let}", ctgrad::exprs(a, b)) == "result1 = exp(sum<0>(x))\nresult2 = result1 * x");
}

TEST_CASE("batch norm's gradients as a let program: lines within the width, the same expressions") {
  const auto yb = ctgrad::nn::batch_norm_train(x, gamma_, beta, eps);
  const auto d = ctgrad::vjp(ctgrad::outputs(yb), ctgrad::seeds(dy), ctgrad::wrt(x, gamma_, beta));
  const std::vector<std::string> results{"dx", "dgamma", "dbeta"};
  const std::vector<std::string> plain{ctgrad::to_text(ctgrad::get<0>(d)), ctgrad::to_text(ctgrad::get<1>(d)),
                                       ctgrad::to_text(ctgrad::get<2>(d))};
  REQUIRE(plain[0].size() > 1000);
  for (std::size_t width : {40U, 80U, 100U, 400U}) {
    INFO("width " << width);
    const std::string p = ctgrad::to_text(d, {.let = true, .width = width, .results = results});
    check_program(p, results, plain);
    CHECK(longest_line(p) <= width + 8);  // "dgamma = " and the like come on top of the width
    // No shared subexpression is spelled out twice: the program is far shorter than the trees.
    CHECK(p.size() * 3 < plain[0].size() + plain[1].size() + plain[2].size());
  }
  // Without let: one line per result, each the plain text.
  CHECK(ctgrad::to_text(d, {.results = results}) ==
        fmt::format("dx = {}\ndgamma = {}\ndbeta = {}", plain[0], plain[1], plain[2]));
}

TEST_CASE("doc names in a let program: named nodes get lines under their names") {
  const auto xc = ctgrad::subtract(x, ctgrad::mean<0>(x));
  const auto e = ctgrad::multiply(ctgrad::exp(xc), xc);
  ctgrad::doc::name_table names{ctgrad::doc::name(xc, "xc", "x_c")};
  const std::string p = ctgrad::doc::to_text(ctgrad::exprs(e), names, {.let = true, .results = {"e"}});
  CHECK(p == "xc = x - sum<0>(x) / count<0>(x)\ne = exp(xc) * xc");
  check_program(p, {"e"}, {ctgrad::to_text(e)});
}

TEST_CASE("the evaluator's error messages render from the same table") {
  const auto e = ctgrad::add(ctgrad::exp(x), y);
  std::vector<double> a(6), b(4);
  try {
    (void)ctgrad::evaluate(e, ctgrad::bind(x, ctgrad::view<const double, 2>(a.data(), {2, 3})),
                           ctgrad::bind(y, ctgrad::view<const double, 2>(b.data(), {2, 2})));
    FAIL("no shape_error");
  } catch (const ctgrad::shape_error& err) {
    CHECK(std::string(err.what()).find("`" + ctgrad::to_text(e) + "`") != std::string::npos);
  }
}
