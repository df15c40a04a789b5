# Tests of ctgrad/check (gradcheck, equivalence, Catch2 matchers), the reference audit and the
# compile-time diagnostics users hit. Included by tests/CMakeLists.txt.
ctgrad_add_catch_test(test_check_gradcheck runtime/check_gradcheck.cpp)

# Compile-fail tests: the misuse users hit, each with the message text it must print (both g++
# and clang++ print the char-pack names and the static_assert sentence; the order differs, so
# names are matched either side of the sentence).
ctgrad_add_compile_fail_test(fail_check_gradcheck_missing_binding compile_fail/check_gradcheck_missing_binding.cpp
  "no_value_is_bound_for_input<'b', 'i', 'a', 's'>.*has no value bound|has no value bound.*no_value_is_bound_for_input<'b', 'i', 'a', 's'>")
ctgrad_add_compile_fail_test(fail_check_gradcheck_wrong_rank compile_fail/check_gradcheck_wrong_rank.cpp
  "input_is_bound_to_a_tensor_of_another_rank<'g', 'a', 'm', 'm', 'a'>.*rank differs|rank differs.*input_is_bound_to_a_tensor_of_another_rank<'g', 'a', 'm', 'm', 'a'>")
ctgrad_add_compile_fail_test(fail_check_gradcheck_wrt_not_an_input compile_fail/check_gradcheck_wrt_not_an_input.cpp
  "differentiate with respect to inputs only; a wrt\\(\\.\\.\\.\\) argument is an expression that is not")
ctgrad_add_compile_fail_test(fail_sum_axis_out_of_range compile_fail/sum_axis_out_of_range.cpp
  "sum<Axes\\.\\.\\.>\\(x\\) names an axis that x does not have")
ctgrad_add_compile_fail_test(fail_broadcast_like_incompatible compile_fail/broadcast_like_incompatible.cpp
  "broadcast_like\\(g, ref\\) needs g's rank <= ref's")
ctgrad_add_compile_fail_test(fail_equivalence_incompatible_broadcast compile_fail/equivalence_incompatible_broadcast.cpp
  "lhs_and_rhs_have_different_shapes_at_position<0>.*different ranks or broadcast patterns|different ranks or broadcast patterns.*lhs_and_rhs_have_different_shapes_at_position<0>")
ctgrad_add_compile_fail_test(fail_equivalence_wrong_rank compile_fail/equivalence_wrong_rank.cpp
  "lhs_and_rhs_have_different_shapes_at_position<1>.*different ranks or broadcast patterns|different ranks or broadcast patterns.*lhs_and_rhs_have_different_shapes_at_position<1>")

# The batch norm checker CLI (examples/batch_norm_check.cpp), run as users run it; a tool, so
# only when CTGRAD_BUILD_TOOLS is ON.
if(TARGET ctgrad-batch-norm-check)
  ctgrad_add_catch_test(test_check_batch_norm_cli runtime/check_batch_norm_cli.cpp)
  target_compile_definitions(test_check_batch_norm_cli PRIVATE
    "CTGRAD_BATCH_NORM_CHECK=\"$<TARGET_FILE:ctgrad-batch-norm-check>\"")
  add_dependencies(test_check_batch_norm_cli ctgrad-batch-norm-check)
  # Its cases wait on child processes and directory locks: a hang fails instead of stalling CI.
  set_tests_properties(test_check_batch_norm_cli PROPERTIES TIMEOUT 300)
endif()

# Randomized tests. Random compositions (ops, ranks, broadcast patterns) are generated at build
# time from CTGRAD_PROPERTY_SEED and then compiled; change the seed for a different set.
set(CTGRAD_PROPERTY_SEED 101 CACHE STRING "Seed of the generated random-composition gradcheck tests")
set(_ctgrad_property_sources "")
foreach(_part 0 1)
  math(EXPR _seed "${CTGRAD_PROPERTY_SEED} + 1000 * ${_part}")
  set(_out "${CMAKE_CURRENT_BINARY_DIR}/generated/random_compositions_${_part}.cpp")
  add_custom_command(OUTPUT "${_out}"
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${_out} -DSEED=${_seed} -DCOUNT=12
            -P "${CMAKE_CURRENT_SOURCE_DIR}/support/generate_random_expressions.cmake"
    DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/support/generate_random_expressions.cmake"
    COMMENT "Generating 12 random compositions (seed ${_seed})")
  ctgrad_add_catch_test(test_check_random_compositions_${_part} "${_out}")
endforeach()
ctgrad_add_catch_test(test_check_batch_norm_random runtime/check_batch_norm_random.cpp)
