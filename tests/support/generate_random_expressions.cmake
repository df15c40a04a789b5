# Writes a Catch2 test that gradchecks random compositions of ctgrad operations: operations,
# ranks and broadcast patterns are drawn at random at configure time, then the file is compiled.
#   cmake -DOUTPUT=<file.cpp> -DSEED=<n> -DCOUNT=<n> -P generate_random_expressions.cmake
# Inputs: x3 (2 x 3 x 4), x2 (3 x 4), x1 (4), s (scalar), right-aligned so that any lower-rank
# input broadcasts against a higher-rank one; reductions keep their axes with extent 1, which
# broadcast too. sqrt, log, rsqrt and division only see values >= 1 (square(e) + 1), exp only
# tanh(e), so every composition is smooth and finite on inputs in [-1, 1].
cmake_minimum_required(VERSION 3.21)

string(RANDOM LENGTH 1 ALPHABET "0" RANDOM_SEED ${SEED} _unused)

function(draw n out)  # a uniform integer in [0, n)
  string(RANDOM LENGTH 5 ALPHABET "0123456789" r)
  math(EXPR v "(1${r} - 100000) % ${n}")
  set(${out} ${v} PARENT_SCOPE)
endfunction()

function(axes_for rank out)  # a non-empty random subset of the axes of a rank-`rank` expression
  set(list "")
  math(EXPR last "${rank} - 1")
  foreach(a RANGE ${last})
    draw(2 keep)
    if(keep)
      list(APPEND list ${a})
    endif()
  endforeach()
  if(NOT list)
    draw(${rank} a)
    set(list ${a})
  endif()
  list(JOIN list ", " joined)
  set(${out} "${joined}" PARENT_SCOPE)
endfunction()

# An expression of rank at most `rank` (possibly with unit axes) of depth at most `depth`; its
# actual rank goes to `<out>_rank`.
function(gen depth rank out)
  if(depth LESS_EQUAL 0)
    draw(4 k)
    if(k EQUAL 0 AND rank GREATER 1)  # a lower-rank input, broadcast
      math(EXPR lower "${rank} - 1")
      set(${out} "x${lower}" PARENT_SCOPE)
      set(${out}_rank ${lower} PARENT_SCOPE)
    elseif(k EQUAL 1)
      set(${out} "s" PARENT_SCOPE)
      set(${out}_rank 0 PARENT_SCOPE)
    else()
      set(${out} "x${rank}" PARENT_SCOPE)
      set(${out}_rank ${rank} PARENT_SCOPE)
    endif()
    return()
  endif()
  math(EXPR d "${depth} - 1")
  draw(22 k)
  if(k LESS 4)  # binary arithmetic with broadcasting
    gen(${d} ${rank} a)
    draw(3 r2)
    if(r2 EQUAL 0 AND rank GREATER 1)
      math(EXPR other "${rank} - 1")
    else()
      set(other ${rank})
    endif()
    gen(${d} ${other} b)
    set(r ${a_rank})
    if(b_rank GREATER r)
      set(r ${b_rank})
    endif()
    if(k EQUAL 0)
      set(e "(${a} + ${b})")
    elseif(k EQUAL 1)
      set(e "(${a} - ${b})")
    elseif(k EQUAL 2)
      set(e "(${a} * ${b})")
    else()
      set(e "(${a} / (ctgrad::square(${b}) + ctgrad::constant<1>))")
    endif()
  elseif(k LESS 7)  # reductions keep their axes with extent 1
    gen(${d} ${rank} a)
    set(r ${a_rank})
    if(r EQUAL 0)
      set(e "ctgrad::tanh(${a})")
    elseif(k EQUAL 4)
      axes_for(${r} axes)
      set(e "ctgrad::sum<${axes}>(${a})")
    elseif(k EQUAL 5)
      axes_for(${r} axes)
      set(e "ctgrad::mean<${axes}>(${a})")
    else()
      axes_for(${r} axes)
      set(e "ctgrad::variance<${axes}>(${a})")
    endif()
  elseif(k GREATER_EQUAL 14)  # piecewise ops, max/min and the stable composites (kinks and
    # ties have probability zero on random data; finite differences see smooth pieces)
    gen(${d} ${rank} a)
    set(r ${a_rank})
    if(k EQUAL 14)
      set(e "ctgrad::softplus(${a})")
    elseif(k EQUAL 15)
      set(e "ctgrad::sigmoid(${a})")
    elseif(k EQUAL 16)
      set(e "(ctgrad::relu(${a}) + ctgrad::abs(${a}))")
    elseif(k EQUAL 17)
      gen(${d} ${rank} b)
      if(b_rank GREATER r)
        set(r ${b_rank})
      endif()
      set(e "ctgrad::where(ctgrad::greater(${a}, ${b}), ctgrad::maximum(${a}, ${b}), ctgrad::minimum(${a}, ${b}) * ${b})")
    elseif(k EQUAL 18)
      set(e "(ctgrad::log1p(ctgrad::square(${a})) + ctgrad::expm1(ctgrad::tanh(${a})))")
    elseif(r EQUAL 0)
      set(e "ctgrad::softplus(${a})")
    elseif(k EQUAL 19)
      axes_for(${r} axes)
      set(e "ctgrad::max<${axes}>(${a})")
    elseif(k EQUAL 20)
      axes_for(${r} axes)
      set(e "ctgrad::min<${axes}>(${a})")
    else()
      axes_for(${r} axes)
      set(e "ctgrad::logsumexp<${axes}>(${a})")
    endif()
  else()  # unary functions
    gen(${d} ${rank} a)
    set(r ${a_rank})
    if(k EQUAL 7)
      set(e "ctgrad::tanh(${a})")
    elseif(k EQUAL 8)
      set(e "ctgrad::exp(ctgrad::tanh(${a}))")
    elseif(k EQUAL 9)
      set(e "ctgrad::sqrt(ctgrad::square(${a}) + ctgrad::constant<1>)")
    elseif(k EQUAL 10)
      set(e "ctgrad::log(ctgrad::square(${a}) + ctgrad::constant<1>)")
    elseif(k EQUAL 11)
      set(e "ctgrad::rsqrt(ctgrad::square(${a}) + ctgrad::constant<1, 2>)")
    elseif(k EQUAL 12)
      set(e "ctgrad::pow<3>(${a})")
    else()
      set(e "(ctgrad::constant<-3, 2> * ${a})")
    endif()
  endif()
  set(${out} "${e}" PARENT_SCOPE)
  set(${out}_rank ${r} PARENT_SCOPE)
endfunction()

set(body "")
math(EXPR last "${COUNT} - 1")
foreach(i RANGE ${last})
  draw(3 r)
  math(EXPR rank "${r} + 1")
  draw(2 extra)
  math(EXPR depth "2 + ${extra}")
  gen(${depth} ${rank} e)
  string(APPEND body "
TEST_CASE(\"random composition ${SEED}.${i} (drawn rank ${rank})\", \"[property]\") {
  constexpr auto e = ${e};
  INFO(fmt::format(\"{}\", e));
  CHECK_THAT(check(e), ctgrad::matchers::passes_gradcheck());
}
")
endforeach()

file(WRITE "${OUTPUT}.tmp" "// Generated by tests/support/generate_random_expressions.cmake with seed ${SEED}: do not edit.
// Each test gradchecks one random composition against central finite differences.
#include <catch2/catch.hpp>

#include <ctgrad.hpp>
#include <ctgrad/check/catch2.hpp>

#include \"support/numeric.hpp\"

namespace {
constexpr auto x3 = ctgrad::input<\"x3\", 3>;
constexpr auto x2 = ctgrad::input<\"x2\", 2>;
constexpr auto x1 = ctgrad::input<\"x1\", 1>;
constexpr auto s = ctgrad::input<\"s\", 0>;
const auto v3 = ctgrad_test::random_vector(24, ${SEED} + 1, -1, 1);
const auto v2 = ctgrad_test::random_vector(12, ${SEED} + 2, -1, 1);
const auto v1 = ctgrad_test::random_vector(4, ${SEED} + 3, -1, 1);

template <class E>
ctgrad::gradcheck_report check(E e) {
  return ctgrad::gradcheck(e, {.abs_tol = 1e-6, .rel_tol = 1e-5},
                           ctgrad::bind(x3, ctgrad::view<const double, 3>(v3.data(), {2, 3, 4})),
                           ctgrad::bind(x2, ctgrad::view<const double, 2>(v2.data(), {3, 4})),
                           ctgrad::bind(x1, ctgrad::view<const double, 1>(v1.data(), {4})),
                           ctgrad::bind(s, 0.375));
}
}  // namespace
${body}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
