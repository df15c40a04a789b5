#!/usr/bin/env bash
# Compile time of an MLP training step (issue 15, point 6): compiles
# benchmarks/compile_scaling/mlp_step.cpp (forward + every parameter's gradient of an MLP
# 784-256-256-10 with batch norm, ReLU and softmax cross-entropy, one plan, run once) and, in
# turn with it, examples/batch_norm.cpp as the yardstick measured in the same run; prints the
# medians of wall and CPU seconds and peak compiler memory, and the ratio mlp / batch norm.
#
#   benchmarks/compile_mlp_step.sh                  # g++ -O2, 3 compilations of each
#   CXX=clang++-14 benchmarks/compile_mlp_step.sh --repeat 5
#
# Target: at most 20 s and 2 GiB with g++ -O2. On a loaded machine quote the CPU seconds (the
# compiler is single-threaded) and the ratio.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cxx="${CXX:-g++}"
repeat=3
[[ "${1:-}" == "--repeat" ]] && repeat="$2"
[[ -x /usr/bin/time ]] || { echo "compile_mlp_step.sh: /usr/bin/time is missing (Debian: apt-get install time)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
libs="$(pkg-config --libs fmt 2>/dev/null || echo -lfmt)"

one() {  # one compilation of $1: prints "wall cpu kib"
  /usr/bin/time -f '%e %U %S %M' -o "$work/t" "$cxx" -std=c++20 -O2 -I"$root/include" "$1" -o "$work/a.out" $libs \
    >"$work/log" 2>&1 || { cat "$work/log" >&2; echo "compile_mlp_step.sh: $1 failed to compile" >&2; exit 1; }
  awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$work/t"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: >"$work/mlp"; : >"$work/bn"
for ((r = 0; r < repeat; ++r)); do
  one "$here/compile_scaling/mlp_step.cpp" >>"$work/mlp"
  "$work/a.out" >/dev/null || { echo "compile_mlp_step.sh: the compiled MLP step failed" >&2; exit 1; }
  one "$root/examples/batch_norm.cpp" >>"$work/bn"
done
col() { cut -d' ' -f"$2" "$work/$1" | median; }
echo "Compiler: $("$cxx" --version | head -n 1); -std=c++20 -O2; median of $repeat; $(nproc) CPU(s), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| translation unit | wall s | CPU s | peak MiB |"
echo "|---|---:|---:|---:|"
row() { awk -v n="$1" -v w="$(col "$2" 1)" -v c="$(col "$2" 2)" -v k="$(col "$2" 3)" 'BEGIN {printf "| %s | %s | %s | %.0f |\n", n, w, c, k / 1024}'; }
row "MLP step (benchmarks/compile_scaling/mlp_step.cpp)" mlp
row "batch norm example (examples/batch_norm.cpp)" bn
echo
awk -v a="$(col mlp 2)" -v b="$(col bn 2)" 'BEGIN {printf "CPU seconds, MLP step / batch norm example: %.2f\n", a / b}'
