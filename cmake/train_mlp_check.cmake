# The ctest train_mlp_subset (examples/train.cmake): runs train_mlp (TRAIN_MLP) on the data in
# DATA, with scratch files under WORK.
#   1. a missing data directory, a corrupt file and a bad flag each exit with status 2, and the
#      data errors name the file and the Debian package;
#   2. two epochs on the first 2,000 training images, without and with batch norm (both running-
#      estimate conventions): exit 0 (which includes "no operator new during steps 2..N"), the
#      training loss of epoch 2 below epoch 1's and the test accuracy of epoch 2 at least 60%, read
#      from the --csv rows.
cmake_minimum_required(VERSION 3.21)
foreach(v TRAIN_MLP DATA WORK)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "train_mlp_check.cmake: -D${v}=... is required")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corrupt")

function(expect_usage_error what regex)
  execute_process(COMMAND "${TRAIN_MLP}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "${what}: exit status ${rc}, expected 2\n${out}${err}")
  endif()
  if(NOT err MATCHES "${regex}")
    message(FATAL_ERROR "${what}: the message does not match '${regex}':\n${err}")
  endif()
  message(STATUS "${what}: exit 2, ${err}")
endfunction()

expect_usage_error("missing data directory"
  "train-images-idx3-ubyte.gz: cannot open.*dataset-fashion-mnist"
  --data "${WORK}/no-such-directory" --epochs 1)
# zlib reads a file that is not gzip as it is: the magic number is checked
file(WRITE "${WORK}/corrupt/train-images-idx3-ubyte.gz" "this is not an IDX file\n")
expect_usage_error("corrupt images file" "train-images-idx3-ubyte.gz: magic number is 0x74686973.*dataset-fashion-mnist"
  --data "${WORK}/corrupt" --epochs 1)
file(WRITE "${WORK}/corrupt/train-images-idx3-ubyte.gz" "ab")
expect_usage_error("truncated images file" "train-images-idx3-ubyte.gz: the file ends early, while reading the magic number"
  --data "${WORK}/corrupt" --epochs 1)
expect_usage_error("bad --bn" "--bn: maybe not in" --bn maybe)
expect_usage_error("negative --lr" "--lr must be a positive finite number, not -1" --lr -1)

if(NOT EXISTS "${DATA}/train-images-idx3-ubyte.gz")
  message(FATAL_ERROR "train_mlp_check.cmake: ${DATA}/train-images-idx3-ubyte.gz is missing: install the Debian package "
                      "dataset-fashion-mnist (.ci/deps.sh does) or configure with -DCTGRAD_FASHION_MNIST_DIR=<dir>")
endif()

function(check_run name)
  set(csv "${WORK}/${name}.csv")
  execute_process(COMMAND "${TRAIN_MLP}" --data "${DATA}" --train-subset 2000 --epochs 2 --seed 1 --csv "${csv}" ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "train_mlp ${ARGN}:\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: exit status ${rc}")
  endif()
  if(NOT out MATCHES "operator new calls during step 1: [1-9][0-9]*, during steps 2\\.\\.[0-9]+: 0, during test evaluations 2\\.\\.[0-9]+: 0")
    message(FATAL_ERROR "${name}: no line saying that steps after the first allocate nothing")
  endif()
  file(STRINGS "${csv}" rows)
  list(LENGTH rows n)
  if(NOT n EQUAL 3)
    message(FATAL_ERROR "${name}: ${csv} has ${n} lines, expected a header and 2 rows")
  endif()
  list(GET rows 1 first)
  list(GET rows 2 second)
  string(REPLACE "," ";" first "${first}")
  string(REPLACE "," ";" second "${second}")
  list(GET first 1 loss1)
  list(GET second 1 loss2)
  list(GET second 2 accuracy2)
  if(NOT loss2 LESS loss1)
    message(FATAL_ERROR "${name}: the training loss did not fall: epoch 1 ${loss1}, epoch 2 ${loss2}")
  endif()
  if(accuracy2 LESS 0.60)
    message(FATAL_ERROR "${name}: test accuracy after 2 epochs is ${accuracy2}, below 0.60")
  endif()
  message(STATUS "${name}: loss ${loss1} -> ${loss2}, test accuracy ${accuracy2}: PASS")
endfunction()

check_run(plain --bn off)
check_run(bn_reference --bn on --momentum-convention reference)
check_run(bn_pytorch --bn on --momentum-convention pytorch)
