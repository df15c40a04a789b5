#!/usr/bin/env bash
# Build and run the batch_norm example (build/examples/batch_norm).
# CTGRAD_DEMO_TARGET=<example> overrides the example to build/run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGET="${CTGRAD_DEMO_TARGET:-batch_norm}"

# shellcheck source=SCRIPTDIR/deps.sh
source "$ROOT/.ci/deps.sh"
ctgrad_ensure_deps

cmake_args=(-S "$ROOT" -B build -G Ninja -DCMAKE_BUILD_TYPE=Release)
if [ -n "${CXX:-}" ]; then
    cmake_args+=("-DCMAKE_CXX_COMPILER=$CXX")
fi
cmake "${cmake_args[@]}"
cmake --build build --target "$TARGET"
"./build/examples/$TARGET"
