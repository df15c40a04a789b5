#!/usr/bin/env bash
# Ensure the Debian packages needed to build/test ctgrad are installed.
#
#   bash .ci/deps.sh            # base toolchain + libraries
#   bash .ci/deps.sh clang      # ... plus clang-14
#
# When sourced, it only defines `ctgrad_ensure_deps [clang]` (so a caller's
# positional parameters are never misinterpreted); call that function.
set -euo pipefail

ctgrad_ensure_deps() {
    # libcmark-gfm*-dev, katex: the HTML pages of docs/ (ctgrad::html); chromium: doc_html_in_browser
    local pkgs=(cmake ninja-build g++ libboost-dev libfmt-dev catch2 libcli11-dev libbenchmark-dev graphviz libopenblas-dev zlib1g-dev dataset-fashion-mnist
                libcmark-gfm-dev libcmark-gfm-extensions-dev katex chromium)
    local arg
    for arg in "$@"; do
        case "$arg" in
            # libclang-rt-14-dev: the sanitizer and libFuzzer runtimes (a recommendation of
            # clang-14, not installed with --no-install-recommends) for build-tsan and the fuzzer
            clang|--clang) pkgs+=(clang-14 libclang-rt-14-dev) ;;
            "") ;;
            *) echo "deps.sh: unknown argument '$arg' (expected: clang)" >&2; return 2 ;;
        esac
    done

    local missing=() p
    for p in "${pkgs[@]}"; do
        if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
            missing+=("$p")
        fi
    done

    if [ "${#missing[@]}" -eq 0 ]; then
        echo "deps.sh: all packages present: ${pkgs[*]}"
        return 0
    fi

    echo "deps.sh: installing missing packages: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo -n)
        else
            echo "deps.sh: not root and sudo is unavailable; cannot install ${missing[*]}" >&2
            return 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update </dev/null
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    ctgrad_ensure_deps "$@"
fi
