#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/README.md) with clang under ASan and UBSan into
# build-fuzz/ (only the libraries they link: no CLI, server binary or tests), writes their
# seed corpora, and runs each for FUZZ_SECONDS (20), starting from the corpus earlier runs
# grew, the seeds and the inputs of bugs found before (fuzz/regressions/<target>/). Prints
# executions per second and coverage per target; exits 1 if any target found a crash, a
# sanitizer report, a hang or a server error (its input is kept in build-fuzz/crashes/).
# Targets in FUZZ_REPLAY_ONLY only replay those inputs: fuzz_xgboost_json and fuzz_xgboost_ubj
# by default, since libxgboost crashes on model files whose trees point outside themselves,
# an open bug (fuzz/README.md) that would turn every CI run red; the nightly fuzzes them too.
#   scripts/fuzz.sh                              every target
#   FUZZ_SECONDS=600 scripts/fuzz.sh fuzz_http   some, longer
#   FUZZ_REPLAY_ONLY= scripts/fuzz.sh            fuzz every target
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-20}
replay_only=" ${FUZZ_REPLAY_ONLY-fuzz_xgboost_json fuzz_xgboost_ubj} "
start=$SECONDS
CXX=${FUZZ_CXX:-clang++-14} BUILD_DIR=$build CMAKE_ARGS=-DINFERD_FUZZ=ON nice "$root/scripts/build.sh"
built=$SECONDS
rm -rf "$build/seeds"
"$root/.venv/bin/python" "$root/fuzz/make_seeds.py" "$build/seeds"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(find "$build" -maxdepth 1 -name "fuzz_*" -type f -executable -printf "%f\n" | sort)
fi
mkdir -p "$build/crashes" "$build/logs"
failed=()
printf '%-22s %10s %8s %7s %7s %7s\n' target runs "exec/s" cov ft corpus
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t"
  extra=()
  [ -f "$root/fuzz/dict/$t.dict" ] && extra+=("-dict=$root/fuzz/dict/$t.dict")
  [ -d "$root/fuzz/regressions/$t" ] && extra+=("$root/fuzz/regressions/$t")
  limit=("-max_total_time=$seconds")
  [[ "$replay_only" == *" $t "* ]] && limit=("-runs=0")
  status=0
  # -timeout: an input running longer is a hang; -rss_limit_mb: memory past it is a bug.
  # New inputs go to the first folder, the corpus; the seeds and regressions stay as written.
  nice "$build/$t" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" \
    "$build/corpus/$t" "$build/seeds/$t" "${extra[@]}" >"$build/logs/$t.log" 2>&1 || status=$?
  log="$build/logs/$t.log"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  files=$(find "$build/corpus/$t" -type f | wc -l)
  printf '%-22s %10s %8s %7s %7s %7s\n' "$t" "${runs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" \
    "$files"
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    echo "--- $t failed (exit $status); the end of $log:" >&2
    tail -40 "$log" >&2
  fi
done
echo "fuzz: built in $((built - start)) s, ran ${#targets[@]} targets in $((SECONDS - built)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${failed[*]} failed; inputs in $build/crashes/" >&2
  exit 1
fi
