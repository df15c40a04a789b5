#!/usr/bin/env bash
# Mutation check: does the test suite notice a bug? Applies each one-line mutation of
# mutations.tsv (sed on a scratch copy of the repository, never on this work tree), rebuilds,
# runs tests and prints a Markdown table of the tests that failed for each: every mutation must
# be caught by at least one. Not run by ctest or CI: it rebuilds once per mutation.
#
#   bash tests/mutation/run.sh                  # every mutation, the whole suite each time (slow)
#   bash tests/mutation/run.sh --quick          # each mutation against the tests listed for it
#   bash tests/mutation/run.sh --quick log_plus_one cli_absolute_error   # only these mutations
#
# Environment: CTGRAD_MUTATION_DIR (scratch directory, default /tmp/ctgrad-mutation),
# CTGRAD_MUTATION_JOBS (ninja -j, default 1), CXX (compiler). The scratch copy is made from the
# files git tracks in this repository's work tree (committed or not), so a merge or a branch can
# be checked by running the script of that checkout. Exit status: 0 when every mutation was
# caught, 1 otherwise, 2 when the unmutated suite fails or a mutation does not apply.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SCRATCH="${CTGRAD_MUTATION_DIR:-/tmp/ctgrad-mutation}"
JOBS="${CTGRAD_MUTATION_JOBS:-1}"
QUICK=0
ONLY=()
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) ONLY+=("$arg") ;;
  esac
done

SRC="$SCRATCH/src"
BUILD="$SCRATCH/build"
PRISTINE="$SCRATCH/pristine"
mkdir -p "$SCRATCH"
rm -rf "$SRC" "$PRISTINE"
mkdir -p "$SRC" "$PRISTINE"
# tracked files as they are in the work tree, stamped with the time of the copy (tar -m): a
# build tree kept from an earlier run may hold objects built from a mutated header, newer than
# the work tree's copy of that header, which ninja would otherwise take as up to date
(cd "$ROOT" && git ls-files -z | xargs -0 tar -cf -) | tar -xmf - -C "$SRC"
(cd "$ROOT" && git ls-files -z | xargs -0 tar -cf -) | tar -xf - -C "$PRISTINE"

cmake_args=(-S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release)
[ -n "${CXX:-}" ] && cmake_args+=("-DCMAKE_CXX_COMPILER=$CXX")
cmake "${cmake_args[@]}" >"$SCRATCH/configure.log" 2>&1 || { echo "configure failed: $SCRATCH/configure.log" >&2; exit 2; }

# The ctest name of every test, and the build target each needs (none for compile-fail and
# up-to-date tests, which build what they check themselves or read files).
all_tests() { (cd "$BUILD" && ctest -N | sed -n 's/^ *Test *#[0-9]*: //p'); }
target_of() {
  case "$1" in
    fail_*|package_consumer|readme_example_matches|doc_batch_norm_up_to_date|doc_pages_up_to_date) echo "" ;;
    example_*) echo "${1#example_}" ;;
    reference_audit_*) echo "reference_audit" ;;
    test_check_batch_norm_cli) echo "test_check_batch_norm_cli ctgrad-batch-norm-check" ;;
    train_mlp_subset) echo "train_mlp" ;;
    *) echo "$1" ;;
  esac
}

# Builds the targets of the tests in "$@" (a target that fails to build is reported as caught
# by its test, "(build)": a static_assert of the suite fired), runs the others; prints the names
# of the tests that did not pass.
run_tests() {
  local failed=() runnable=() t tg ok
  for t in "$@"; do
    ok=1
    for tg in $(target_of "$t"); do
      nice -n 19 ninja -C "$BUILD" -j"$JOBS" "$tg" >>"$SCRATCH/build.log" 2>&1 || ok=0
    done
    if [ "$ok" = 1 ]; then runnable+=("$t"); else failed+=("$t (build)"); fi
  done
  if [ ${#runnable[@]} -gt 0 ]; then
    local regex
    regex="^($(IFS='|'; echo "${runnable[*]}"))\$"
    (cd "$BUILD" && nice -n 19 ctest -R "$regex" --timeout 600 >"$SCRATCH/ctest.log" 2>&1) || true
    for t in "${runnable[@]}"; do
      grep -Eq "Test +#[0-9]+: $t \.+ *Passed" "$SCRATCH/ctest.log" || failed+=("$t")
    done
  fi
  printf '%s\n' "${failed[@]+"${failed[@]}"}"
}

mapfile -t EVERY < <(all_tests)
declare -a IDS FILES SCRIPTS TESTS DESCS
while IFS=$'\t' read -r id file script tests desc; do
  [[ -z "$id" || "$id" == \#* ]] && continue
  if [ ${#ONLY[@]} -gt 0 ] && [[ ! " ${ONLY[*]} " == *" $id "* ]]; then continue; fi
  IDS+=("$id"); FILES+=("$file"); SCRIPTS+=("$script"); TESTS+=("$tests"); DESCS+=("$desc")
done <"$HERE/mutations.tsv"

# The unmutated suite must pass, or a failure would be counted as a catch.
baseline=()
if [ "$QUICK" = 1 ]; then
  for k in "${!IDS[@]}"; do for t in ${TESTS[$k]}; do [[ " ${baseline[*]-} " == *" $t "* ]] || baseline+=("$t"); done; done
else
  baseline=("${EVERY[@]}")
fi
echo "baseline: ${#baseline[@]} tests, unmutated" >&2
mapfile -t base_failed < <(run_tests "${baseline[@]}" | sed '/^$/d')
if [ ${#base_failed[@]} -gt 0 ]; then
  echo "the unmutated suite fails: ${base_failed[*]} (see $SCRATCH/ctest.log, build.log)" >&2
  exit 2
fi

status=0
echo "| Mutation | File | What it does | Caught by |"
echo "|---|---|---|---|"
for k in "${!IDS[@]}"; do
  f="${FILES[$k]}"
  sed -i "${SCRIPTS[$k]}" "$SRC/$f"
  if cmp -s "$SRC/$f" "$PRISTINE/$f"; then
    echo "mutation ${IDS[$k]} does not apply to $f" >&2
    exit 2
  fi
  if [ "$QUICK" = 1 ]; then read -r -a tests <<<"${TESTS[$k]}"; else tests=("${EVERY[@]}"); fi
  echo "mutation ${IDS[$k]}: ${#tests[@]} tests" >&2
  mapfile -t caught < <(run_tests "${tests[@]}" | sed '/^$/d')
  cp -p "$PRISTINE/$f" "$SRC/$f"
  touch "$SRC/$f"
  if [ ${#caught[@]} -eq 0 ]; then
    status=1
    who="**NOT CAUGHT**"
  else
    who="$(printf '%s, ' "${caught[@]}")"
    who="${who%, }"
  fi
  echo "| \`${IDS[$k]}\` | $f | ${DESCS[$k]} | $who |"
done
exit $status
