#!/usr/bin/env bash
# The job queue under competition on SQLite (the reference) and on PostgreSQL, in the same go (bench/queue_bench.cc):
# 10,000 queued jobs, 8 workers each on its own connection, claims per second and claim latency p50/p99. Starts and
# stops its own throwaway PostgreSQL cluster (tests/support/postgres.sh). Arguments go to queue_bench.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build queue_bench > /dev/null
state="$(mktemp -d /tmp/podpromo-queue-bench-XXXXXX)"
trap 'tests/support/postgres.sh stop "$state"; rm -rf "$state"' EXIT
tests/support/postgres.sh start "$state" > /dev/null
PODPROMO_TEST_POSTGRES="$state" build/queue_bench "$@"
