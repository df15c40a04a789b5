# Tests of include/ctgrad/nn (batch norm modes, running estimates, N-D axes, layer norm,
# numerics), one small translation unit per topic.
ctgrad_add_catch_test(test_nn_running_stats runtime/nn_running_stats.cpp)
ctgrad_add_catch_test(test_nn_inference runtime/nn_inference.cpp)
ctgrad_add_catch_test(test_nn_layer_norm runtime/nn_layer_norm.cpp)
ctgrad_add_catch_test(test_nn_numerics runtime/nn_numerics.cpp)
ctgrad_add_catch_test(test_nn_batch_norm_nd runtime/nn_batch_norm_nd.cpp)
# Batch norm's dx across the whole range of scales against a long-double closed form (issue 18).
ctgrad_add_catch_test(test_nn_numerics_range runtime/nn_numerics_range.cpp)
