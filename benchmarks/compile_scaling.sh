#!/usr/bin/env bash
# Compile-time scaling of ctgrad (issue 6, point 6): compiles benchmarks/compile_scaling/network.cpp,
# a network of L stacked (batch norm -> tanh) blocks with its full gradient (vjp w.r.t. x and
# every block's gamma and beta) evaluated with ctgrad::evaluate, for L = 1, 2, 4, 8, 16, and
# prints a Markdown table of compile seconds and peak compiler memory, and time(16)/time(1).
#
#   benchmarks/compile_scaling.sh                 # g++ -O2, L = 1 2 4 8 16, derive+evaluate
#   benchmarks/compile_scaling.sh --stages        # also "derive only" (no evaluate) columns
#   benchmarks/compile_scaling.sh --print         # also "+ print" columns: the gradients printed
#                                                 # as a let program (stage 3), and the seconds added
#   CXX=clang++-14 benchmarks/compile_scaling.sh  # another compiler
#   benchmarks/compile_scaling.sh --blocks "1 2 4" --repeat 3 --flags "-O2"
#   benchmarks/compile_scaling.sh --check         # compile L = 2 only (a quick build check)
#
# Each figure is the median of --repeat compilations (default 1): wall-clock seconds and peak
# resident memory of the compiler, from /usr/bin/time (Debian package `time`). Compilations
# run one at a time; on a loaded machine, repeat and compare medians. Not part of ctest's run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
src="$here/compile_scaling/network.cpp"

cxx="${CXX:-g++}"
flags="-O2"
blocks="1 2 4 8 16"
repeat=1
stages=0
print=0
check=0
timeout_s=1800
include="$root/include"

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --blocks) blocks="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --flags) flags="$2"; shift 2 ;;
    --stages) stages=1; shift ;;
    --print) print=1; shift ;;
    --check) check=1; shift ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --include) include="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compile_scaling.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

if [[ ! -x /usr/bin/time ]]; then
  echo "compile_scaling.sh: /usr/bin/time is missing (Debian: apt-get install time)" >&2
  exit 2
fi

# Include paths and libraries of Boost and fmt as pkg-config or the default paths give them.
extra_cflags="$(pkg-config --cflags fmt 2>/dev/null || true)"
extra_libs="$(pkg-config --libs fmt 2>/dev/null || echo -lfmt)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# compile L STAGE -> prints "seconds kib" (or "fail"/"timeout")
compile() {
  local L="$1" stage="$2" out="$work/net_${1}_${2}"
  local rc=0
  # shellcheck disable=SC2086
  timeout "$timeout_s" /usr/bin/time -f '%e %M' -o "$work/time" \
    "$cxx" -std=c++20 $flags -I"$include" $extra_cflags -DCTGRAD_BLOCKS="$L" -DCTGRAD_STAGE="$stage" \
    "$src" -o "$out" $extra_libs >"$work/log" 2>&1 || rc=$?
  if [[ $rc -eq 124 ]]; then echo "timeout"; return; fi
  if [[ $rc -ne 0 ]]; then
    echo "compile_scaling.sh: L=$L stage=$stage failed to compile:" >&2
    grep -m 20 -E 'error|Error' "$work/log" >&2 || tail -n 20 "$work/log" >&2
    echo "fail"
    return
  fi
  if [[ "$stage" -ge 2 ]] && ! "$out" >/dev/null; then
    echo "compile_scaling.sh: L=$L: the compiled program failed" >&2
    echo "fail"
    return
  fi
  tail -n 1 "$work/time"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# measure L STAGE -> "seconds mib" medians over $repeat runs, or the failure word
measure() {
  local secs=() mems=() r res
  for ((r = 0; r < repeat; ++r)); do
    res="$(compile "$1" "$2")"
    if [[ "$res" == fail || "$res" == timeout ]]; then echo "$res"; return; fi
    secs+=("${res% *}")
    mems+=("${res#* }")
  done
  local s m
  s="$(printf '%s\n' "${secs[@]}" | median)"
  m="$(printf '%s\n' "${mems[@]}" | median)"
  awk -v s="$s" -v m="$m" 'BEGIN {printf "%.2f %.0f\n", s, m / 1024}'
}

if [[ $check -eq 1 ]]; then
  res="$(compile 2 2)"
  if [[ "$res" == fail || "$res" == timeout ]]; then exit 1; fi
  echo "compile_scaling.sh --check: L = 2 compiled and ran (${res% *} s, $(( ${res#* } / 1024 )) MiB)"
  exit 0
fi

version="$("$cxx" --version | head -n 1)"
echo "Compiler: $version; flags: -std=c++20 $flags; median of $repeat run(s); $(nproc) CPU(s), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
if [[ $stages -eq 1 ]]; then
  echo "| L | derive only: s | derive only: peak MiB | derive + evaluate: s | derive + evaluate: peak MiB |"
  echo "|---:|---:|---:|---:|---:|"
elif [[ $print -eq 1 ]]; then
  echo "| L | compile s | peak MiB | + print: s | + print: peak MiB | print adds: s |"
  echo "|---:|---:|---:|---:|---:|---:|"
else
  echo "| L | compile s | peak MiB |"
  echo "|---:|---:|---:|"
fi

first=""
last=""
for L in $blocks; do
  full="$(measure "$L" 2)"
  if [[ $stages -eq 1 ]]; then
    derive="$(measure "$L" 1)"
    echo "| $L | ${derive% *} | ${derive#* } | ${full% *} | ${full#* } |"
  elif [[ $print -eq 1 ]]; then
    printed="$(measure "$L" 3)"
    added="$(awk -v a="${full% *}" -v b="${printed% *}" 'BEGIN {printf "%.2f", b - a}')"
    echo "| $L | ${full% *} | ${full#* } | ${printed% *} | ${printed#* } | $added |"
  else
    echo "| $L | ${full% *} | ${full#* } |"
  fi
  if [[ "$full" != fail && "$full" != timeout ]]; then
    [[ -z "$first" ]] && first="$L ${full% *}"
    last="$L ${full% *}"
  fi
done

if [[ -n "$first" && -n "$last" ]]; then
  echo
  awk -v a="$first" -v b="$last" 'BEGIN {
    split(a, x, " "); split(b, y, " ");
    printf "time(%d)/time(%d) = %.2f (target: at most %d, linear growth)\n", y[1], x[1], y[2] / x[2], y[1] / x[1] }'
fi
