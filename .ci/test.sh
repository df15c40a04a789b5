#!/usr/bin/env bash
# Configure, build and test ctgrad.
#
#   bash .ci/test.sh [build-dir]          # default build dir: build (relative to repo root)
#   CXX=clang++-14 bash .ci/test.sh build-clang
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BUILD_DIR="${1:-build}"
BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}"

# shellcheck source=SCRIPTDIR/deps.sh
source "$ROOT/.ci/deps.sh"
if [[ "${CXX:-}" == *clang* ]]; then
    ctgrad_ensure_deps clang
else
    ctgrad_ensure_deps
fi

cmake_args=(-S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE")
if [ -n "${CXX:-}" ]; then
    cmake_args+=("-DCMAKE_CXX_COMPILER=$CXX")
fi
# CI's extra configure arguments (.ci/run), one word each: CTGRAD_CMAKE_ARGS="-DA=1 -DB=2"
read -r -a extra_cmake_args <<< "${CTGRAD_CMAKE_ARGS:-}"
cmake_args+=("${extra_cmake_args[@]}")

echo "=== configure ($BUILD_DIR, CXX=${CXX:-default}) ==="
cmake "${cmake_args[@]}"

echo "=== build ==="
ninja -C "$BUILD_DIR" -j2

echo "=== test ==="
cd "$BUILD_DIR"
# CTGRAD_CTEST_ARGS: more ctest arguments from CI, one word each (e.g. "-LE compile_fail")
read -r -a extra_ctest_args <<< "${CTGRAD_CTEST_ARGS:-}"
ctest --output-on-failure -j2 "${extra_ctest_args[@]}"
