#!/usr/bin/env bash
# Compile time of examples/train_mlp.cpp (issue 16, point 5): the training program, whose
# translation unit holds three training plans (forward + every parameter's gradient, without batch
# norm and with it in both running-estimate conventions), two inference plans and the SGD plans.
# Compiled with the flags of the CMake Release build (-O3 -DNDEBUG -g0 -std=c++20, CBLAS on) and,
# in turn with it, examples/batch_norm.cpp as the yardstick; prints the medians of wall and CPU
# seconds and peak compiler memory.
#
#   benchmarks/compile_train_mlp.sh                     # g++, 3 compilations of each
#   CXX=clang++-14 benchmarks/compile_train_mlp.sh --repeat 1
#
# On a loaded machine quote the CPU seconds (the compiler is single-threaded) and the ratio.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cxx="${CXX:-g++}"
repeat=3
[[ "${1:-}" == "--repeat" ]] && repeat="$2"
[[ -x /usr/bin/time ]] || { echo "compile_train_mlp.sh: /usr/bin/time is missing (Debian: apt-get install time)" >&2; exit 2; }
cblas_dir="${CBLAS_INCLUDE_DIR:-}"
if [[ -z "$cblas_dir" ]]; then
  for d in /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas /usr/include; do
    [[ -f "$d/cblas.h" ]] && { cblas_dir="$d"; break; }
  done
fi
[[ -n "$cblas_dir" ]] || { echo "compile_train_mlp.sh: cblas.h not found (Debian: libopenblas-dev); set CBLAS_INCLUDE_DIR" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
extra=()
[[ "$("$cxx" --version | head -n 1)" == *clang* ]] && extra+=(-fconstexpr-steps=33554432)

one() {  # one compilation of $1 (+ link $2): prints "wall cpu kib"
  /usr/bin/time -f '%e %U %S %M' -o "$work/t" "$cxx" -std=c++20 -O3 -DNDEBUG -g0 "${extra[@]}" -DCTGRAD_USE_CBLAS \
    -I"$root/include" -isystem "$cblas_dir" "$1" -o "$work/a.out" $2 >"$work/log" 2>&1 \
    || { cat "$work/log" >&2; echo "compile_train_mlp.sh: $1 failed to compile" >&2; exit 1; }
  awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$work/t"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: >"$work/train"; : >"$work/bn"
for ((r = 0; r < repeat; ++r)); do
  one "$root/examples/train_mlp.cpp" "-lopenblas -lz -lfmt" >>"$work/train"
  "$work/a.out" --help >/dev/null || { echo "compile_train_mlp.sh: the compiled train_mlp failed" >&2; exit 1; }
  one "$root/examples/batch_norm.cpp" "-lopenblas -lfmt" >>"$work/bn"
done
col() { cut -d' ' -f"$2" "$work/$1" | median; }
echo "Compiler: $("$cxx" --version | head -n 1); -std=c++20 -O3 -g0; median of $repeat; $(nproc) CPU(s), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| translation unit | wall s | CPU s | peak MiB |"
echo "|---|---:|---:|---:|"
row() { awk -v n="$1" -v w="$(col "$2" 1)" -v c="$(col "$2" 2)" -v k="$(col "$2" 3)" 'BEGIN {printf "| %s | %s | %s | %.0f |\n", n, w, c, k / 1024}'; }
row "training program (examples/train_mlp.cpp)" train
row "batch norm example (examples/batch_norm.cpp)" bn
echo
awk -v a="$(col train 2)" -v b="$(col bn 2)" 'BEGIN {printf "CPU seconds, train_mlp / batch norm example: %.2f\n", a / b}'
