# Tests of the model trained by examples/train_mlp.cpp (examples/mlp_model.hpp): gradients
# gradchecked in double, values against loops. Included by tests/CMakeLists.txt. The training run
# itself is tested by examples/train.cmake (train_mlp_subset).
ctgrad_add_catch_test(test_train_mlp_model runtime/train_mlp_model.cpp)
target_include_directories(test_train_mlp_model PRIVATE "${PROJECT_SOURCE_DIR}/examples")
target_compile_options(test_train_mlp_model PRIVATE -g0)
