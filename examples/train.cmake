# examples/train_mlp.cpp: an MLP trained on Fashion-MNIST (Debian: dataset-fashion-mnist), with
# its tests. Included by examples/CMakeLists.txt. Built only when a CBLAS (ctgrad::blas), zlib and
# CLI11 (the tools' copy, cmake/ctgrad_tools.cmake) are found.
find_package(ZLIB QUIET)
if(NOT TARGET ctgrad::blas OR NOT ZLIB_FOUND OR NOT DEFINED _ctgrad_cli11)
  message(STATUS "ctgrad: train_mlp is not built (it needs ctgrad::blas, zlib (Debian: zlib1g-dev) and CLI11 with CTGRAD_BUILD_TOOLS)")
  return()
endif()

add_executable(train_mlp "${CMAKE_CURRENT_SOURCE_DIR}/train_mlp.cpp")
target_link_libraries(train_mlp PRIVATE ctgrad::blas ZLIB::ZLIB ${_ctgrad_cli11} ctgrad_dev_warnings)
# A deep expression type: debug information would be its tree expansion (README, compile time).
target_compile_options(train_mlp PRIVATE -g0)

# Two epochs on 2,000 training images: the loss must fall, the test accuracy reach 60%, and no
# step after the first may allocate; missing and corrupt data must fail with exit 2 naming the
# Debian package. Not timed (cmake/train_mlp_check.cmake).
set(CTGRAD_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist" CACHE PATH "Fashion-MNIST gzip IDX files for the train_mlp test")
add_test(NAME train_mlp_subset
  COMMAND ${CMAKE_COMMAND} -DTRAIN_MLP=$<TARGET_FILE:train_mlp> -DDATA=${CTGRAD_FASHION_MNIST_DIR}
          -DWORK=${CMAKE_CURRENT_BINARY_DIR}/train_mlp_check -P ${PROJECT_SOURCE_DIR}/cmake/train_mlp_check.cmake)
set_tests_properties(train_mlp_subset PROPERTIES LABELS "example" TIMEOUT 1800)
