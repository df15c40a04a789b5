#pragma once
// ctgrad/check/catch2.hpp: Catch2 (v2) matchers for gradcheck and equivalence reports. Not
// included by <ctgrad.hpp>: the library does not depend on Catch2; include this from tests.
//
//   #include <ctgrad/check/catch2.hpp>
//   CHECK_THAT(ctgrad::gradcheck(y, ctgrad::bind(x, xv)), ctgrad::matchers::passes_gradcheck());
//   CHECK_THAT(ctgrad::check_equivalence(derived, hand), ctgrad::matchers::is_equivalent());
//
// On failure Catch2 prints the whole report (input, element index, both values, the errors).
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "ctgrad/check/equivalence.hpp"
#include "ctgrad/check/gradcheck.hpp"

namespace ctgrad::matchers {

/// Matches a gradcheck_report in which every element passed.
///   CHECK_THAT(ctgrad::gradcheck(e, binds...), ctgrad::matchers::passes_gradcheck());
struct passes_gradcheck_matcher : Catch::MatcherBase<gradcheck_report> {
  bool match(const gradcheck_report& r) const override { return r.passed && !r.inputs.empty(); }
  std::string describe() const override { return "passes gradcheck (derived gradients match finite differences)"; }
};
inline passes_gradcheck_matcher passes_gradcheck() { return {}; }

/// Matches an equivalence_report in which every compared element agreed.
///   CHECK_THAT(ctgrad::check_equivalence(a, b), ctgrad::matchers::is_equivalent());
struct is_equivalent_matcher : Catch::MatcherBase<equivalence_report> {
  bool match(const equivalence_report& r) const override { return r.passed && r.elements > 0; }
  std::string describe() const override { return "is equivalent (lhs and rhs agree on every trial)"; }
};
inline is_equivalent_matcher is_equivalent() { return {}; }

}  // namespace ctgrad::matchers

namespace Catch {
template <>
struct StringMaker<ctgrad::gradcheck_report> {
  static std::string convert(const ctgrad::gradcheck_report& r) { return fmt::format("{}", r); }
};
template <>
struct StringMaker<ctgrad::equivalence_report> {
  static std::string convert(const ctgrad::equivalence_report& r) { return fmt::format("{}", r); }
};
}  // namespace Catch
