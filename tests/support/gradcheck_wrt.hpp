#pragma once
// ctgrad::gradcheck with respect to one input given as data and extents: the binding boilerplate
// of the gradient tests, nothing else (the finite differences are the library's own, one
// checker in the project). Passes when every element satisfies |derived - numeric| <= tol +
// tol * |numeric|.
#include <array>
#include <vector>

#include <ctgrad.hpp>
#include <ctgrad/check/catch2.hpp>
#include <ctgrad/check/gradcheck.hpp>

#include "support/numeric.hpp"

namespace ctgrad_test {

/// The gradcheck of `e` with respect to input `in`, bound to `data` with extents `ext`;
/// `others` binds every other input of `e`.
template <ctgrad::Expression E, ctgrad::fixed_string Name, std::size_t R, class... Bs>
ctgrad::gradcheck_report gradcheck_wrt(E e, ctgrad::input_node<Name, R> in, const std::vector<double>& data,
                                       std::array<std::size_t, R> ext, double tol, Bs... others) {
  return ctgrad::gradcheck(e, ctgrad::wrt(in), {.abs_tol = tol, .rel_tol = tol},
                           ctgrad::bind(in, ctgrad::view<const double, R>(data.data(), ext)), others...);
}

}  // namespace ctgrad_test
