#!/usr/bin/env bash
# The layering test: builds each probe of CMakeLists.txt's LAYERING_PROBES (a one-line source that includes one
# header, compiled as if it lived in one area). A probe of a forbidden edge must fail because the header is not
# found; a probe of an allowed edge must compile, which shows the failures come from the layering and not from a
# broken probe.
# It also checks that only the store speaks SQL through SOCI: no `soci::` or <soci/...> outside src/store/ and
# include/podpromo/store/.
# Usage: check.sh BUILD_DIR SOURCE_DIR forbidden:TARGET:HEADER... allowed:TARGET:HEADER...
set -uo pipefail
build=$1
source=$2
shift 2
failed=0
leaks=$(grep -rlE 'soci::|<soci/' "$source/src" "$source/include" --include='*.cc' --include='*.h' |
  grep -vE "^$source/(src|include/podpromo)/store/")
if [ -n "$leaks" ]; then
  echo "FAIL: SOCI used outside the store (the repositories take a Tx):"
  echo "$leaks"
  failed=1
else
  echo "ok: SOCI appears only in the store"
fi
for probe in "$@"; do
  IFS=: read -r kind target header <<< "$probe"
  out=$(cmake --build "$build" --target "$target" 2>&1)
  status=$?
  if [ "$kind" = allowed ]; then
    if [ $status -ne 0 ]; then
      echo "FAIL: $target should compile (it includes $header along an allowed arrow):"
      echo "$out" | grep -E "error" | head -5
      failed=1
    else
      echo "ok: $target compiles"
    fi
  elif [ $status -eq 0 ]; then
    echo "FAIL: $target compiled, but its area may not include $header"
    failed=1
  elif ! grep -qE "$header(: No such file|' file not found)" <<< "$out"; then
    echo "FAIL: $target failed for another reason than the missing header $header:"
    echo "$out" | grep -E "error" | head -5
    failed=1
  else
    echo "ok: $target fails: $header is not on its include path"
  fi
done
exit $failed
