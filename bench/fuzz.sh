#!/usr/bin/env bash
# The fuzz targets for longer than the test suite gives them: each for FUZZ_MINUTES (default 10) on the sanitizer
# build, starting from the seed corpus plus whatever earlier runs found (build-asan/fuzz-corpus/). Prints, per target,
# the inputs tried, the coverage reached and whether anything crashed, leaked or hung; a finding's input is kept in
# build-asan/fuzz-artifacts/ and the script exits non-zero. Add an input that found a bug to fuzz/corpus/TARGET/ with
# its fix.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${FUZZ_MINUTES:-10}
targets=(transcript http_request multipart range config captions)
scripts/build make_episode > /dev/null
scripts/sanitize-build fuzz
failed=0
printf '%-14s %12s %10s %8s  %s\n' target runs exec/s cov result
for t in "${targets[@]}"; do
  log=build-asan/fuzz-$t.log
  if build-asan/fuzz_$t -max_total_time=$((minutes * 60)) -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix=build-asan/fuzz-artifacts/$t- \
    build-asan/fuzz-corpus/$t fuzz/corpus/$t > "$log" 2>&1; then
    result=clean
  else
    result="FOUND (see $log)"
    failed=1
  fi
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
  rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  printf '%-14s %12s %10s %8s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" "$result"
done
exit $failed
